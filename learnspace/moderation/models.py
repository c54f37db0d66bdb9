"""Terms of the blocked-word list (网络负面用语清单)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

#: longest term accepted, in characters as entered
TERM_MAX = 50


class BlockedTerm(db.Model):
    """One term of the list. Terms are added and deleted, never edited.

    Ids are never reused (AUTOINCREMENT on SQLite, a sequence on PostgreSQL), so the
    row count and the highest id together change whenever the list changes; the
    matcher uses that pair to know when its in-memory automaton is stale.
    """

    __tablename__ = "blocked_terms"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the term as the platform admin wrote it; refusals name this form
    term: Mapped[str] = mapped_column(String(TERM_MAX))
    #: the folded form matched against folded text (see moderation.matcher.fold): unique
    folded: Mapped[str] = mapped_column(String(TERM_MAX), unique=True)
    #: "web" or "import"
    source: Mapped[str] = mapped_column(String(10), default="web")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<BlockedTerm {self.id}>"
