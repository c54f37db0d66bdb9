"""Comments under lessons, likes, and reports to school admins."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import UTCDateTime, utcnow
from ..extensions import db
from ..lessons.models import Lesson

#: what a top-level post is
KINDS = {"comment": "评论", "question": "提问"}
#: why a comment is hidden
HIDDEN_BY = {"teacher": "授课教师", "moderation": "学校管理员"}
#: what a reporter may choose
REPORT_REASONS = {
    "abuse": "辱骂、人身攻击",
    "spam": "广告、刷屏",
    "privacy": "泄露个人信息",
    "false": "不实或有害信息",
    "other": "其他",
}
#: what an admin decided about the reports of one comment
DECISIONS = {"hide": "已隐藏评论", "dismiss": "驳回举报"}


class Comment(db.Model):
    """A comment or question under a lesson, or a reply to one (one level deep)."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the top-level comment this replies to; replies have no replies of their own
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    #: a key of KINDS; replies are "comment"
    kind: Mapped[str] = mapped_column(String(10), default="comment")
    #: plain text as written (line breaks kept); escaped on output, never rendered as HTML or Markdown
    body: Mapped[str] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: set when hidden; hidden comments are shown only to their author, the lesson's teacher and admins
    hidden_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a key of HIDDEN_BY
    hidden_by: Mapped[str | None] = mapped_column(String(10))
    hidden_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    lesson: Mapped[Lesson] = relationship()
    author: Mapped[User] = relationship(foreign_keys=[author_id])
    parent: Mapped[Comment | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("kind IN ('comment', 'question')", name="kind"),
        CheckConstraint("hidden_by IS NULL OR hidden_by IN ('teacher', 'moderation')", name="hidden_by"),
        # The thread of a lesson: top-level comments newest first.
        Index("ix_comments_lesson_id_parent_id", "lesson_id", "parent_id"),
    )

    @property
    def is_hidden(self) -> bool:
        return self.hidden_dt is not None

    def __repr__(self) -> str:
        return f"<Comment {self.id} lesson={self.lesson_id}>"


class CommentLike(db.Model):
    """One person likes one comment, at most once."""

    __tablename__ = "comment_likes"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("comment_id", "user_id"),)

    def __repr__(self) -> str:
        return f"<CommentLike comment={self.comment_id} user={self.user_id}>"


class CommentReport(db.Model):
    """Someone reported a comment; an admin of the lesson's school decides (hide or dismiss)."""

    __tablename__ = "comment_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: a key of REPORT_REASONS
    reason: Mapped[str] = mapped_column(String(10))
    #: optional words of the reporter, shown only to admins (escaped)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_dt: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    #: a key of DECISIONS
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    comment: Mapped[Comment] = relationship()
    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        UniqueConstraint("comment_id", "reporter_id"),
        CheckConstraint("reason IN ('abuse', 'spam', 'privacy', 'false', 'other')", name="reason"),
        CheckConstraint("decision IS NULL OR decision IN ('hide', 'dismiss')", name="decision"),
    )

    def __repr__(self) -> str:
        return f"<CommentReport {self.id} comment={self.comment_id}>"
