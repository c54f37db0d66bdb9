"""The search outbox (one row per change to apply) and the nodes that apply it, each with its own cursor."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, FetchedValue, Index, String, Text
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
    #: PostgreSQL: the writing transaction's id, filled by the server (see nodes.py); SQLite: unused
    txid: Mapped[int | None] = mapped_column(BigInteger, server_default=FetchedValue())

    # AUTOINCREMENT on SQLite: rows are pruned, and a reused id would sit behind a node's cursor.
    __table_args__ = (Index("ix_search_outbox_doc", "doc_type", "doc_id"), Index("ix_search_outbox_txid", "txid"),
                      {"sqlite_autoincrement": True})

    def __repr__(self) -> str:
        return f"<SearchOutbox {self.id} {self.doc_type}:{self.doc_id}>"


class SearchNode(db.Model):
    """An app node's search replica: how far into the outbox it has applied (learnspace.search.nodes)."""

    __tablename__ = "search_nodes"

    #: LEARNSPACE_NODE_ID (default: host name and a hash of the search directory)
    node_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    #: position below which every outbox row is applied; None: the replica must be rebuilt
    cursor: Mapped[int | None] = mapped_column(BigInteger)
    #: PostgreSQL: ids of rows at or above the cursor already applied (comma-separated, bounded)
    applied_ids: Mapped[str] = mapped_column(Text, default="", server_default="")
    #: the replica generation the cursor belongs to; another one (emptied var dir) means rebuild
    generation: Mapped[str | None] = mapped_column(String(80))
    seen_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rebuilt_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def __repr__(self) -> str:
        return f"<SearchNode {self.node_id} at {self.cursor}>"
