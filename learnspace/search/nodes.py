"""Several app nodes: each keeps its own search replica and reads the shared outbox from its own cursor.

A node is named by ``LEARNSPACE_NODE_ID`` (default: host name and a hash of its search
directory, so two nodes on one machine with two var dirs differ and a restart keeps the name).
Its row in ``search_nodes`` holds a *cursor*: every outbox row whose position is below it is
in the replica. Outbox rows are not deleted when one node applies them; ``prune`` deletes
rows every registered node has passed, and rows older than the retention whatever the nodes
say (a node that still needed one loses its cursor and rebuilds from the database).

The position of a row, and why not simply its id: on PostgreSQL ids come from a sequence
when a transaction inserts, but transactions commit in any order, so a row with a lower id
can become visible after a higher one was read, and "id > cursor" would skip it forever.
So each row records the id of the transaction that wrote it (``txid``, filled by the server),
and a pass first reads the snapshot's ``xmin``: every transaction below it has finished, so
all of their rows are visible to the pass. After a complete pass the cursor becomes that
``xmin``. Rows at or above the cursor (transactions that were still running, or newer) are
read again by the next pass; ``applied_ids`` lists the ones already applied, so each is
applied once (and applying twice would only re-read the same documents: harmless). A long
transaction anywhere on the server holds ``xmin`` back, which only widens that window.
On SQLite writers run one at a time, so ids become visible in order; the position is the id
(AUTOINCREMENT, never reused after pruning) and the same code reads ``id >= cursor``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, text, update

from ..db import utcnow
from ..extensions import db
from .documents import doc_types, expander_types
from .models import SearchNode, SearchOutbox

log = logging.getLogger(__name__)

#: at most this many applied-row ids are stored beside a cursor; beyond, they are applied again later
APPLIED_CAP = 10_000
#: an idle node still records that it is alive (and moves its cursor) this often
HEARTBEAT = timedelta(seconds=30)


def node_id() -> str:
    """Return this app node's name (``LEARNSPACE_NODE_ID``)."""
    return current_app.config["LEARNSPACE"].node_id


def retention() -> timedelta:
    """Return how long outbox rows are kept for nodes that have not applied them."""
    return timedelta(days=current_app.config["LEARNSPACE"].search_outbox_retention_days)


def _postgres() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def position():
    """The column that orders outbox rows for cursors: the writing transaction (PostgreSQL) or the id."""
    return SearchOutbox.txid if _postgres() else SearchOutbox.id


def head() -> int:
    """Return a position every row of a finished transaction is below; rows at or above it may still come."""
    if _postgres():
        return int(db.session.scalar(text("SELECT (pg_snapshot_xmin(pg_current_snapshot())::text)::bigint")))
    return int(db.session.scalar(select(func.coalesce(func.max(SearchOutbox.id), 0)))) + 1


@dataclass
class Cursor:
    """A node's place in the outbox, as loaded from its row."""

    node_id: str
    position: int | None
    applied: set[int] = field(default_factory=set)
    generation: str | None = None
    seen_dt: datetime | None = None


def load() -> Cursor | None:
    """Return this node's cursor, or None when the node has no row (never built here, or forgotten)."""
    row = db.session.execute(select(SearchNode.cursor, SearchNode.applied_ids, SearchNode.generation,
                                    SearchNode.seen_dt).where(SearchNode.node_id == node_id())).first()
    if row is None:
        return None
    applied = {int(i) for i in (row.applied_ids or "").split(",") if i}
    return Cursor(node_id(), row.cursor, applied, row.generation, row.seen_dt)


def needs_rebuild(cursor: Cursor | None, generation: str | None) -> bool:
    """Whether the replica cannot continue from its cursor: unknown node, pruned past it, or another replica."""
    return cursor is None or cursor.position is None or generation is None or cursor.generation != generation


def unapplied(cursor: Cursor, after_id: int, size: int) -> list:
    """Return up to *size* document rows at or above the cursor with an id above *after_id*, by id."""
    pos = position()
    return db.session.execute(
        select(SearchOutbox.id, SearchOutbox.doc_type, SearchOutbox.doc_id, pos.label("pos"))
        .where(SearchOutbox.doc_type.in_(doc_types()), pos >= cursor.position, SearchOutbox.id > after_id)
        .order_by(SearchOutbox.id).limit(size)).all()


def _ids_text(ids) -> str:
    if len(ids) <= APPLIED_CAP:
        return ",".join(str(i) for i in sorted(ids))
    # Only a transaction left open for long on the database server keeps this many rows above the cursor.
    log.warning("search: %s applied outbox rows above node %s's cursor, more than are recorded; they will be "
                "applied again (look for a long-open transaction in pg_stat_activity)", len(ids), node_id())
    return ""


def all_nodes() -> list[dict]:
    """Return every registered node: id, cursor, last pass, last rebuild (for ``learnspace search-nodes``)."""
    rows = db.session.execute(select(SearchNode).order_by(SearchNode.node_id)).scalars().all()
    return [{"node_id": r.node_id, "cursor": r.cursor, "seen_dt": r.seen_dt, "rebuilt_dt": r.rebuilt_dt,
             "generation": r.generation} for r in rows]


def forget_all() -> int:
    """Delete every node's cursor (a restored database names the old environment's replicas); return how many."""
    return db.session.execute(delete(SearchNode)).rowcount or 0


