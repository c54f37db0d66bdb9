"""Verbs of the conversation under a lesson: post, reply, like, hide, report, decide, read a thread."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..accounts.scope import school_scope
from ..activity import operations as activity
from ..audit import operations as audit
from ..db import utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..lessons.models import Lesson
from ..moderation import operations as moderation
from ..orgs.models import School
from .models import DECISIONS, KINDS, REPORT_REASONS, Comment, CommentLike, CommentReport
from .permissions import author_label, can_moderate, can_read, is_lesson_teacher, post_refusal, sees_hidden

log = logging.getLogger(__name__)

#: longest comment, in characters
BODY_MAX = 1000
NOTE_MAX = 200


def clean_body(text: str | None) -> str:
    """Normalise line endings, trim, and allow at most one empty line in a row."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip()
    return re.sub(r"\n{3,}", "\n\n", text)


def _checked_body(text: str | None, what: str) -> str:
    body = clean_body(text)
    if not body:
        raise ValidationError(f"请填写{what}内容")
    if len(body) > BODY_MAX:
        raise ValidationError(f"{what}最多 {BODY_MAX} 个字（现在 {len(body)} 个字）")
    moderation.check_text(body, what)  # refused with the term named; nothing is stored
    return body


def _require_post(author: User, lesson: Lesson) -> None:
    refusal = post_refusal(author, lesson)
    if refusal is not None:
        raise PermissionDenied(refusal)


def get_comment(comment_id: int, viewer: User | None) -> Comment:
    """Return a comment under a lesson *viewer* may read; NotFound otherwise (hidden lessons stay secret)."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or not (can_read(viewer, comment.lesson) or can_moderate(viewer, comment.lesson)):
        raise NotFound("评论不存在，或您没有查看权限。")
    return comment


# --- writing ------------------------------------------------------------------------

def post_comment(author: User, lesson: Lesson, body: str, kind: str = "comment") -> Comment:
    """Post a comment or question under *lesson*, checked against the blocked-word list."""
    _require_post(author, lesson)
    if kind not in KINDS:
        raise ValidationError("请选择“评论”或“提问”")
    what = KINDS[kind]
    comment = Comment(lesson_id=lesson.id, author_id=author.id, kind=kind, body=_checked_body(body, what),
                      created_dt=utcnow())
    db.session.add(comment)
    db.session.flush()
    activity.record(author, "comment")
    return comment


def post_reply(author: User, parent: Comment, body: str) -> Comment:
    """Reply to a comment (a reply to a reply joins the same thread), checked against the blocked-word list."""
    lesson = parent.lesson
    _require_post(author, lesson)
    root = parent.parent if parent.parent_id is not None else parent
    if root.is_hidden or parent.is_hidden:
        raise Conflict("这条评论已被隐藏，不能回复")
    reply = Comment(lesson_id=lesson.id, author_id=author.id, parent_id=root.id, kind="comment",
                    body=_checked_body(body, "回复"), created_dt=utcnow())
    db.session.add(reply)
    db.session.flush()
    activity.record(author, "comment")
    return reply


def toggle_like(user: User, comment: Comment) -> bool:
    """Like *comment*, or take the like back; return whether *user* likes it now."""
    if not can_read(user, comment.lesson):
        raise PermissionDenied("您没有查看这节课的权限")
    if comment.is_hidden:
        raise Conflict("这条评论已被隐藏，不能点赞")
    removed = db.session.execute(delete(CommentLike).where(CommentLike.comment_id == comment.id,
                                                           CommentLike.user_id == user.id)).rowcount
    if removed:
        return False
    # A double click races two inserts: the unique constraint keeps one, the loser is told it is liked.
    savepoint = db.session.begin_nested()
    try:
        db.session.add(CommentLike(comment_id=comment.id, user_id=user.id, created_dt=utcnow()))
        db.session.flush()
        savepoint.commit()
    except IntegrityError:
        savepoint.rollback()
    return True


def hide_comment(teacher: User, comment: Comment) -> None:
    """Hide a comment under the teacher's own lesson."""
    if not is_lesson_teacher(teacher, comment.lesson):
        audit.record_denied("comment.hide", target=f"comment:{comment.id}")
        raise PermissionDenied("只有这节课的授课教师可以隐藏评论")
    if comment.is_hidden:
        raise Conflict("这条评论已经隐藏")
    comment.hidden_dt, comment.hidden_by, comment.hidden_by_id = utcnow(), "teacher", teacher.id
    audit.record("comment.hide", target=f"comment:{comment.id}")


