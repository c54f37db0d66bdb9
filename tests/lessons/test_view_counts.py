"""The worker's view batches: registered as a periodic task, never counting a view twice when workers race."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.fixtures.lessons import make_lesson


def test_the_periodic_task_counts_pending_views_and_a_deleted_lessons_views_are_dropped(app, world):
    from learnspace.extensions import db
    from learnspace.jobs.registry import PERIODIC
    from learnspace.lessons import operations as lessons
    from learnspace.lessons import view_counts
    from learnspace.lessons.models import Lesson

    with app.app_context():
        kept, gone = (make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
                      for _ in range(2))
        for n in range(3):
            view_counts.record_view(kept, f"u{n}")
            view_counts.record_view(gone, f"u{n}")
        assert not view_counts.record_view(kept, "u0")  # the same viewer the same day: nothing added
        lessons.delete_lesson(db.session.get(Lesson, gone))
        db.session.commit()
        PERIODIC["lessons.count_views"].run()
        db.session.expire_all()
        assert db.session.get(Lesson, kept).view_count == 3
        assert view_counts.pending_count() == 0  # the deleted lesson's views are marked, not counted anywhere


def test_two_workers_counting_at_once_count_every_view_exactly_once(app, world):
    """Batches racing (SKIP LOCKED on PostgreSQL, the single writer on SQLite): the sum is the number of views."""
    from learnspace.extensions import db
    from learnspace.lessons import view_counts
    from learnspace.lessons.models import Lesson

    with app.app_context():
        ids = [make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published") for _ in range(3)]
        for k in range(240):
            view_counts.record_view(ids[k % 3], f"u{k}")
        db.session.commit()
    errors = []

    def worker() -> None:
        try:
            with app.app_context():
                while view_counts.count_batch(limit=7):
                    db.session.commit()
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with app.app_context():
        assert db.session.scalar(select(func.sum(Lesson.view_count)).where(Lesson.id.in_(ids))) == 240
        assert view_counts.pending_count() == 0