def save(cursor: Cursor, *, new_position: int | None, window: dict[int, int] | None, generation: str,
         force: bool = False) -> bool:
    """Record the cursor after a drain; returns False when a prune took it meanwhile (the node rebuilds next).

    *new_position* set (a complete pass): the cursor moves there and only the applied rows of
    *window* (id -> position) at or above it stay listed. Otherwise only the applied ids grow.
    Idle passes write at most every HEARTBEAT unless *force*.
    """
    now = utcnow()
    if new_position is not None:
        applied = {i for i, pos in (window or {}).items() if pos >= new_position and i in cursor.applied}
    else:
        applied = cursor.applied
    if not force and cursor.seen_dt is not None and now - cursor.seen_dt < HEARTBEAT:
        return True
    values = {"applied_ids": _ids_text(applied), "generation": generation, "seen_dt": now}
    if new_position is not None:
        values["cursor"] = new_position
    done = db.session.execute(
        update(SearchNode).where(SearchNode.node_id == cursor.node_id, SearchNode.cursor == cursor.position)
        .values(**values)).rowcount
    db.session.commit()
    cursor.applied, cursor.seen_dt = applied, now
    if new_position is not None and done:
        cursor.position = new_position
    return bool(done)


def visible_from(position_: int) -> set[int]:
    """Return the ids of the document rows at or above *position_* visible now (at most APPLIED_CAP + 1)."""
    return set(db.session.scalars(select(SearchOutbox.id).where(
        SearchOutbox.doc_type.in_(doc_types()), position() >= position_).limit(APPLIED_CAP + 1)))


def mark_rebuilt(position_: int, generation: str, applied: set[int] = frozenset()) -> None:
    """Record that replica *generation* holds every change below *position_* and the rows *applied*; commits."""
    row = db.session.get(SearchNode, node_id())
    now = utcnow()
    if row is None:
        row = SearchNode(node_id=node_id())
        db.session.add(row)
    row.cursor, row.applied_ids, row.generation = position_, _ids_text(applied), generation
    row.seen_dt = row.rebuilt_dt = now
    db.session.commit()


def prune(keep: timedelta | None = None) -> int:
    """Delete outbox rows every node has applied, and rows older than *keep*; return how many. Commits.

    A node whose cursor is below a row removed for its age has its cursor cleared: it rebuilds
    its replica from the database instead of missing that change. Rows that stand for many
    documents (renames) are left: expanding deletes them.
    """
    keep = retention() if keep is None else keep
    pos = position()
    documents = SearchOutbox.doc_type.in_(doc_types())
    removed = 0
    old = and_(documents, SearchOutbox.created_dt < utcnow() - keep)
    newest_old = db.session.scalar(select(func.max(pos)).where(old))
    if newest_old is not None:
        for row in db.session.execute(select(SearchNode.node_id, SearchNode.cursor, SearchNode.applied_ids)
                                      .where(SearchNode.cursor <= newest_old)).all():
            needed = and_(old, pos >= row.cursor)
            applied = [int(i) for i in (row.applied_ids or "").split(",") if i]
            if applied:
                needed = and_(needed, SearchOutbox.id.not_in(applied))
            if db.session.scalar(select(func.count()).where(needed)):
                db.session.execute(update(SearchNode).where(SearchNode.node_id == row.node_id)
                                   .values(cursor=None, applied_ids=""))
        removed += db.session.execute(delete(SearchOutbox).where(old)).rowcount
    lowest = db.session.scalar(select(func.min(SearchNode.cursor)).where(SearchNode.cursor.is_not(None)))
    if lowest is not None:
        removed += db.session.execute(delete(SearchOutbox).where(documents, pos < lowest)).rowcount
    db.session.commit()
    return removed


def _waiting(cursor: Cursor | None):
    """The where-clause of rows this node has still to apply: rows that stand for many, and documents past it."""
    if cursor is None or cursor.position is None:
        return SearchOutbox.doc_type.in_(doc_types() + expander_types())
    documents = and_(SearchOutbox.doc_type.in_(doc_types()), position() >= cursor.position)
    if cursor.applied:
        documents = and_(documents, SearchOutbox.id.not_in(sorted(cursor.applied)))
    return or_(SearchOutbox.doc_type.in_(expander_types() or ["-"]), documents)


def waiting_rows() -> list[tuple[str, int]]:
    """Return (doc_type, doc_id) of the rows this node has still to apply, oldest first."""
    return [tuple(r) for r in db.session.execute(
        select(SearchOutbox.doc_type, SearchOutbox.doc_id).where(_waiting(load())).order_by(SearchOutbox.id))]


def lag() -> dict:
    """Return this node's distance from the outbox head: rows and seconds behind, last pass, node id."""
    cursor = load()
    now = utcnow()
    body = {"node_id": node_id(), "rows_behind": 0, "seconds_behind": 0,
            "rebuild_needed": cursor is None or cursor.position is None,
            "last_pass_seconds_ago": None if cursor is None else round((now - cursor.seen_dt).total_seconds(), 1)}
    rows, oldest = db.session.execute(
        select(func.count(), func.min(SearchOutbox.created_dt)).where(_waiting(cursor))).one()
    body["rows_behind"] = int(rows or 0)
    if oldest is not None:
        body["seconds_behind"] = max(0, round((now - oldest).total_seconds(), 1))
    return body
