#!/usr/bin/env python3
"""Benchmark: what keeping the statistics roll-ups adds to the writes that change them, on PostgreSQL.

The roll-ups are kept in the same transaction as the event (issue 7), so a lesson view recounts its
school's views and adds the difference to the county, city, province and platform rows, and a
person's first action of a day inserts day/week/month marks and bumps their counters. Those rows
are shared: every view in a province updates the same province row. This measures the price, each
case beside a reference doing the same base-table write without the roll-ups, in the same run:

- view: ``lessons.view_counts.record_view`` (a distinct viewer each time) + commit: since issue 16 a view is an
  insert into lesson_views, counted into the roll-ups later in batches, so roll-ups on and off should match;
- first action of a day: ``activity.record`` of a person who has done nothing that day + commit
  (three marks, five units' day/week/month rows);
- repeated action: ``activity.record`` again the same day + commit (the marks exist: nothing to count).

The reference is the same call with the roll-up upkeep switched off (its listeners and the hook
activity.record calls), so the ratio is the roll-ups' share alone; the bare SQL statement on a
connection of its own (``UPDATE lessons SET view_count = view_count + 1``, the ``activity_days``
upsert) is printed too, for the cost of the application around it.

Each case runs with 1 thread and with --threads threads at once (the lessons of 8 schools in 2
counties, so the threads share the city, province and platform rows). Prints operations per second,
p50/p95 latency and the ratios. Figures, not assertions: nothing here fails on a slow machine.

Run:  .venv/bin/python scripts/bench/rollup_writes.py [--ops 400] [--threads 4]
(a throwaway database from scripts/lib.sh, as scripts/bench/stats.py; about a minute)
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from stats import percentile, run_inside_throwaway_database  # noqa: E402  (the same throwaway database)

SCHOOLS = 8


def make_world(people_per_school: int) -> dict:
    """A province, a city, two counties, 8 schools with a teacher and a published lesson each, and pupils."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.orgs import operations as orgs
    from learnspace.spaces import operations as spaces
    from tests.fixtures.lessons import make_chapter

    for code, name in (("430000", "湖南省"), ("430100", "长沙市"), ("430102", "芙蓉区"), ("430103", "天心区")):
        orgs.create_region(code, name)
    chapter = make_chapter()
    lessons, people = [], []
    for i in range(SCHOOLS):
        school = orgs.create_school(f"43010{2 + i % 2}{i:04d}", f"第{i + 1}小学", "小学", f"43010{2 + i % 2}")
        teacher = User(role="teacher", real_name="测试老师", school_id=school.id, teacher_number=f"TB{i:04d}")
        db.session.add(teacher)
        db.session.flush()
        spaces.activate(teacher, "admin")
        lesson = Lesson(title="认识时间", stage=chapter.stage, subject=chapter.subject, grade=chapter.grade,
                        edition=chapter.edition, catalog_node_id=chapter.id, lesson_type="新授课",
                        teacher_id=teacher.id, school_id=school.id, status="published",
                        published_dt=datetime.now(timezone.utc))
        db.session.add(lesson)
        for j in range(people_per_school):
            pupil = User(role="student", real_name="测试学生", school_id=school.id, student_number=f"GB{i:02d}{j:05d}")
            db.session.add(pupil)
            db.session.flush()
            spaces.activate(pupil, "admin")
            people.append(pupil.id)
        db.session.flush()
        lessons.append(lesson.id)
    db.session.commit()
    return {"lessons": lessons, "people": people}


