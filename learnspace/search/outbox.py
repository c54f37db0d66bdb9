"""Record that a document changed, in the caller's transaction, for the indexer to apply."""
from __future__ import annotations

from flask import g, has_app_context

from ..extensions import db
from .models import SearchOutbox

#: Outbox rows that stand for every lesson showing a school's name, a teacher's name or a catalogue
#: node (its name, place or facets): one row per rename, expanded into lesson rows by the writer.
SCHOOL, TEACHER, CATALOG_NODE = "school", "teacher", "catalog_node"


def enqueue(doc_type: str, doc_id: int) -> None:
    """Add an outbox row for *doc_type*/*doc_id* to the current session (the caller commits)."""
    db.session.add(SearchOutbox(doc_type=doc_type, doc_id=int(doc_id)))
    if has_app_context():
        g.search_outbox_enqueued = True  # the after-request drain looks at this
