#!/usr/bin/env python3
"""Benchmark: no-op jobs per second through real ``learnspace worker`` processes, on SQLite and PostgreSQL.

For each database: start 1 (then 2) worker processes (the real console command, with a
no-op handler "bench.noop" registered first), wait until they report (heartbeat rows),
enqueue N no-op jobs in one transaction, and wait until all are done. The rate is N over
the span from the first claim to the last "done" (``started_dt``/``finished_dt`` on the
rows, so neither process start-up nor this script's polling counts).

A job costs the worker two transactions: the claim (find the next due job, mark it
running) and the handler's unit of work (mark it done, commit). The reference, measured
in the same run on the same database, is the least SQL doing that: a bare loop of two
single-row UPDATE transactions per row (``queued`` -> ``running`` -> ``done``) on one
connection, with no SELECT, no ORM and no Python around it. The ratio is what the
queue's bookkeeping costs above the commits themselves.

SQLite is a new file under a temporary folder (WAL, synchronous=FULL, BEGIN IMMEDIATE:
learnspace.db's settings). PostgreSQL is LEARNSPACE_TEST_POSTGRES_URL, whose tables
this script drops and recreates (Alembic), or a throwaway database from scripts/lib.sh.
Figures, not assertions: nothing here fails on a slow machine.

Run:  .venv/bin/python scripts/bench/jobs.py [--n 2000] [--only sqlite|postgresql]
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts" / "bench"))

from stats import run_inside_throwaway_database  # noqa: E402  (the same throwaway database)

#: the console command, with the no-op handler registered first
WORKER = ("import sys; from learnspace.jobs import handler; handler('bench.noop')(lambda payload: None); "
          "from learnspace.cli import main; main(['worker', '--poll', '0.01', '--name', sys.argv[1]], "
          "prog_name='learnspace')")


def app_for(url: str, work: Path):
    os.environ.update(LEARNSPACE_VAR_DIR=str(work), LEARNSPACE_DATABASE_URL=url,
                      LEARNSPACE_SEARCH_DIR=str(work / "search"))
    from learnspace import create_app

    return create_app({"STORAGE_BACKEND": "memory"})


def fresh_schema(app) -> None:
    from flask_migrate import downgrade, upgrade

    with app.app_context():
        if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
            downgrade(revision="base")
        upgrade()


def reference(app, n: int) -> float:
    """Rows per second of the bare loop: two single-row UPDATE transactions per row."""
    from sqlalchemy import text

    from learnspace.extensions import db

    with app.app_context():
        engine = db.engine
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS bench_reference"))
            conn.execute(text("CREATE TABLE bench_reference (id INTEGER PRIMARY KEY, state VARCHAR(10) NOT NULL)"))
            conn.execute(text("INSERT INTO bench_reference (id, state) VALUES (:id, 'queued')"),
                         [{"id": i} for i in range(n)])
        started = time.perf_counter()
        with engine.connect() as conn:
            for i in range(n):
                for state in ("running", "done"):
                    with conn.begin():
                        conn.execute(text("UPDATE bench_reference SET state = :s WHERE id = :id"),
                                     {"s": state, "id": i})
        elapsed = time.perf_counter() - started
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE bench_reference"))
    return n / elapsed


def through_workers(app, n: int, processes: int, env: dict, logs: Path) -> tuple[float, dict]:
    """Jobs per second of *processes* worker processes running *n* no-op jobs; also jobs per worker."""
    from sqlalchemy import delete, func, select

    from learnspace.extensions import db
    from learnspace.jobs import enqueue, handler
    from learnspace.jobs.models import Job, JobWorker

    handler("bench.noop")(lambda payload: None)
    with app.app_context():
        db.session.execute(delete(Job))
        db.session.execute(delete(JobWorker))
        db.session.commit()
        db.session.remove()
    procs = []
    try:
        for k in range(processes):
            log = open(logs / f"worker-{processes}-{k}.log", "wb")
            procs.append(subprocess.Popen([sys.executable, "-c", WORKER, f"bench-{k}"], cwd=ROOT, env=env,
                                          stdout=log, stderr=subprocess.STDOUT))
        with app.app_context():
            deadline = time.monotonic() + 120
            while db.session.scalar(select(func.count()).select_from(JobWorker)) < processes:
                db.session.rollback()
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise SystemExit(f"the workers did not start; see {logs}")
                time.sleep(0.1)
            db.session.rollback()
            for i in range(n):
                enqueue("bench.noop", {"i": i})
            db.session.commit()
            while db.session.scalar(select(func.count()).where(Job.state == "done")) < n:
                db.session.rollback()
                if any(p.poll() is not None for p in procs):
                    raise SystemExit(f"a worker died; see {logs}")
                time.sleep(0.2)
            first, last = db.session.execute(select(func.min(Job.started_dt), func.max(Job.finished_dt))).one()
            per_worker = dict(db.session.execute(select(Job.locked_by, func.count()).group_by(Job.locked_by)).all())
            db.session.remove()
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)
    return n / (last - first).total_seconds(), per_worker


def bench(label: str, url: str, n: int) -> list[tuple]:
    work = Path(tempfile.mkdtemp(prefix=f"ls-bench-jobs-{label}-"))
    if url.startswith("sqlite:///") and url == "sqlite:///":
        url = f"sqlite:///{work / 'bench.db'}"
    app = app_for(url, work)
    fresh_schema(app)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LEARNSPACE_DATABASE_URL": url, "LEARNSPACE_VAR_DIR": str(work),
           "LEARNSPACE_SEARCH_DIR": str(work / "search"),
           # the workers' app checks that MinIO credentials are set; no-op jobs never reach MinIO
           "LEARNSPACE_MINIO_ACCESS_KEY": "bench", "LEARNSPACE_MINIO_SECRET_KEY": "bench-not-used"}
    bare = reference(app, n)
    rows = [(label, "bare loop: 2 UPDATE transactions per row", bare, 1.0, "")]
    for processes in (1, 2):
        rate, per_worker = through_workers(app, n, processes, env, work)
        split = " + ".join(str(c) for _, c in sorted(per_worker.items()))
        rows.append((label, f"{processes} worker process{'es' if processes > 1 else ''}", rate, rate / bare,
                     f"jobs per worker {split}"))
    print(f"  ({label}: logs in {work})", file=sys.stderr)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="jobs per run (default 2000)")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), default=None)
    args = parser.parse_args()
    if args.only != "sqlite" and not os.environ.get("LEARNSPACE_TEST_POSTGRES_URL"):
        sys.exit(run_inside_throwaway_database())
    rows = []
    if args.only in (None, "sqlite"):
        rows += bench("SQLite", "sqlite:///", args.n)
    if args.only in (None, "postgresql"):
        rows += bench("PostgreSQL", os.environ["LEARNSPACE_TEST_POSTGRES_URL"], args.n)
    print(f"\nNo-op jobs through `learnspace worker`, {args.n} jobs per run, cores: {os.cpu_count()}")
    print(f"{'database':<11} {'what':<42} {'per s':>8} {'× bare':>7}  notes")
    for label, what, rate, ratio, note in rows:
        print(f"{label:<11} {what:<42} {rate:>8,.0f} {ratio:>7.2f}  {note}")


if __name__ == "__main__":
    main()
