"""Applying changes to the index: the outbox drain, the full rebuild, and the one-writer lock.

Exactly one process of a node writes its index at a time. The lock is ``writer.lock`` in the
search directory, taken with ``fcntl.flock``: the kernel drops it when the holder
exits or crashes, so there is nothing stale to clean up. ``drain`` asks for it
without waiting: when another process is writing, that process (or a later drain)
applies the rows, so no caller ever waits on or sees Whoosh's ``LockError``.
``rebuild`` waits for it and holds it from before it reads the database until the
new generation is live, so no change can be applied to the old generation and then
lost in the swap; rows written meanwhile are above the cursor it records.

Each node reads the shared outbox from its own cursor (nodes.py) and leaves the rows for
the other nodes; they are pruned once every node has passed them.

Rows that stand for many documents (a renamed school, teacher or catalogue node; see
documents.register_expander) are expanded first, once for all nodes: in one transaction
the writer inserts a row per affected document and deletes the row it expanded, so the
rename itself wrote one row and the 5,000 lessons of a school are then applied in
ordinary batches.

Order of a drain batch: read outbox rows, then read the documents (so they are at
least as new as the rows), write and commit Whoosh; at the end of the pass record the
cursor. A crash anywhere leaves the cursor behind, and replaying rows is harmless.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections import defaultdict
from typing import Callable, Iterable, Iterator

from sqlalchemy import delete, insert, select
from whoosh.index import LockError

from ..extensions import db
from ..jobs import periodic
from . import generations, nodes
from .analysis import fold, warm_up
from .documents import doc_types, expander_types, get_expander, get_source
from .generations import writer_lock
from .models import SearchOutbox
from .schema import SUMMARY_CHARS

log = logging.getLogger(__name__)

#: outbox rows applied per Whoosh commit
BATCH = 500
#: documents fetched per call of a source's fetch() during a rebuild
REBUILD_CHUNK = 1000
#: a rebuild of at least this many documents writes one segment per worker process in parallel
PARALLEL_FROM = 5000
#: documents handed to a writer process at a time
PARALLEL_BATCH = 250


def document_fields(doc: dict) -> dict:
    """Turn a source's document into the Whoosh fields of learnspace.search.schema."""
    title = doc.get("title") or ""
    teacher = doc.get("teacher_name") or ""
    description = doc.get("description") or ""
    published = doc.get("published_dt")
    node_ids = doc.get("node_ids") or []
    return {
        "id": str(doc["id"]),
        "title": title,
        "chapter": doc.get("chapter") or "",
        "teacher_name": teacher,
        "school_name": doc.get("school_name") or "",
        "description": description,
        "summary": description[:SUMMARY_CHARS],
        "pinyin": f"{title}\n{teacher}",
        "title_exact": fold(title).strip(),
        **{name: str(doc.get(name) or "") for name in (
            "stage", "subject", "grade", "volume", "edition", "lesson_type", "language", "level", "visibility",
            "province_code", "city_code", "county_code")},
        "node_id": str(doc.get("node_id") or (node_ids[-1] if node_ids else "")),
        "node_ids": ",".join(str(i) for i in node_ids),
        "school_id": str(doc.get("school_id") or ""),
        "teacher_id": str(doc.get("teacher_id") or ""),
        "published_ts": int(published.timestamp()) if published is not None else 0,
        "views": int(doc.get("views") or 0),
    }


def build_index(ix, documents: Iterable[dict], *, procs: int = 1, limitmb: int = 256,
                progress: Callable[[int], None] | None = None) -> int:
    """Add *documents* to the (new, empty) Whoosh index *ix* in one writer; return how many.

    The building path of ``rebuild`` and of scripts/bench/search.py. With procs > 1,
    Whoosh analyses in that many worker processes, each writing its own segment; the
    segments are kept as they are (merging them would cost as much as writing them again,
    and a search reads a few segments about as fast as one).
    """
    if procs > 1:
        writer = ix.writer(procs=procs, limitmb=limitmb, multisegment=True, batchsize=PARALLEL_BATCH)
    else:
        writer = ix.writer(limitmb=limitmb)
    count = 0
    try:
        for doc in documents:
            writer.add_document(**document_fields(doc))
            count += 1
            if progress is not None and count % 1000 == 0:
                progress(1000)
        writer.commit(optimize=procs <= 1)
    except BaseException:
        writer.cancel()
        raise
    if progress is not None and count % 1000:
        progress(count % 1000)
    return count


def _apply(ix, rows) -> None:
    wanted: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        wanted[row.doc_type].add(row.doc_id)
    writer = ix.writer()
    try:
        for doc_type, ids in wanted.items():
            docs = get_source(doc_type).fetch(sorted(ids))
            for doc_id in ids:
                doc = docs.get(doc_id)
                if doc is None:
                    writer.delete_by_term("id", str(doc_id))
                else:
                    writer.update_document(**document_fields(doc))
        writer.commit()
    except BaseException:
        writer.cancel()
        raise


