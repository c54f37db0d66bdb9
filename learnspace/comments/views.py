"""Comment routes: post, reply, like, hide, report under lessons; the report page for school admins."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import panels
from ..accounts.login import current_person as _viewer
from ..accounts.scope import require_admin
from ..errors import ValidationError
from ..extensions import db
from ..lessons.models import Lesson
from ..lessons.permissions import visible_lesson
from ..moderation.operations import BlockedText
from . import operations
from .forms import CommentForm, DecisionForm, EmptyForm, ReplyForm, ReportForm
from .models import DECISIONS, HIDDEN_BY, KINDS, REPORT_REASONS

bp = Blueprint("comments", __name__)

PER_PAGE = 20


def _lesson(lesson_id: int) -> Lesson:
    return visible_lesson(_viewer(), lesson_id)


def _back(comment) -> str:
    return url_for("lessons.show", lesson_id=comment.lesson_id, _anchor=f"comment-{comment.id}")


def _require_form(form) -> None:
    if not form.validate_on_submit():
        raise ValidationError("页面已过期或来源无效，请刷新页面后重新提交。")


def thread_panel(viewer, lesson: Lesson, **_page) -> str:
    """The conversation under a lesson (slot "lesson.after_parts" of the lesson page)."""
    page = max(request.args.get("comments", 1, type=int), 1)
    comments = {"thread": operations.thread(viewer, lesson, page, PER_PAGE), "comment_form": CommentForm(),
                "kinds": KINDS, "reasons": REPORT_REASONS, "hidden_by": HIDDEN_BY}
    return render_template("comments/_thread.html", comments=comments, lesson=lesson)


def register_panels(app) -> None:
    """Offer the comment thread to the lesson page."""
    panels.register(app, "lesson.after_parts", thread_panel)


def _compose_again(lesson, form, exc, parent=None):
    """Show the text again with the refusal, so the writer can fix it; nothing was stored."""
    db.session.rollback()
    return render_template("comments/compose.html", lesson=lesson, form=form, parent=parent, error=exc.message,
                           kinds=KINDS), 400


@bp.post("/lessons/<int:lesson_id>/comments")
@login_required
def create(lesson_id: int):
    lesson = _lesson(lesson_id)
    form = CommentForm()
    _require_form(form)
    try:
        comment = operations.post_comment(current_user.user, lesson, form.body.data, form.kind.data)
    except (BlockedText, ValidationError) as exc:
        return _compose_again(lesson, form, exc)
    db.session.commit()
    flash("提问已发布，授课教师会看到。" if comment.kind == "question" else "评论已发布。", "success")
    return redirect(_back(comment))


@bp.post("/comments/<int:comment_id>/replies")
@login_required
def reply(comment_id: int):
    parent = operations.get_comment(comment_id, _viewer())
    form = ReplyForm()
    _require_form(form)
    try:
        created = operations.post_reply(current_user.user, parent, form.body.data)
    except (BlockedText, ValidationError) as exc:
        return _compose_again(parent.lesson, form, exc, parent=parent)
    db.session.commit()
    flash("回复已发布。", "success")
    return redirect(_back(created))


@bp.post("/comments/<int:comment_id>/like")
@login_required
def like(comment_id: int):
    comment = operations.get_comment(comment_id, _viewer())
    _require_form(EmptyForm())
    operations.toggle_like(current_user.user, comment)
    db.session.commit()
    return redirect(_back(comment))


@bp.post("/comments/<int:comment_id>/hide")
@login_required
def hide(comment_id: int):
    comment = operations.get_comment(comment_id, _viewer())
    _require_form(EmptyForm())
    operations.hide_comment(current_user.user, comment)
    db.session.commit()
    flash("评论已隐藏，其他人只会看到“已隐藏”。", "success")
    return redirect(_back(comment))


@bp.post("/comments/<int:comment_id>/unhide")
@login_required
def unhide(comment_id: int):
    comment = operations.get_comment(comment_id, _viewer())
    _require_form(EmptyForm())
    operations.unhide_comment(current_user.user, comment)
    db.session.commit()
    flash("评论已恢复显示。", "success")
    return redirect(_back(comment))


@bp.post("/comments/<int:comment_id>/report")
@login_required
def report(comment_id: int):
    comment = operations.get_comment(comment_id, _viewer())
    form = ReportForm()
    _require_form(form)
    operations.report_comment(current_user.user, comment, form.reason.data, form.note.data)
    db.session.commit()
    flash("举报已提交，学校管理员会尽快处理。谢谢！", "success")
    return redirect(_back(comment))


# --- moderation by school admins -----------------------------------------------------

@bp.get("/comments/reports")
@login_required
def reports():
    require_admin(current_user.user)
    admin = current_user.user
    return render_template("comments/reports.html", items=operations.open_reports(admin),
                           decided=operations.recent_decisions(admin), form=DecisionForm(), reasons=REPORT_REASONS,
                           decisions=DECISIONS, kinds=KINDS, hidden_by=HIDDEN_BY)


@bp.post("/comments/<int:comment_id>/decide")
@login_required
def decide(comment_id: int):
    require_admin(current_user.user)
    comment = operations.get_comment(comment_id, _viewer())
    form = DecisionForm()
    _require_form(form)
    count = operations.decide_reports(current_user.user, comment, form.decision.data)
    db.session.commit()
    flash(("已隐藏该评论" if form.decision.data == "hide" else "已驳回举报") + f"（{count} 条举报已处理）。", "success")
    return redirect(url_for(".reports"))


@bp.app_template_global()
def open_comment_reports() -> int:
    """How many reported comments wait for the signed-in admin (for the navigation badge)."""
    viewer = _viewer()
    if viewer is None or not viewer.is_admin:
        return 0
    return operations.count_open_reports(viewer)
