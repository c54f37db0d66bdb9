"""Learning record routes: progress reports from the player, favourites, notes; the study panels of other pages."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import panels
from ..accounts.login import current_person as _viewer
from ..accounts.models import User
from ..errors import LearnSpaceError, NotFound, PermissionDenied
from ..extensions import db
from ..lessons.models import Lesson
from ..lessons.permissions import visible_lesson
from . import operations
from .forms import ActionForm, NoteForm
from .models import LessonNote

bp = Blueprint("study", __name__)

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
