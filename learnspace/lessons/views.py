"""Lesson pages: list, create, show (with the four parts and their upload widgets), edit, publish, delete."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import panels
from ..accounts.login import current_person as _viewer
from ..audit import operations as audit
from ..catalog import operations as catalog
from ..catalog.models import LEVEL_NAMES, CatalogNode
from ..errors import LearnSpaceError, NotFound, PermissionDenied
from ..extensions import db
from ..search.panel import FACET_SHOWN, LIST_FIELDS, build_facets, page_url
from ..search.query import clean_filters
from . import operations, view_counts
from .forms import ActionForm, LessonForm
from .models import LANGUAGES, PART_KINDS, REQUIRED_PARTS, STATUSES, VISIBILITIES, Lesson
from .operations import LessonInvalid
from .owner_space import owner_space
from .permissions import can_edit, can_view, visible_lesson
from .uploads import job_json, size_limit

bp = Blueprint("lessons", __name__)

PER_PAGE = 20
#: how many of a teacher's lessons a visitor sees in the space before "all lessons"
SPACE_LIMIT = 12
#: what the file picker offers per part; the server still decides by the bytes
ACCEPT = {
    "recording": "video/mp4,video/webm,.mp4,.webm",
    "subtitles": "text/vtt,.vtt",
}
DOCUMENT_ACCEPT = ".pdf,.docx,.pptx,.xlsx,application/pdf"
FORMATS = {
    "recording": "MP4（H.264 视频 + AAC 音频）或 WebM",
    "subtitles": "WebVTT 字幕（.vtt）",
}
DOCUMENT_FORMATS = "PDF、Word（.docx）、PowerPoint（.pptx）或 Excel（.xlsx）"


def _visible_lesson(lesson_id: int) -> Lesson:
    return visible_lesson(_viewer(), lesson_id)


def _own_lesson(lesson_id: int, action: str) -> Lesson:
    lesson = _visible_lesson(lesson_id)
    if not can_edit(_viewer(), lesson):
        audit.record_denied(action, target=f"lesson:{lesson.id}")  # kept although the request rolls back
        raise PermissionDenied("只有上传这节课的教师可以修改它")
    return lesson


def _require_teacher():
    if current_user.role != "teacher":
        raise PermissionDenied("只有教师可以创建课程")


# --- catalogue picker -------------------------------------------------------------

def _chosen_node_id() -> str | None:
    """The deepest catalogue node picked in the cascading selects (all are named "node")."""
    picked = [v for v in request.form.getlist("node") if v.strip()]
    return picked[-1] if picked else None


def _node_or_none(node_id) -> CatalogNode | None:
    try:
        return db.session.get(CatalogNode, int(node_id)) if node_id else None
    except (TypeError, ValueError):
        return None


def _picker(chosen: CatalogNode | None, preferred: set[int]) -> list[dict]:
    """The selects to show for *chosen*: the stages, then the children of every node on its path."""
    chain = catalog.ancestors(chosen) + [chosen] if chosen is not None else []
    selects, parent = [], None
    for depth in range(len(chain) + 1):
        options = list(catalog.children(parent.id if parent else None))
        if not options:
            break
        if options[0].level == "edition" and preferred:
            options.sort(key=lambda n: n.id not in preferred)  # stable: the school's editions first
        selected = chain[depth].id if depth < len(chain) else None
        selects.append({"level": options[0].level, "label": LEVEL_NAMES.get(options[0].level, "目录"),
                        "options": options, "selected": selected, "preferred": preferred})
        if depth >= len(chain):
            break
        parent = chain[depth]
    return selects


def _render_form(form, template, *, chosen, node_error=None, status=200, **context):
    preferred = operations.preferred_edition_ids(current_user.school_id)
    return render_template(template, form=form, picker=_picker(chosen, set(preferred)), node_error=node_error,
                           level_names=LEVEL_NAMES, preferred=preferred, **context), status


def _apply_errors(form, exc: LessonInvalid) -> str | None:
    """Put the operation's messages under the fields they belong to; return the catalogue one."""
    for name, message in exc.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = list(field.errors) + [message]
    return exc.errors.get("catalog_node")


def _fields(form) -> dict:
    return dict(title=form.title.data, description=form.description.data, lesson_type=form.lesson_type.data,
                language=form.language.data, visibility=form.visibility.data)


# --- pages -------------------------------------------------------------------------------

def list_filters(args) -> dict[str, str]:
    """The 课程 list's filters from the query string: the search page's parameter names, cleaned the same way."""
    return clean_filters({name: args.get(name) for name in LIST_FIELDS})