def _expand(size: int) -> int:
    """Replace up to *size* rows that stand for many documents by a row per document; return how many.

    Once for all nodes: the rows are claimed with ``FOR UPDATE SKIP LOCKED`` (a node expanding at
    the same moment skips them) and deleted in the transaction that inserts the document rows,
    which every node's cursor then reads like any other change. SQLite runs one writer at a time.
    """
    types = expander_types()
    if not types:
        return 0
    rows = db.session.execute(
        select(SearchOutbox.id, SearchOutbox.doc_type, SearchOutbox.doc_id)
        .where(SearchOutbox.doc_type.in_(types)).order_by(SearchOutbox.id).limit(size)
        .with_for_update(skip_locked=True)).all()
    if not rows:
        db.session.rollback()
        return 0
    ids_by_type: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        ids_by_type[row.doc_type].add(row.doc_id)
    targets: set[tuple[str, int]] = set()
    try:
        for doc_type, ids in ids_by_type.items():
            targets.update(get_expander(doc_type)(sorted(ids)))
        targets = sorted(t for t in targets if get_source(t[0]) is not None)
        for start in range(0, len(targets), 5000):
            db.session.execute(insert(SearchOutbox),
                               [{"doc_type": t, "doc_id": i} for t, i in targets[start:start + 5000]])
        db.session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    log.info("search: expanded %s outbox rows into %s documents", len(rows), len(targets))
    return len(rows)


def drain(limit: int | None = None, *, seconds: float | None = None) -> int:
    """Apply the outbox rows this node has not applied yet; return how many document rows were applied.

    Stops after *limit* rows or, with *seconds*, after the batch that passes that budget (``learnspace
    init`` uses it so a start never waits on a large backlog: the worker applies the rest).
    Returns 0 at once when another process of this node holds the writer lock (it will apply them).
    A node that cannot continue from its cursor (new, emptied, or pruned past) rebuilds first; the
    documents of that rebuild count as applied (with *seconds*, only up to REBUILD_AT_START documents:
    a start leaves a larger rebuild to the worker). See nodes.py for the cursor.
    """
    types = doc_types()
    if not types:
        return 0
    deadline = None if seconds is None else time.monotonic() + seconds
    applied = 0
    try:
        with writer_lock(blocking=False) as acquired:
            if not acquired:
                return 0
            cursor = nodes.load()
            live = generations.current_dir()
            if nodes.needs_rebuild(cursor, live.name if live is not None else None):
                db.session.rollback()
                if seconds is not None and _too_large_to_rebuild_now():
                    log.warning("search: node %s must rebuild its replica; left to its worker", nodes.node_id())
                    return 0
                log.warning("search: node %s cannot continue from its cursor; rebuilding its replica", nodes.node_id())
                applied += _rebuild_locked(None, procs=1)
                cursor, live = nodes.load(), generations.current_dir()
            while (deadline is None or time.monotonic() < deadline) and _expand(BATCH):
                pass  # first, so that the rows the expansion adds are below this pass's head
            pass_head = nodes.head()  # before reading: every row below it is visible to the reads that follow
            db.session.rollback()
            window: dict[int, int] = {}  # rows read at or above the old cursor: id -> position
            after_id, complete, ix = 0, False, None
            while (limit is None or applied < limit) and (deadline is None or time.monotonic() < deadline):
                if _expand(BATCH):
                    continue
                size = BATCH if limit is None else min(BATCH, limit - applied)
                rows = nodes.unapplied(cursor, after_id, size)
                if not rows:
                    complete = True
                    db.session.rollback()  # end the read transaction; nothing was written
                    break
                after_id = rows[-1].id
                window.update((r.id, r.pos) for r in rows)
                todo = [r for r in rows if r.id not in cursor.applied]
                if todo:
                    ix = ix or generations.open_dir(live)
                    try:
                        _apply(ix, todo)
                    finally:
                        db.session.rollback()
                    cursor.applied.update(r.id for r in todo)
                    applied += len(todo)
                else:
                    db.session.rollback()
            moved = nodes.save(cursor, new_position=pass_head if complete else None, window=window,
                               generation=live.name, force=bool(applied))
            if applied and moved:
                nodes.prune()
    except LockError:
        # Only a writer that bypassed writer.lock can hold Whoosh's own lock; leave the rows for later.
        log.warning("search index busy (Whoosh lock held outside writer.lock); %s rows applied", applied)
        db.session.rollback()
    if applied:
        log.info("search: applied %s outbox rows", applied)
    return applied


#: a start (``learnspace init``) rebuilds a replica that must be rebuilt only up to this many documents
REBUILD_AT_START = 20_000


