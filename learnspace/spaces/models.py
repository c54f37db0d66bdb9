"""The one personal learning space of each person."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import UTCDateTime, utcnow
from ..extensions import db

ACTIVATION_METHODS = ("code", "oidc", "admin", "demo")


class Space(db.Model):
    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique: one person, one space, for life
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: when the space was activated (开通)
    activated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the school the person belonged to at activation; statistics count the activation there
    activated_school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    #: how it was activated: code, oidc, admin or demo
    activation_method: Mapped[str] = mapped_column(String(10))
    title: Mapped[str | None] = mapped_column(String(100))
    #: storage quota in bytes; None means the configured default (LEARNSPACE_SPACE_QUOTA_BYTES)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)

    owner: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Space {self.id} owner={self.owner_id}>"


#: who may see a new lesson unless the teacher picks otherwise (keys of lessons.models.VISIBILITIES)
DEFAULT_VISIBILITY_CHOICES = ("private", "school", "region", "public")


class TeacherProfile(db.Model):
    """What a teacher tells visitors of their space, and their default for new lessons."""

    __tablename__ = "teacher_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: subjects taught, joined with "、" in the order of spaces.operations.SUBJECTS
    subjects: Mapped[str] = mapped_column(String(200), default="")
    #: grades taught, joined with "、" in the order of spaces.operations.GRADES
    grades: Mapped[str] = mapped_column(String(200), default="")
    #: a short introduction, plain text with line breaks
    introduction: Mapped[str] = mapped_column(Text, default="")
    #: MinIO key of the photo (spaces/<user id>/photo/<uuid>); None when there is none
    photo_key: Mapped[str | None] = mapped_column(String(200))
    #: MIME type decided by sniffing the bytes: image/jpeg, image/png or image/webp
    photo_content_type: Mapped[str | None] = mapped_column(String(20))
    #: visibility preselected on the new-lesson form
    default_visibility: Mapped[str] = mapped_column(String(10), default="school", server_default="school")
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("default_visibility IN ('private', 'school', 'region', 'public')",
                        name="default_visibility"),
    )

    @property
    def subject_list(self) -> list[str]:
        return [s for s in (self.subjects or "").split("、") if s]

    @property
    def grade_list(self) -> list[str]:
        return [g for g in (self.grades or "").split("、") if g]

    def __repr__(self) -> str:
        return f"<TeacherProfile user={self.user_id}>"


class Follow(db.Model):
    """One person following another person's space."""

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(primary_key=True)
    follower_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    followed_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    follower: Mapped[User] = relationship(foreign_keys=[follower_id])
    followed: Mapped[User] = relationship(foreign_keys=[followed_id])

    __table_args__ = (
        UniqueConstraint("follower_id", "followed_id", name="uq_follows_follower_followed"),
        CheckConstraint("follower_id <> followed_id", name="not_self"),
    )

    def __repr__(self) -> str:
        return f"<Follow {self.follower_id}->{self.followed_id}>"


class Announcement(db.Model):
    """A short notice a teacher posts in their space for their followers."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: plain text with line breaks, escaped on output
    body: Mapped[str] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    author: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Announcement {self.id} author={self.author_id}>"


class SpaceVisit(db.Model):
    """One visitor on one Asia/Shanghai day in one space: the visit counter counts these rows."""

    __tablename__ = "space_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the visitor's local (Asia/Shanghai) calendar day
    day: Mapped[date] = mapped_column(Date)
    first_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("space_id", "visitor_id", "day", name="uq_space_visits_space_visitor_day"),)

    def __repr__(self) -> str:
        return f"<SpaceVisit space={self.space_id} day={self.day}>"