def unhide_comment(teacher: User, comment: Comment) -> None:
    """Show again a comment the teacher hid (not one an admin hid)."""
    if not is_lesson_teacher(teacher, comment.lesson):
        audit.record_denied("comment.unhide", target=f"comment:{comment.id}")
        raise PermissionDenied("只有这节课的授课教师可以恢复评论")
    if not comment.is_hidden:
        raise Conflict("这条评论没有被隐藏")
    if comment.hidden_by != "teacher":
        raise PermissionDenied("这条评论是学校管理员处理举报时隐藏的，教师不能恢复")
    comment.hidden_dt = comment.hidden_by = comment.hidden_by_id = None
    audit.record("comment.unhide", target=f"comment:{comment.id}")


# --- reports and their moderation ----------------------------------------------------------

def report_comment(reporter: User, comment: Comment, reason: str, note: str = "") -> CommentReport:
    """Report a comment to the admins of the lesson's school; once per person and comment."""
    if not can_read(reporter, comment.lesson):
        raise PermissionDenied("您没有查看这节课的权限")
    if comment.author_id == reporter.id:
        raise ValidationError("不能举报自己的评论")
    if comment.is_hidden:
        raise Conflict("这条评论已被隐藏，无需举报")
    if reason not in REPORT_REASONS:
        raise ValidationError("请选择举报原因")
    note = " ".join((note or "").split())
    if len(note) > NOTE_MAX:
        raise ValidationError(f"补充说明最多 {NOTE_MAX} 个字")
    exists = db.session.scalar(select(CommentReport.id).where(CommentReport.comment_id == comment.id,
                                                              CommentReport.reporter_id == reporter.id))
    if exists is not None:
        raise Conflict("您已经举报过这条评论，学校管理员会处理")
    report = CommentReport(comment_id=comment.id, reporter_id=reporter.id, reason=reason, note=note,
                           created_dt=utcnow())
    db.session.add(report)
    db.session.flush()
    return report


def decide_reports(admin: User, comment: Comment, decision: str) -> int:
    """Resolve every open report of *comment*: hide it, or dismiss the reports; return how many were resolved."""
    if not can_moderate(admin, comment.lesson):
        audit.record_denied("comment.moderate", target=f"comment:{comment.id}")
        raise PermissionDenied("只有这节课所在学校（或其上级区域）的管理员可以处理举报")
    if decision not in DECISIONS:
        raise ValidationError("请选择“隐藏评论”或“驳回举报”")
    reports = list(db.session.scalars(select(CommentReport).where(CommentReport.comment_id == comment.id,
                                                                  CommentReport.decided_dt.is_(None))))
    if not reports:
        raise Conflict("这条评论的举报已经处理过了")
    now = utcnow()
    for report in reports:
        report.decided_dt, report.decision, report.decided_by_id = now, decision, admin.id
    if decision == "hide":
        comment.hidden_dt, comment.hidden_by, comment.hidden_by_id = now, "moderation", admin.id
    audit.record("comment.moderate", target=f"comment:{comment.id}", detail=decision)
    return len(reports)


@dataclass
class ReportedComment:
    """One reported comment on the moderation page, with its open reports."""

    comment: Comment
    reports: list[CommentReport]

    @property
    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for report in self.reports:
            counts[report.reason] = counts.get(report.reason, 0) + 1
        return counts


def _in_scope(admin: User):
    return Lesson.school_id.in_(select(School.id).where(school_scope(admin)))


def open_reports(admin: User, limit: int = 50) -> list[ReportedComment]:
    """Return the comments with undecided reports under lessons of *admin*'s schools, oldest report first."""
    rows = db.session.scalars(
        select(CommentReport).join(Comment, CommentReport.comment_id == Comment.id)
        .join(Lesson, Comment.lesson_id == Lesson.id)
        .where(CommentReport.decided_dt.is_(None), _in_scope(admin))
        .options(selectinload(CommentReport.comment).selectinload(Comment.lesson),
                 selectinload(CommentReport.comment).selectinload(Comment.author),
                 selectinload(CommentReport.reporter))
        .order_by(CommentReport.created_dt, CommentReport.id))
    grouped: dict[int, ReportedComment] = {}
    for report in rows:
        entry = grouped.get(report.comment_id)
        if entry is None:
            if len(grouped) >= limit:
                continue
            entry = grouped[report.comment_id] = ReportedComment(report.comment, [])
        entry.reports.append(report)
    return list(grouped.values())


def count_open_reports(admin: User) -> int:
    """Return how many comments under *admin*'s schools wait for a decision."""
    return db.session.scalar(
        select(func.count(func.distinct(CommentReport.comment_id))).join(Comment, CommentReport.comment_id == Comment.id)
        .join(Lesson, Comment.lesson_id == Lesson.id)
        .where(CommentReport.decided_dt.is_(None), _in_scope(admin))) or 0


