"""Opening, creating and checking the Whoosh index directory."""
from __future__ import annotations

from pathlib import Path

from flask import current_app
from whoosh import index
from whoosh.fields import ID, STORED, TEXT, Schema

#: The lessons issue extends this schema; the foundation only needs an index that opens.
SCHEMA = Schema(lesson_id=ID(stored=True, unique=True), title=TEXT(stored=True), payload=STORED)


def index_dir() -> Path:
    return Path(current_app.config["LEARNSPACE"].search_dir)


def ensure_index() -> bool:
    """Create an empty index when none exists; returns True when created."""
    path = index_dir()
    path.mkdir(parents=True, exist_ok=True)
    if index.exists_in(str(path)):
        return False
    index.create_in(str(path), SCHEMA)
    return True


def health() -> tuple[bool, str]:
    """Report whether the index exists and opens."""
    path = index_dir()
    try:
        if not index.exists_in(str(path)):
            return False, "index missing; run learnspace init"
        ix = index.open_dir(str(path))
        with ix.searcher() as searcher:
            return True, f"ok ({searcher.doc_count()} documents)"
    except Exception as exc:  # corrupt index files raise many kinds of errors
        return False, f"index unreadable: {type(exc).__name__}"