def run(app, threads: int, ops: int, work) -> list[float]:
    """Call work(thread number, op number) *ops* times split over *threads* threads; return latencies (ms)."""
    samples: list[float] = []
    errors: list[str] = []
    barrier = threading.Barrier(threads)

    def worker(n: int) -> None:
        try:
            with app.app_context():
                barrier.wait(30)
                for k in range(n, ops, threads):
                    start = time.perf_counter()
                    work(n, k)
                    samples.append((time.perf_counter() - start) * 1000)
                from learnspace.extensions import db
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(repr(exc))

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise SystemExit(f"benchmark failed: {errors[:3]}")
    samples.append(time.perf_counter() - started)  # the wall clock, popped by the caller
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=400, help="operations per case and thread count")
    parser.add_argument("--threads", type=int, default=4, help="threads of the concurrent runs")
    args = parser.parse_args()
    if not os.environ.get("LEARNSPACE_TEST_POSTGRES_URL"):
        sys.exit(run_inside_throwaway_database())

    url = os.environ["LEARNSPACE_TEST_POSTGRES_URL"]
    work = Path(tempfile.mkdtemp(prefix="ls-bench-rollup-writes-"))
    os.environ.update(LEARNSPACE_VAR_DIR=str(work), LEARNSPACE_DATABASE_URL=url,
                      LEARNSPACE_SEARCH_DIR=str(work / "search"))
    from flask_migrate import upgrade
    from sqlalchemy import create_engine, text

    from learnspace import create_app
    from learnspace.accounts.models import User
    from learnspace.activity import operations as activity
    from learnspace.activity.models import ActivityDay
    from learnspace.extensions import db
    from learnspace.lessons import view_counts
    from learnspace.transactions import conflict_insert

    app = create_app({"STORAGE_BACKEND": "memory"})
    with app.app_context():
        upgrade()
        world = make_world(people_per_school=max(1, 2 * args.ops // SCHOOLS))
    # The references write through their own engine: the roll-up listeners only follow the app's session.
    bare = create_engine(url, pool_size=args.threads + 1)
    lesson_ids, people = world["lessons"], world["people"]
    base_day = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
    first_days = iter(range(10**6))
    lock = threading.Lock()

    def next_day() -> datetime:
        with lock:
            return base_day + timedelta(days=next(first_days))  # never the same person and day twice

    def bare_view(n, k):
        with bare.begin() as conn:
            conn.execute(text("UPDATE lessons SET view_count = view_count + 1 WHERE id = :id"),
                         {"id": lesson_ids[k % SCHOOLS]})

    def app_view(n, k):
        view_counts.record_view(lesson_ids[k % SCHOOLS], f"u{n}-{k}-{next(first_days)}")
        db.session.commit()

    def bare_record(n, k):
        at = next_day()
        stmt = conflict_insert(ActivityDay.__table__).values(
            user_id=people[k % len(people)], day=(at + timedelta(hours=8)).date(), kind="watch", school_id=None,
            count=1, first_dt=at, last_dt=at)
        stmt = stmt.on_conflict_do_update(index_elements=["user_id", "day", "kind"],
                                          set_={"count": ActivityDay.__table__.c.count + 1})
        with bare.begin() as conn:
            conn.execute(stmt)

    def app_first(n, k):
        activity.record(db.session.get(User, people[k % len(people)]), "watch", next_day())
        db.session.commit()

    def app_repeat(n, k):
        activity.record(db.session.get(User, people[k % len(people)]), "watch", base_day)
        db.session.commit()

    cases = [("view", bare_view, app_view), ("first action of a day", bare_record, app_first),
             ("repeated action", bare_record, app_repeat)]
    from learnspace.activity.rollups import upkeep

    def without_rollups(work_fn):
        def call(n, k):
            work_fn(n, k)
        call.off = True
        return call

    def run_case(threads, work_fn):
        """Run one case; a function marked .off runs with the roll-up upkeep switched off."""
        with upkeep.suspended() if getattr(work_fn, "off", False) else contextlib.nullcontext():
            samples = run(app, threads, args.ops, work_fn)
        wall = samples.pop()
        return len(samples) / wall, percentile(samples, 0.5), percentile(samples, 0.95)
    with app.app_context():  # every person acts once on base_day, so the repeated case finds its marks
        for person in people:
            activity.record(db.session.get(User, person), "watch", base_day)
        db.session.commit()
    print(f"PostgreSQL, {SCHOOLS} schools in 2 counties, {len(people):,} pupils with spaces; "
          f"{args.ops} operations per row, one transaction each")
    print()
    print("| write | threads | bare SQL: ops/s (p50) | app, roll-ups off: ops/s | p50 | p95 "
          "| app, roll-ups on: ops/s | p50 | p95 | throughput on ÷ off |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, bare_fn, app_fn in cases:
        for threads in (1, args.threads):
            b_ops, b50, _ = run_case(threads, bare_fn)
            r_ops, r50, r95 = run_case(threads, without_rollups(app_fn))
            m_ops, m50, m95 = run_case(threads, app_fn)
            print(f"| {name} | {threads} | {b_ops:,.0f} ({b50:.1f} ms) | {r_ops:,.0f} | {r50:.1f} ms | {r95:.1f} ms | "
                  f"{m_ops:,.0f} | {m50:.1f} ms | {m95:.1f} ms | {m_ops / r_ops:.2f} |", flush=True)


if __name__ == "__main__":
    main()
