"""Learning record routes: progress reports from the player, favourites, notes; the school admin's consent page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import panels
from ..accounts import consent as consents
from ..accounts.login import current_person as _viewer
from ..accounts.models import User
from ..accounts.scope import require_school
from ..errors import LearnSpaceError, NotFound, PermissionDenied
from ..extensions import db
from ..lessons.models import Lesson
from ..lessons.permissions import visible_lesson
from ..orgs import operations as orgs
from . import operations
from .forms import ActionForm, ConsentForm, NoteForm
from .models import LessonNote

bp = Blueprint("study", __name__)

CONSENT_PER_PAGE = 50


def _lesson(lesson_id: int) -> Lesson:
    return visible_lesson(_viewer(), lesson_id)


def _back(lesson_id: int, anchor: str = "learning"):
    return redirect(url_for("lessons.show", lesson_id=lesson_id, _anchor=anchor))


# --- the player -------------------------------------------------------------------------------

@bp.post("/api/lessons/<int:lesson_id>/progress")
def progress(lesson_id: int):
    """The player reports its position (JSON with X-CSRFToken, or a form from sendBeacon)."""
    if not current_user.is_authenticated:
        raise PermissionDenied("请先登录，观看进度才能保存")
    lesson = _lesson(lesson_id)
    data = request.get_json(silent=True) if request.is_json else request.form
    data = data or {}
    saved = operations.record_progress(current_user.user, lesson, data.get("position"), data.get("duration"),
                                       data.get("played"))
    db.session.commit()
    return {"position": saved.position_seconds, "finished": saved.is_finished}


def lesson_panel(viewer, lesson: Lesson, is_owner: bool) -> str | None:
    """The viewer's resume point, favourite and notes on a published lesson's page (slot "lesson.after_player")."""
    if viewer is None or is_owner or lesson.status != "published":
        return None
    return render_template("study/_lesson_panel.html", lesson=lesson, lp=operations.lesson_panel(viewer, lesson))


def student_space_panel(viewer, owner: User, **_page) -> str | None:
    """The learning record on a student's space page (slot "space.main")."""
    if owner.role != "student":
        return None
    return render_template("study/_student_space.html", student=operations.student_space_context(owner, viewer))


def register_panels(app) -> None:
    """Offer the study panels to the lesson page and the space page."""
    panels.register(app, "lesson.after_player", lesson_panel)
    panels.register(app, "space.main", student_space_panel)


# --- favourites and notes ---------------------------------------------------------------------

@bp.post("/lessons/<int:lesson_id>/favourite")
@login_required
def favourite(lesson_id: int):
    if not ActionForm().validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    lesson = _lesson(lesson_id)
    if request.form.get("action") == "remove":
        operations.remove_favourite(current_user.user, lesson)
        message = "已取消收藏。"
    else:
        operations.add_favourite(current_user.user, lesson)
        message = "已收藏，可以在“我的空间”里找到这节课。"
    db.session.commit()
    flash(message, "success")
    return _back(lesson_id)


