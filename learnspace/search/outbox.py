"""Record that a document changed, in the caller's transaction, for the indexer to apply."""
from __future__ import annotations

from flask import g, has_app_context

from ..extensions import db
from .models import SearchOutbox


def enqueue(doc_type: str, doc_id: int) -> None:
    """Add an outbox row for *doc_type*/*doc_id* to the current session (the caller commits)."""
    db.session.add(SearchOutbox(doc_type=doc_type, doc_id=int(doc_id)))
    if has_app_context():
        g.search_outbox_enqueued = True  # the after-request drain looks at this