def recent_decisions(admin: User, limit: int = 20) -> list[CommentReport]:
    """Return the latest decided reports under *admin*'s schools (one row per comment and decision time)."""
    rows = db.session.scalars(
        select(CommentReport).join(Comment, CommentReport.comment_id == Comment.id)
        .join(Lesson, Comment.lesson_id == Lesson.id)
        .where(CommentReport.decided_dt.is_not(None), _in_scope(admin))
        .options(selectinload(CommentReport.comment).selectinload(Comment.lesson),
                 selectinload(CommentReport.decided_by))
        .order_by(CommentReport.decided_dt.desc(), CommentReport.id.desc()).limit(limit * 5))
    seen, result = set(), []
    for report in rows:
        key = (report.comment_id, report.decided_dt)
        if key not in seen:
            seen.add(key)
            result.append(report)
    return result[:limit]


# --- reading a thread -------------------------------------------------------------------

@dataclass
class Entry:
    """One comment as *viewer* sees it."""

    comment: Comment
    author: str
    #: written by the lesson's teacher (marked in the thread)
    by_teacher: bool
    #: the text is shown (False: a "hidden" placeholder)
    readable: bool
    likes: int = 0
    liked: bool = False
    reported: bool = False
    is_mine: bool = False
    can_hide: bool = False
    can_unhide: bool = False
    replies: list["Entry"] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """A question counts as answered once the teacher replied visibly."""
        return any(r.by_teacher and not r.comment.is_hidden for r in self.replies)


@dataclass
class Thread:
    entries: list[Entry]
    #: top-level comments and questions of the lesson
    total: int
    page: int
    per_page: int
    #: None when the viewer may write; otherwise why not
    refusal: str | None
    can_read: bool

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


def thread(viewer: User | None, lesson: Lesson, page: int = 1, per_page: int = 20) -> Thread:
    """Return one page of the lesson's thread (newest first) as *viewer* may see it, in a fixed number of queries."""
    refusal = post_refusal(viewer, lesson)
    if not can_read(viewer, lesson):
        total = db.session.scalar(select(func.count(Comment.id)).where(Comment.lesson_id == lesson.id,
                                                                        Comment.parent_id.is_(None),
                                                                        Comment.hidden_dt.is_(None)))
        return Thread([], total or 0, 1, per_page, refusal, False)
    page = max(page, 1)
    total = db.session.scalar(select(func.count(Comment.id)).where(Comment.lesson_id == lesson.id,
                                                                    Comment.parent_id.is_(None))) or 0
    tops = list(db.session.scalars(
        select(Comment).where(Comment.lesson_id == lesson.id, Comment.parent_id.is_(None))
        .options(selectinload(Comment.author).selectinload(User.school))
        .order_by(Comment.created_dt.desc(), Comment.id.desc()).limit(per_page).offset((page - 1) * per_page)))
    replies = list(db.session.scalars(
        select(Comment).where(Comment.parent_id.in_([c.id for c in tops]))
        .options(selectinload(Comment.author).selectinload(User.school))
        .order_by(Comment.created_dt, Comment.id))) if tops else []
    ids = [c.id for c in tops] + [c.id for c in replies]
    likes, liked, reported = {}, set(), set()
    if ids:
        likes = dict(db.session.execute(select(CommentLike.comment_id, func.count(CommentLike.id))
                                        .where(CommentLike.comment_id.in_(ids)).group_by(CommentLike.comment_id)).all())
        liked = set(db.session.scalars(select(CommentLike.comment_id).where(CommentLike.comment_id.in_(ids),
                                                                            CommentLike.user_id == viewer.id)))
        reported = set(db.session.scalars(select(CommentReport.comment_id).where(
            CommentReport.comment_id.in_(ids), CommentReport.reporter_id == viewer.id)))
    teacher = is_lesson_teacher(viewer, lesson)

    def entry(c: Comment) -> Entry:
        return Entry(comment=c, author=author_label(viewer, c.author), by_teacher=c.author_id == lesson.teacher_id,
                     readable=not c.is_hidden or sees_hidden(viewer, c, lesson), likes=likes.get(c.id, 0),
                     liked=c.id in liked, reported=c.id in reported, is_mine=c.author_id == viewer.id,
                     can_hide=teacher and not c.is_hidden, can_unhide=teacher and c.hidden_by == "teacher")

    entries = {c.id: entry(c) for c in tops}
    for reply in replies:
        entries[reply.parent_id].replies.append(entry(reply))
    return Thread(list(entries.values()), total, page, per_page, refusal, True)