@bp.post("/lessons/<int:lesson_id>/notes")
@login_required
def add_note(lesson_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    lesson = _lesson(lesson_id)
    try:
        operations.add_note(current_user.user, lesson, form.body.data, form.visibility.data, form.position.data)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(lesson_id, "notes")
    db.session.commit()
    flash("笔记已保存" + ("（仅自己可见）。" if form.visibility.data != "space" else "，会在您的空间里展示。"), "success")
    return _back(lesson_id, "notes")


def _own_note(note_id: int) -> LessonNote:
    note = db.session.get(LessonNote, note_id)
    if note is None or note.user_id != current_user.id:
        raise NotFound("笔记不存在")
    return note


@bp.post("/notes/<int:note_id>/update")
@login_required
def update_note(note_id: int):
    form = NoteForm()
    if not form.validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    note = _own_note(note_id)
    lesson_id = note.lesson_id
    try:
        operations.update_note(current_user.user, note, form.body.data or note.body, form.visibility.data)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back(lesson_id, "notes")
    db.session.commit()
    flash("笔记已更新。", "success")
    return _back(lesson_id, "notes")


@bp.post("/notes/<int:note_id>/delete")
@login_required
def delete_note(note_id: int):
    if not ActionForm().validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    note = _own_note(note_id)
    lesson_id = note.lesson_id
    operations.delete_note(current_user.user, note)
    db.session.commit()
    flash("笔记已删除。", "success")
    return _back(lesson_id, "notes")


# --- guardian consent (school admins) -------------------------------------------------------------

def _school_for_admin(code: str):
    if not current_user.is_authenticated:
        raise PermissionDenied("请先登录")
    school = orgs.get_school_by_code(code)
    require_school(current_user.user, school)
    return school


def _student_of(school, user_id: int) -> User:
    student = db.session.get(User, user_id)
    if student is None or student.school_id != school.id or student.role != "student":
        raise NotFound("本校没有这名学生")
    return student


@bp.get("/admin/schools/<code>/consent")
@login_required
def consent_page(code: str):
    school = _school_for_admin(code)
    grade = request.args.get("grade", "").strip()[:16]
    class_name = request.args.get("class_name", "").strip()[:32]
    if "|" in request.args.get("class", ""):  # the filter's one select carries "grade|class"
        grade, class_name = (part.strip() for part in request.args["class"].split("|", 1))
        grade, class_name = grade[:16], class_name[:32]
    show = request.args.get("show", "restricted")
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(User).where(User.school_id == school.id, User.role == "student")
    if grade:
        query = query.where(User.grade == grade)
    if class_name:
        query = query.where(User.class_name == class_name)
    students = list(db.session.scalars(query.order_by(User.grade, User.class_name, User.real_name, User.id)))
    states = consents.consent_states(students)
    counts = {"all": len(states), "restricted": sum(s.restricted for s in states),
              "consented": sum(s.consent is not None for s in states),
              "over14": sum(s.age_band == "over14" for s in states)}
    if show == "restricted":
        states = [s for s in states if s.restricted]
    elif show == "consented":
        states = [s for s in states if s.consent is not None]
    total = len(states)
    states = states[(page - 1) * CONSENT_PER_PAGE: page * CONSENT_PER_PAGE]
    classes = db.session.execute(select(User.grade, User.class_name).distinct()
                                 .where(User.school_id == school.id, User.role == "student")
                                 .order_by(User.grade, User.class_name)).all()
    return render_template("study/consent.html", school=school, states=states, counts=counts, total=total,
                           page=page, per_page=CONSENT_PER_PAGE, grade=grade, class_name=class_name, show=show,
                           classes=classes, form=ConsentForm(), action_form=ActionForm(),
                           notice_version=consents.NOTICE_VERSION, consent_age=consents.CONSENT_AGE,
                           today=consents.today())


def _back_to_consent(code: str):
    args = {k: v for k in ("grade", "class_name", "show", "page") if (v := request.form.get(k))}
    return redirect(url_for(".consent_page", code=code, **args))


@bp.post("/admin/schools/<code>/consent/<int:user_id>")
@login_required
def record_consent(code: str, user_id: int):
    school = _school_for_admin(code)
    form = ConsentForm()
    if not form.validate_on_submit():
        flash("请填写有效的签署日期（年-月-日）。", "error")
        return _back_to_consent(code)
    student = _student_of(school, user_id)
    try:
        consents.record_consent(student, current_user.user, form.guardian_name.data, form.relation.data,
                                form.given_on.data)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back_to_consent(code)
    db.session.commit()
    flash(f"已登记{student.real_name}的监护人同意，空间已解除受限模式。", "success")
    return _back_to_consent(code)


@bp.post("/admin/schools/<code>/consent/<int:user_id>/withdraw")
@login_required
def withdraw_consent(code: str, user_id: int):
    school = _school_for_admin(code)
    if not ActionForm().validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    student = _student_of(school, user_id)
    try:
        consents.withdraw_consent(student, current_user.user)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back_to_consent(code)
    db.session.commit()
    flash(f"已撤回{student.real_name}的监护人同意，空间回到受限模式。", "success")
    return _back_to_consent(code)
