"""Lesson views: one per viewer, lesson and China day, recorded without locks and counted in batches.

A lesson page view inserts one ``lesson_views`` row (ON CONFLICT DO NOTHING: reloads and parallel tabs add
nothing) and touches no shared row, so a popular lesson's viewers never wait for each other. The worker's
periodic task ``lessons.count_views`` adds the rows not yet counted to ``lessons.view_count`` (through the
ORM, so the statistics roll-ups follow in the same transaction, once per batch and school) and deletes
the rows of days before yesterday. Until then a view is "pending": lessons.view_count and the statistics
show the counted views only, and always agree with each other.
"""
from __future__ import annotations

import logging
import secrets
from collections import Counter
from datetime import timedelta

from sqlalchemy import delete, func, select, update

from ..china_time import local_day
from ..db import utcnow
from ..extensions import db
from ..jobs import periodic
from ..search.outbox import enqueue as enqueue_for_search
from ..transactions import conflict_insert
from .models import Lesson, LessonView

log = logging.getLogger(__name__)

#: the anonymous visitor's cookie: a random id and nothing else, kept a year
VISITOR_COOKIE = "learnspace_visitor"
VISITOR_COOKIE_SECONDS = 365 * 24 * 3600
#: views counted per transaction of the batch task (each batch settles the roll-ups once per school)
BATCH = 5000
#: at most this many batches per run of the task; the rest waits for the next run
MAX_BATCHES = 20
#: the search index's view counts are refreshed on every batch below this, then when a multiple of it is passed
VIEWS_PER_INDEX_REFRESH = 20


def new_visitor_id() -> str:
    """Return a fresh random id for an anonymous visitor's cookie (not derived from anything about them)."""
    return secrets.token_hex(16)


def viewer_key(user_id: int | None, visitor_id: str | None) -> str | None:
    """Return the dedupe key of a signed-in person or of an anonymous visitor's cookie id (None: neither)."""
    if user_id is not None:
        return f"u{user_id}"
    if visitor_id and len(visitor_id) == 32 and all(c in "0123456789abcdef" for c in visitor_id):
        return f"a{visitor_id}"
    return None


def record_view(lesson_id: int, viewer: str, user_id: int | None = None, at=None) -> bool:
    """Record that *viewer* opened the lesson today (China time); return False if they already had."""
    row = {"lesson_id": lesson_id, "day": local_day(at or utcnow()), "viewer": viewer, "user_id": user_id,
           "counted": False}
    # RETURNING, not rowcount: psycopg reports -1 for this statement here (PostgreSQL and SQLite ≥ 3.35 return it).
    inserted = db.session.execute(conflict_insert(LessonView.__table__).values(**row)
                                  .on_conflict_do_nothing(index_elements=["lesson_id", "day", "viewer"])
                                  .returning(LessonView.__table__.c.id)).first()
    return inserted is not None


def pending_count(lesson_id: int | None = None) -> int:
    """Count the views recorded but not yet added to lessons.view_count (of one lesson, or of all)."""
    stmt = select(func.count()).select_from(LessonView).where(LessonView.counted.is_(False))
    if lesson_id is not None:
        stmt = stmt.where(LessonView.lesson_id == lesson_id)
    return db.session.scalar(stmt)


def count_batch(limit: int = BATCH) -> int:
    """Add up to *limit* pending views to their lessons' view_count (the caller commits); return how many."""
    stmt = (select(LessonView.id, LessonView.lesson_id).where(LessonView.counted.is_(False))
            .order_by(LessonView.id).limit(limit))
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)  # two workers take different rows, never the same twice
    rows = db.session.execute(stmt).all()
    if not rows:
        return 0
    per_lesson = Counter(lesson_id for _, lesson_id in rows)
    # Lessons in id order, so two batches lock them in the same order; a deleted lesson's views just go.
    for lesson in db.session.scalars(select(Lesson).where(Lesson.id.in_(sorted(per_lesson))).order_by(Lesson.id)):
        before = lesson.view_count or 0
        lesson.view_count = Lesson.view_count + per_lesson[lesson.id]  # in SQL: a view written meanwhile stays
        # The index shows exact counts while they are small, then every VIEWS_PER_INDEX_REFRESH views:
        # a popular lesson is not re-indexed on every batch.
        after = before + per_lesson[lesson.id]
        if before < VIEWS_PER_INDEX_REFRESH or after // VIEWS_PER_INDEX_REFRESH > before // VIEWS_PER_INDEX_REFRESH:
            enqueue_for_search("lesson", lesson.id)
    db.session.flush()
    ids = [row_id for row_id, _ in rows]
    for start in range(0, len(ids), 1000):  # bound the IN list (SQLite's variable limit)
        db.session.execute(update(LessonView).where(LessonView.id.in_(ids[start:start + 1000]))
                           .values(counted=True).execution_options(synchronize_session=False))
    return len(rows)


def prune(today=None) -> int:
    """Delete the counted rows of days before yesterday (they no longer dedupe anything); return how many."""
    keep_from = (today or local_day(utcnow())) - timedelta(days=1)
    return db.session.execute(delete(LessonView).where(LessonView.day < keep_from, LessonView.counted.is_(True))
                              .execution_options(synchronize_session=False)).rowcount


def count_all(limit: int = BATCH, max_batches: int | None = None) -> int:
    """Count pending views batch by batch, committing each, then prune; return how many were counted."""
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        done = count_batch(limit)
        db.session.commit()
        total, batches = total + done, batches + 1
        if done < limit:
            break
    prune()
    db.session.commit()
    return total


@periodic("lessons.count_views", every_seconds=10)
def _count_views() -> None:
    counted = count_all(max_batches=MAX_BATCHES)
    if counted:
        log.info("lesson views: %s counted", counted)
