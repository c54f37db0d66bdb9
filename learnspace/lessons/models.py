"""Recorded lessons (课例) and their stored files."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..catalog.models import CatalogNode
from ..db import UTCDateTime, utcnow
from ..extensions import db
from ..orgs.models import School

LESSON_TYPES = ("新授课", "复习课", "练习课", "实验课", "讲评课", "活动课", "专题课")
LANGUAGES = {"zh": "汉语", "ko": "朝鲜语", "ii": "彝语", "bo": "藏语", "ug": "维吾尔语", "mn": "蒙古语"}
VISIBILITIES = {"private": "仅自己", "school": "本校", "region": "本区域", "public": "公开"}
STATUSES = {"draft": "草稿", "published": "已发布", "withdrawn": "已撤回"}
#: the four parts the national activity requires, plus optional subtitles
PART_KINDS = {"recording": "课堂实录", "lesson_plan": "教学设计", "courseware": "课件", "exercises": "评测练习",
              "subtitles": "字幕"}
REQUIRED_PARTS = ("recording", "lesson_plan", "courseware", "exercises")
#: uploading (parts go to MinIO) → verifying (SHA-256 and type, in the worker) → processing (ffprobe and poster,
#: recordings) → ready; or failed
FILE_STATUSES = ("uploading", "verifying", "processing", "ready", "failed")


class Lesson(db.Model):
    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(16))
    edition: Mapped[str] = mapped_column(String(32))
    #: the chapter or section this lesson teaches
    catalog_node_id: Mapped[int] = mapped_column(ForeignKey("catalog_nodes.id"), index=True)
    #: one of LESSON_TYPES
    lesson_type: Mapped[str] = mapped_column(String(16))
    #: a key of LANGUAGES
    language: Mapped[str] = mapped_column(String(8), default="zh")
    teacher_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    #: the teacher's school when the lesson was made; it stays with the lesson
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    #: a key of VISIBILITIES
    visibility: Mapped[str] = mapped_column(String(10), default="school")
    #: a key of STATUSES
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: how often the lesson was opened; a sort key of search
    view_count: Mapped[int] = mapped_column(default=0, server_default="0")

    teacher: Mapped[User] = relationship()
    school: Mapped[School] = relationship()
    catalog_node: Mapped[CatalogNode] = relationship()
    files: Mapped[list[LessonFile]] = relationship(back_populates="lesson", order_by="LessonFile.id")

    __table_args__ = (
        CheckConstraint("visibility IN ('private', 'school', 'region', 'public')", name="visibility"),
        CheckConstraint("status IN ('draft', 'published', 'withdrawn')", name="status"),
    )

    def ready_file(self, kind: str) -> LessonFile | None:
        """Return the ready file of one part, if any."""
        return next((f for f in self.files if f.kind == kind and f.status == "ready"), None)

    @property
    def missing_parts(self) -> list[str]:
        return [kind for kind in REQUIRED_PARTS if self.ready_file(kind) is None]

    @property
    def is_complete(self) -> bool:
        return not self.missing_parts

    def __repr__(self) -> str:
        return f"<Lesson {self.id} {self.status}>"


class LessonFile(db.Model):
    """One stored object of a lesson; the row exists before the first byte is stored."""

    __tablename__ = "lesson_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    #: a key of PART_KINDS
    kind: Mapped[str] = mapped_column(String(16))
    #: MinIO key of the final object, e.g. lessons/12/files/<uuid>; never the user's file name
    object_key: Mapped[str] = mapped_column(String(200), unique=True)
    #: the file name the teacher chose, served back in Content-Disposition
    original_name: Mapped[str] = mapped_column(String(255))
    #: MIME type decided by sniffing the bytes, not by the name
    content_type: Mapped[str | None] = mapped_column(String(100))
    #: size the client announced; the stored object must match it exactly
    size: Mapped[int] = mapped_column(BigInteger)
    #: bytes per part of the S3 multipart upload (the last part may be shorter)
    part_size: Mapped[int] = mapped_column(default=8 * 1024 * 1024)
    #: id of the S3 multipart upload in MinIO while the parts arrive (kept afterwards, for reconcile)
    upload_id: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the whole stored object, recorded once verified
    sha256: Mapped[str | None] = mapped_column(String(64))
    #: one of FILE_STATUSES
    status: Mapped[str] = mapped_column(String(10), default="uploading", index=True)
    #: why a failed upload failed, in Chinese for the teacher
    failure_reason: Mapped[str | None] = mapped_column(String(255))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    ready_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Media facts from ffprobe (recordings only).
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None]
    height: Mapped[int | None]
    video_codec: Mapped[str | None] = mapped_column(String(32))
    audio_codec: Mapped[str | None] = mapped_column(String(32))
    #: MinIO key of the poster image extracted with ffmpeg
    poster_key: Mapped[str | None] = mapped_column(String(200))
    #: whether the recording meets the activity's technical requirements (H.264/AAC MP4, ≥ 720×576)
    is_showcase_eligible: Mapped[bool | None] = mapped_column(Boolean)
    ineligible_reason: Mapped[str | None] = mapped_column(String(255))

    lesson: Mapped[Lesson] = relationship(back_populates="files")

    __table_args__ = (
        CheckConstraint("status IN ('uploading', 'verifying', 'processing', 'ready', 'failed')", name="status"),
    )

    @property
    def part_count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def __repr__(self) -> str:
        return f"<LessonFile {self.id} {self.kind} {self.status}>"


class LessonView(db.Model):
    """One viewer on one China day of one lesson: the dedupe record behind lessons.view_count.

    Written by a single INSERT … ON CONFLICT DO NOTHING, with no foreign key to lessons (a key check would
    share-lock the lesson's row, which every viewer of a popular lesson would take); the worker adds the
    rows not yet ``counted`` to lessons.view_count in batches (view_counts.py) and prunes old days.
    """

    __tablename__ = "lesson_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column()
    #: the China-time (Asia/Shanghai) day of the view
    day: Mapped[date] = mapped_column(Date)
    #: "u<person id>" for a signed-in person, "a<random id>" for an anonymous visitor's cookie
    viewer: Mapped[str] = mapped_column(String(40))
    #: the person, when signed in (so a deletion takes their rows along)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: added to lessons.view_count already
    counted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))

    __table_args__ = (
        UniqueConstraint("lesson_id", "day", "viewer", name="uq_lesson_views_lesson_day_viewer"),
        Index("ix_lesson_views_pending", "id", sqlite_where=text("NOT counted"), postgresql_where=text("NOT counted")),
        Index("ix_lesson_views_day", "day"),
    )

    def __repr__(self) -> str:
        return f"<LessonView lesson={self.lesson_id} day={self.day}>"
