"""The index on disk: generations, the ``current`` link, opening, creating and checking.

Layout of the search directory (``LEARNSPACE_SEARCH_DIR``)::

    current -> gen-20261130T090000-1a2b3c   symlink to the live generation (replaced with os.replace)
    gen-…/                                  one complete Whoosh index per generation
    writer.lock                             flock'ed by the one process that writes (writer_lock below)

A rebuild writes a new generation beside the live one and swaps the link in one
atomic rename, so a search never sees a half-built index. The generation that was
replaced is kept until the next swap, for searchers still reading it; older ones
are removed.

Searching: ``get_searcher()`` returns this thread's reusable Whoosh searcher,
refreshed when the index changed and reopened when the generation changed;
``IndexUnavailable`` when there is no usable index. ``index_version(searcher)``
changes whenever the visible documents may have changed (a result-cache key).
"""
from __future__ import annotations

import fcntl
import logging
import os
import secrets
import shutil
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from flask import current_app
from whoosh import index

from ..extensions import db
from .schema import make_schema

log = logging.getLogger(__name__)

CURRENT = "current"
GEN_PREFIX = "gen-"
#: Whoosh index name inside a generation directory
INDEX_NAME = "lessons"


class IndexUnavailable(Exception):
    """There is no index to search, or it cannot be opened."""


def index_dir() -> Path:
    """Return the search directory (holding generations, the current link and the lock file)."""
    return Path(current_app.config["LEARNSPACE"].search_dir)


def current_dir(root: Path | None = None) -> Path | None:
    """Return the live generation's directory, or None when there is none."""
    root = root or index_dir()
    link = root / CURRENT
    try:
        target = os.readlink(link)
    except OSError:
        return None
    path = root / target
    return path if path.is_dir() else None


def new_generation_dir(root: Path | None = None) -> Path:
    """Create and return an empty directory for a new generation."""
    root = root or index_dir()
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    path = root / f"{GEN_PREFIX}{stamp}-{secrets.token_hex(3)}"
    path.mkdir()
    return path


def create_empty(path: Path):
    """Create an empty index with the current schema in *path* and return it."""
    return index.create_in(str(path), make_schema(), indexname=INDEX_NAME)


def open_dir(path: Path):
    """Open the Whoosh index of generation directory *path*."""
    return index.open_dir(str(path), indexname=INDEX_NAME)


def swap_to(path: Path, root: Path | None = None) -> None:
    """Make generation *path* the live one atomically, then remove generations older than the replaced one."""
    root = root or index_dir()
    previous = current_dir(root)
    tmp = root / f".{CURRENT}.{os.getpid()}.{secrets.token_hex(3)}"
    os.symlink(path.name, tmp)
    os.replace(tmp, root / CURRENT)  # rename(2): readers see the old or the new link, never none
    keep = {path.name} | ({previous.name} if previous is not None else set())
    for old in root.glob(GEN_PREFIX + "*"):
        if old.name not in keep and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
    log.info("search index generation %s is live", path.name)


#: the single-writer lock file in the search directory
LOCK_NAME = "writer.lock"


@contextmanager
def writer_lock(blocking: bool = False, root: Path | None = None) -> Iterator[bool]:
    """Hold the single-writer lock of the search directory; yields whether it was acquired."""
    root = root or index_dir()
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def ensure_index() -> bool:
    """Create an empty live index when none exists; returns True when created."""
    root = index_dir()
    root.mkdir(parents=True, exist_ok=True)
    with writer_lock(blocking=True):
        live = current_dir(root)
        if live is not None and index.exists_in(str(live), indexname=INDEX_NAME):
            return False
        path = new_generation_dir(root)
        create_empty(path)
        swap_to(path, root)
        return True


def schema_outdated() -> bool:
    """Whether the live index lacks a field of today's schema (an upgrade added one: ``reindex`` fills it)."""
    live = current_dir()
    if live is None or not index.exists_in(str(live), indexname=INDEX_NAME):
        return False
    return set(open_dir(live).schema.names()) != set(make_schema().names())


def open_index():
    """Open the live index, or raise IndexUnavailable."""
    live = current_dir()
    if live is None:
        raise IndexUnavailable("no live index generation")
    try:
        return open_dir(live)
    except Exception as exc:  # missing or corrupt files raise many kinds of errors
        raise IndexUnavailable(f"index unreadable: {type(exc).__name__}") from exc


_local = threading.local()


def get_searcher():
    """Return this thread's searcher of the live index, refreshed; raise IndexUnavailable.

    Do not close it: it is reused by the next search on this thread.
    """
    live = current_dir()
    if live is None:
        raise IndexUnavailable("no live index generation")
    cached = getattr(_local, "cached", None)
    try:
        if cached is not None and cached[0] == live:
            searcher, ix = cached[1], cached[2]
            if not searcher.up_to_date():
                # Not searcher.refresh(): whoosh-reloaded's reader reuse keeps a segment reader whose
                # segment only gained deletions, so withdrawn lessons stayed findable (and closing the
                # old searcher after refresh() closed readers the new one shared). Open afresh.
                fresh = ix.searcher()
                _local.cached = (live, fresh, ix)
                searcher.close()
                searcher = fresh
            return searcher
        if cached is not None:
            _local.cached = None
            cached[1].close()
        ix = open_dir(live)
        searcher = ix.searcher()
    except IndexUnavailable:
        raise
    except Exception as exc:
        _local.cached = None
        raise IndexUnavailable(f"index unreadable: {type(exc).__name__}") from exc
    _local.cached = (live, searcher, ix)
    return searcher


def index_version() -> str | None:
    """Return a key of the documents get_searcher() last returned on this thread (generation and commit).

    It changes whenever the searchable documents may have changed: a result-cache key.
    """
    cached = getattr(_local, "cached", None)
    if cached is None:
        return None
    return f"{cached[0].name}:{cached[1].ixreader.generation()}"


def health() -> tuple[bool, str]:
    """Report whether the live index exists and opens, with its size and the outbox backlog."""
    live = current_dir()
    if live is None:
        return False, "index missing; run learnspace init or learnspace reindex"
    try:
        ix = open_dir(live)
        with ix.searcher() as searcher:
            count = searcher.doc_count()
    except Exception as exc:  # corrupt index files raise many kinds of errors
        return False, f"index unreadable: {type(exc).__name__}; run learnspace reindex"
    detail = f"ok ({count} documents, generation {live.name}"
    pending = _pending_outbox()
    if pending:
        detail += f", {pending} changes waiting for the indexer"
    return True, detail + ")"


def _pending_outbox() -> int | None:
    try:
        from .nodes import lag

        return lag()["rows_behind"]
    except Exception:  # the database check reports database trouble; this is only a detail
        try:
            db.session.rollback()
        except Exception:
            pass
        return None
