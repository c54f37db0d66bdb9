"""The search outbox: one row per change that the index has not applied yet."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class SearchOutbox(db.Model):
    """A document to re-read and re-index (or remove), written in the same transaction as the change."""

    __tablename__ = "search_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the registered document source, e.g. "lesson"
    doc_type: Mapped[str] = mapped_column(String(20))
    #: primary key of the changed row in its own table (no foreign key: the row may be deleted)
    doc_id: Mapped[int]
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_search_outbox_doc", "doc_type", "doc_id"),)

    def __repr__(self) -> str:
        return f"<SearchOutbox {self.id} {self.doc_type}:{self.doc_id}>"
