#!/usr/bin/env python3
"""Benchmark: lesson views recorded per viewer and day, counted by the worker in batches (issue 16), on PostgreSQL.

Two figures, in one run on a throwaway database (8 schools in 2 counties, one published lesson each):

- recording: ``view_counts.record_view`` + commit, each a new viewer (the insert that happens on a lesson
  page), 1 thread and --threads threads, all on the SAME lesson (the hot-lesson case that used to queue on
  the lesson's and the roll-ups' row locks); ops/s, p50, p95;
- counting: ``view_counts.count_all()`` over the views just recorded, spread over the 8 lessons (what the
  periodic ``lessons.count_views`` does): views counted per second, and the check that view_count and the
  roll-ups equal the ground truth afterwards.

Run:  .venv/bin/python scripts/bench/views.py [--ops 2000] [--threads 4]
(a throwaway database from scripts/lib.sh, as scripts/bench/stats.py; well under a minute)
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from rollup_writes import SCHOOLS, make_world, run  # noqa: E402
from stats import percentile, run_inside_throwaway_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=2000, help="views per thread count")
    parser.add_argument("--threads", type=int, default=4, help="threads of the concurrent run")
    args = parser.parse_args()
    if not os.environ.get("LEARNSPACE_TEST_POSTGRES_URL"):
        sys.exit(run_inside_throwaway_database())

    url = os.environ["LEARNSPACE_TEST_POSTGRES_URL"]
    work = Path(tempfile.mkdtemp(prefix="ls-bench-views-"))
    os.environ.update(LEARNSPACE_VAR_DIR=str(work), LEARNSPACE_DATABASE_URL=url,
                      LEARNSPACE_SEARCH_DIR=str(work / "search"))
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from learnspace import create_app
    from learnspace.activity import rollups
    from learnspace.extensions import db
    from learnspace.lessons import view_counts
    from learnspace.lessons.models import Lesson

    app = create_app({"STORAGE_BACKEND": "memory"})
    with app.app_context():
        upgrade()
        lesson_ids = make_world(people_per_school=1)["lessons"]

    print(f"PostgreSQL, {SCHOOLS} schools in 2 counties; {args.ops} views per row, one transaction each")
    print()
    print("| recording a view (same lesson) | threads | ops/s | p50 | p95 |")
    print("| --- | --- | --- | --- | --- |")
    for threads in (1, args.threads):
        def view(n, k, threads=threads):
            view_counts.record_view(lesson_ids[0], f"u{threads}-{k}")
            db.session.commit()

        samples = run(app, threads, args.ops, view)
        wall = samples.pop()
        print(f"| insert … ON CONFLICT DO NOTHING + commit | {threads} | {len(samples) / wall:,.0f} | "
              f"{percentile(samples, 0.5):.1f} ms | {percentile(samples, 0.95):.1f} ms |", flush=True)

    with app.app_context():  # a spread backlog: the batch touches every school's roll-ups
        for k in range(args.ops):
            view_counts.record_view(lesson_ids[k % SCHOOLS], f"spread-{k}")
        db.session.commit()
        pending = view_counts.pending_count()
        start = time.perf_counter()
        counted = view_counts.count_all()
        seconds = time.perf_counter() - start
        total = db.session.scalar(select(func.sum(Lesson.view_count)))
        equal = rollups.stored() == rollups.ground_truth()
    print()
    print(f"counting: {counted:,} of {pending:,} pending views in {seconds:.2f} s "
          f"({counted / seconds:,.0f} views/s, batches of {view_counts.BATCH:,}); "
          f"sum of view_count {total:,}; roll-ups equal to the ground truth: {equal}")


if __name__ == "__main__":
    main()
