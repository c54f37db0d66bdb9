"""What a person watched and where they stopped, their favourite lessons and their notes."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import UTCDateTime, utcnow
from ..extensions import db
from ..lessons.models import Lesson

NOTE_VISIBILITIES = {"private": "仅自己", "space": "在我的空间展示"}


class WatchProgress(db.Model):
    """Where a person stopped in a lesson's recording: one row per person and lesson."""

    __tablename__ = "watch_progress"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    #: seconds into the recording where the player was last reported; resume starts here
    position_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    #: the recording's length as the player reported it (for "45 % watched")
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    #: set once the person reached the last seconds; resume then starts from the beginning
    is_finished: Mapped[bool] = mapped_column(default=False)
    started_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    lesson: Mapped[Lesson] = relationship()
    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<WatchProgress user={self.user_id} lesson={self.lesson_id} at={self.position_seconds:.0f}>"


class WatchDay(db.Model):
    """Seconds of a lesson actually played by a person on one Asia/Shanghai day: the weekly summary sums these."""

    __tablename__ = "watch_days"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    #: the local calendar day in China
    day: Mapped[date] = mapped_column(Date, index=True)
    #: playing time counted by the server from the player's reports (capped by wall-clock time)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)

    def __repr__(self) -> str:
        return f"<WatchDay user={self.user_id} lesson={self.lesson_id} {self.day} {self.seconds:.0f}s>"


class Favourite(db.Model):
    """A lesson a person keeps in their favourites."""

    __tablename__ = "favourites"
    __table_args__ = (UniqueConstraint("user_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lesson: Mapped[Lesson] = relationship()

    def __repr__(self) -> str:
        return f"<Favourite user={self.user_id} lesson={self.lesson_id}>"


class LessonNote(db.Model):
    """A person's note on a lesson, private unless they choose to show it in their space."""

    __tablename__ = "lesson_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    #: where in the recording the note was taken, if the player was open
    position_seconds: Mapped[float | None] = mapped_column(Float)
    #: a key of NOTE_VISIBILITIES; "private" by default
    visibility: Mapped[str] = mapped_column(String(10), default="private")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    lesson: Mapped[Lesson] = relationship()

    __table_args__ = (CheckConstraint("visibility IN ('private', 'space')", name="visibility"),)

    def __repr__(self) -> str:
        return f"<LessonNote {self.id} user={self.user_id} lesson={self.lesson_id}>"