def _too_large_to_rebuild_now() -> bool:
    count = 0
    for doc_type in doc_types():
        for _ in get_source(doc_type).all_ids():
            count += 1
            if count > REBUILD_AT_START:
                db.session.rollback()
                return True
    db.session.rollback()
    return False


#: how long ``learnspace init`` and ``learnspace demo`` apply the outbox before giving the rest to the worker
START_SECONDS = 20.0


def catch_up(seconds: float | None = None) -> tuple[int, int]:
    """Apply the outbox for about *seconds* (START_SECONDS) before the app serves; return (applied, still pending).

    A fresh start (the demo's lessons, a restore) is searchable the moment the app answers; a
    backlog too large for the budget, or a worker already holding the writer lock, is left to
    ``learnspace worker``, which drains from its first moment, so no start waits minutes.
    """
    applied = drain(seconds=START_SECONDS if seconds is None else seconds)
    return applied, pending()


def pending() -> int:
    """Return how many outbox rows this node has still to apply (documents and rows that stand for many)."""
    count = nodes.lag()["rows_behind"]
    db.session.rollback()
    return count


def _all_documents(ids_by_type: dict[str, list[int]]) -> Iterator[dict]:
    for doc_type, ids in ids_by_type.items():
        fetch = get_source(doc_type).fetch
        for start in range(0, len(ids), REBUILD_CHUNK):
            docs = fetch(ids[start:start + REBUILD_CHUNK])
            for doc_id in ids[start:start + REBUILD_CHUNK]:
                doc = docs.get(doc_id)
                if doc is not None:
                    yield doc
            db.session.rollback()  # one short read transaction per chunk, not one for the whole rebuild


def rebuild(progress: Callable[[int, int], None] | None = None, *, procs: int | None = None) -> int:
    """Build a complete new index from the database and swap it in atomically; return the document count.

    *progress(done, total)* is called as documents are added. Searches use the old
    generation until the swap; outbox rows written meanwhile are applied by the next drain.
    """
    with writer_lock(blocking=True):
        return _rebuild_locked(progress, procs=procs)


def _rebuild_locked(progress: Callable[[int, int], None] | None, *, procs: int | None) -> int:
    procs = procs or min(4, os.cpu_count() or 1)
    # The node's new cursor, read before the documents: every change below it is in what follows.
    start = nodes.head()
    # Rows at or above it that are already visible: their changes are committed, so the documents read
    # below include them; recorded as applied so the next drain does not apply them again.
    visible = nodes.visible_from(start)
    db.session.rollback()
    ids_by_type = {doc_type: list(get_source(doc_type).all_ids()) for doc_type in doc_types()}
    total = sum(len(ids) for ids in ids_by_type.values())
    path = generations.new_generation_dir()
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    try:
        ix = generations.create_empty(path)
        count = build_index(ix, _all_documents(ids_by_type), procs=procs if total >= PARALLEL_FROM else 1,
                            progress=step)
        generations.swap_to(path)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    nodes.mark_rebuilt(start, path.name, visible)
    log.info("search: rebuilt the index with %s documents in %s", count, path.name)
    return count


@periodic("search.drain", every_seconds=2.0)
def drain_in_worker() -> None:
    """Apply the outbox from ``learnspace worker`` (what ``learnspace indexer`` does, between jobs)."""
    drain()


def drain_after_request(response):
    """Flask after_request hook: apply the outbox rows this request enqueued (cheap when none)."""
    from flask import current_app, g

    if not g.pop("search_outbox_enqueued", False):
        return response
    try:
        # The view has committed; anything left in its session would be rolled back at teardown
        # anyway. End its transaction now (SQLite: release the write lock it may hold) and drain in
        # a fresh app context, which has its own session, so the request's leftovers are never committed.
        db.session.rollback()
        with current_app.app_context():
            try:
                drain()
            finally:
                db.session.remove()
    except Exception:  # indexing is a side effect; the change is committed and the outbox keeps it
        log.exception("search: drain after request failed; the indexer will retry")
    return response


def init_app(app) -> None:
    """Drain after requests that enqueued search changes; load the dictionaries in the background.

    ``LEARNSPACE_SEARCH_DRAIN_AFTER_REQUEST=0`` turns the drain off: ``learnspace worker`` (which
    scripts/run starts) or ``learnspace indexer`` drains instead. jieba's and pypinyin's dictionaries take about a second to load:
    with ``LEARNSPACE_SEARCH_WARM_UP=1`` (served apps; scripts/run sets it) a background
    thread loads them at start so the first search does not wait; commands and tests,
    which build short-lived apps, leave it off.
    """
    if app.config.get("SEARCH_DRAIN_AFTER_REQUEST", True):
        app.after_request(drain_after_request)
    if app.config.get("SEARCH_WARM_UP", False):
        threading.Thread(target=warm_up, name="search-warm-up", daemon=True).start()