@bp.get("/lessons")
def index():
    # Answered in SQL, not from the search index: the list also shows the viewer's own drafts and withdrawn
    # lessons and whether the four parts are there, which the index (published lessons only) does not hold;
    # visible_clause stays the one rule for who sees what. The parameters are the search page's.
    viewer = _viewer()
    page = max(request.args.get("page", 1, type=int), 1)
    teacher_id = request.args.get("teacher", type=int)
    filters = list_filters(request.args)
    total = operations.count_lessons_visible_to(viewer, teacher_id=teacher_id, filters=filters)
    lessons = operations.lessons_visible_to(viewer, PER_PAGE, (page - 1) * PER_PAGE, teacher_id=teacher_id,
                                            filters=filters)
    teacher = lessons[0].teacher if teacher_id and lessons else None
    params = {"teacher": teacher_id, **filters}

    def link(**changes):
        return page_url("lessons.index", params, **changes)

    counts = (operations.facet_counts(viewer, filters, teacher_id=teacher_id)
              if total <= operations.FACET_COUNT_LIMIT else operations.facet_values(filters))
    facets = build_facets(counts, filters, total, link, LIST_FIELDS)
    return render_template("lessons/index.html", lessons=lessons, total=total, page=page, per_page=PER_PAGE,
                           teacher_id=teacher_id, teacher=teacher, statuses=STATUSES, visibilities=VISIBILITIES,
                           can_create=viewer is not None and viewer.role == "teacher", filters=filters,
                           facets=facets, link=link, clear_url=page_url("lessons.index", {"teacher": teacher_id}),
                           facet_shown=FACET_SHOWN)


@bp.route("/lessons/new", methods=["GET", "POST"])
@login_required
def new():
    _require_teacher()
    # The teacher's chosen default (spaces profile) is preselected; a posted form keeps what was sent.
    form = LessonForm() if request.method == "POST" else LessonForm(visibility=owner_space().default_visibility(current_user.user))
    chosen = _node_or_none(_chosen_node_id() if request.method == "POST" else request.args.get("node"))
    if request.method == "POST" and request.form.get("pick"):
        return _render_form(form, "lessons/form.html", chosen=chosen, lesson=None)  # no-JS: next level
    if form.validate_on_submit():
        try:
            lesson = operations.create_lesson(current_user.user, catalog_node=_chosen_node_id(), **_fields(form))
        except LessonInvalid as exc:
            db.session.rollback()
            return _render_form(form, "lessons/form.html", chosen=chosen, node_error=_apply_errors(form, exc),
                                status=400, lesson=None)
        db.session.commit()
        flash("课程已创建（草稿）。请上传课堂实录和其他材料，完成后发布。", "success")
        return redirect(url_for(".show", lesson_id=lesson.id))
    status = 400 if request.method == "POST" else 200
    node_error = operations.node_problem(chosen) if request.method == "POST" else None
    return _render_form(form, "lessons/form.html", chosen=chosen, node_error=node_error, status=status,
                        lesson=None)


