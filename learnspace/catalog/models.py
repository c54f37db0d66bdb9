"""The textbook catalogue tree: stage → subject → edition → volume → chapter → section."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db

LEVELS = ("stage", "subject", "edition", "volume", "chapter", "section")
LEVEL_NAMES = {"stage": "学段", "subject": "学科", "edition": "教材版本", "volume": "册次", "chapter": "章", "section": "节"}


class CatalogNode(db.Model):
    __tablename__ = "catalog_nodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable identifier that survives re-imports, e.g. "xx-math-pep-g3a-u2-s1"
    key: Mapped[str] = mapped_column(String(80), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_nodes.id", ondelete="CASCADE"), index=True)
    #: one of LEVELS
    level: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(120))
    #: order among siblings
    position: Mapped[int] = mapped_column(default=0)
    #: ancestor ids as "/1/4/9/" (this node last), for subtree queries with LIKE
    path: Mapped[str] = mapped_column(String(255), default="/", index=True)
    #: denormalised facets, filled from the ancestors, so lessons and search can filter cheaply
    stage: Mapped[str | None] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(16))
    edition: Mapped[str | None] = mapped_column(String(32))
    #: 年级 such as 三年级 or 七年级, set from the volume down
    grade: Mapped[str | None] = mapped_column(String(16))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[CatalogNode | None] = relationship(remote_side=[id])

    __table_args__ = (
        CheckConstraint("level IN ('stage', 'subject', 'edition', 'volume', 'chapter', 'section')", name="level"),
    )

    def __repr__(self) -> str:
        return f"<CatalogNode {self.key}>"


class SchoolEdition(db.Model):
    """Which textbook edition a school uses for one grade and subject."""

    __tablename__ = "school_editions"

    id: Mapped[int] = mapped_column(primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    grade: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(16))
    #: a catalogue node of level "edition"
    edition_node_id: Mapped[int] = mapped_column(ForeignKey("catalog_nodes.id", ondelete="CASCADE"))

    edition_node: Mapped[CatalogNode] = relationship()

    __table_args__ = (UniqueConstraint("school_id", "grade", "subject", name="uq_school_editions_choice"),)

    def __repr__(self) -> str:
        return f"<SchoolEdition school={self.school_id} {self.grade} {self.subject}>"