@bp.get("/lessons/<int:lesson_id>")
def show(lesson_id: int):
    viewer = _viewer()
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not can_view(viewer, lesson):
        if viewer is None:  # the link may be fine once signed in; say so without confirming it exists
            return render_template("lessons/hidden.html", next_url=request.full_path.rstrip("?")), 404
        raise NotFound("课程不存在，或您没有查看权限。")
    is_owner = can_edit(viewer, lesson)
    parts = []
    for kind in (*REQUIRED_PARTS, "subtitles"):
        unfinished = [f for f in lesson.files if f.kind == kind and f.status == "uploading"] if is_owner else []
        failed = [f for f in lesson.files if f.kind == kind and f.status == "failed"] if is_owner else []
        processing = [f for f in lesson.files if f.kind == kind and f.status in ("verifying", "processing")
                      ] if is_owner else []
        parts.append({
            "kind": kind, "name": PART_KINDS[kind], "required": kind in REQUIRED_PARTS,
            "file": lesson.ready_file(kind), "unfinished": unfinished[-1:], "failed": failed[-1:],
            "processing": [(f, job_json(f)) for f in processing[-1:]],
            "accept": ACCEPT.get(kind, DOCUMENT_ACCEPT), "formats": FORMATS.get(kind, DOCUMENT_FORMATS),
            "max_bytes": size_limit(kind),
        })
    response = make_response(render_template(
        "lessons/show.html", lesson=lesson, parts=parts, is_owner=is_owner, path=_path(lesson),
        statuses=STATUSES, visibilities=VISIBILITIES, languages=LANGUAGES, action_form=ActionForm(),
        publish_problems=operations.publish_problems(lesson) if lesson.status != "published" else [],
        panels={slot: panels.render(f"lesson.{slot}", viewer=viewer, lesson=lesson, is_owner=is_owner)
                for slot in ("after_player", "after_parts")}))
    # After rendering: the view's commit expires every loaded object, which the page would otherwise load again.
    visitor_id = None
    if lesson.status == "published" and not is_owner:
        visitor_id = _record_view(lesson, viewer)
    if visitor_id is not None:  # a new anonymous visitor: a random id, so their reloads count once a day
        response.set_cookie(view_counts.VISITOR_COOKIE, visitor_id, max_age=view_counts.VISITOR_COOKIE_SECONDS,
                            httponly=True, samesite="Lax", secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _record_view(lesson: Lesson, viewer) -> str | None:
    """Record the view (once per viewer and China day); return a new visitor id to set as a cookie, if any."""
    # Without cookies a visitor gets a new id on every page, so each of their views counts (as before).
    cookie = request.cookies.get(view_counts.VISITOR_COOKIE)
    key = view_counts.viewer_key(viewer.id if viewer is not None else None, cookie)
    new_id = None
    if key is None:
        new_id = view_counts.new_visitor_id()
        key = view_counts.viewer_key(None, new_id)
    view_counts.record_view(lesson.id, key, viewer.id if viewer is not None else None)
    db.session.commit()
    return new_id


def _path(lesson: Lesson) -> list[CatalogNode]:
    return catalog.ancestors(lesson.catalog_node) + [lesson.catalog_node]


@bp.route("/lessons/<int:lesson_id>/edit", methods=["GET", "POST"])
@login_required
def edit(lesson_id: int):
    lesson = _own_lesson(lesson_id, "lesson.update")
    form = LessonForm(obj=lesson)
    chosen = _node_or_none(_chosen_node_id()) if request.method == "POST" else lesson.catalog_node
    if request.method == "POST" and request.form.get("pick"):
        return _render_form(form, "lessons/form.html", chosen=chosen, lesson=lesson)
    if form.validate_on_submit():
        try:
            operations.update_lesson(lesson, catalog_node=_chosen_node_id(), **_fields(form))
        except LessonInvalid as exc:
            db.session.rollback()
            return _render_form(form, "lessons/form.html", chosen=chosen, node_error=_apply_errors(form, exc),
                                status=400, lesson=lesson)
        db.session.commit()
        flash("课程信息已保存。", "success")
        return redirect(url_for(".show", lesson_id=lesson.id))
    if request.method == "POST":
        return _render_form(form, "lessons/form.html", chosen=chosen, lesson=lesson, status=400,
                            node_error=operations.node_problem(chosen))
    return _render_form(form, "lessons/form.html", chosen=chosen, lesson=lesson)


@bp.post("/lessons/<int:lesson_id>/publish")
@login_required
def publish(lesson_id: int):
    lesson = _own_lesson(lesson_id, "lesson.publish")
    try:
        operations.publish(lesson)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".show", lesson_id=lesson_id))
    db.session.commit()
    flash("课程已发布。" + ("" if lesson.is_complete else "还缺少：" + "、".join(
        PART_KINDS[k] for k in lesson.missing_parts) + "，补齐四项后才能参加晒课。"), "success")
    return redirect(url_for(".show", lesson_id=lesson.id))


@bp.post("/lessons/<int:lesson_id>/withdraw")
@login_required
def withdraw(lesson_id: int):
    lesson = _own_lesson(lesson_id, "lesson.withdraw")
    try:
        operations.withdraw(lesson)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".show", lesson_id=lesson_id))
    db.session.commit()
    flash("课程已撤回，现在只有您和管理员可以看到它。", "success")
    return redirect(url_for(".show", lesson_id=lesson.id))


@bp.post("/lessons/<int:lesson_id>/delete")
@login_required
def delete(lesson_id: int):
    lesson = _own_lesson(lesson_id, "lesson.delete")
    title = lesson.title
    operations.delete_lesson(lesson)
    db.session.commit()
    flash(f"课程“{title}”及其所有文件已删除。", "success")
    return redirect(url_for("spaces.mine"))


# --- helpers for templates (the space page lists a teacher's lessons) ------------------

@bp.app_template_global()
def lessons_in_space(owner) -> dict:
    """Lessons to show in *owner*'s space: all of them to the owner, the visible ones to others."""
    viewer = _viewer()
    if viewer is not None and viewer.id == owner.id:
        lessons = operations.lessons_of_teacher(owner)
        return {"lessons": lessons, "total": len(lessons), "is_owner": True, "statuses": STATUSES}
    return {"lessons": operations.lessons_visible_to(viewer, SPACE_LIMIT, teacher_id=owner.id),
            "total": operations.count_lessons_visible_to(viewer, teacher_id=owner.id), "is_owner": False,
            "statuses": STATUSES}


@bp.app_template_filter("filesize")
def filesize(value: int | None) -> str:
    """Format a byte count for people: 1.5 GB, 820 MB, 12 KB."""
    if value is None:
        return ""
    for unit, size in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if value >= size:
            return f"{value / size:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{value} 字节"


@bp.app_template_filter("duration")
def duration(seconds: float | None) -> str:
    """Format a duration as 1:02:03 or 42:05."""
    if seconds is None:
        return ""
    total = int(round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
