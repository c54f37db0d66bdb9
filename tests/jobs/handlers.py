"""Job handlers for the tests, registered on import (the worker subprocesses import this module too).

They write to ``job_test_runs``, a table made by the ``runs_table`` fixture: one row per
run of a job that committed, so a count per ``n`` shows how often a job's work took effect.
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest
from flask import has_app_context
from sqlalchemy import text

from learnspace.extensions import db
from learnspace.jobs import Permanent, handler

RECORD = "tests.record"
RECORD_SHORT_LEASE = "tests.record_short_lease"
FAIL = "tests.fail"
PERMANENT = "tests.permanent"
NOOP = "tests.noop"


def _insert(n: int) -> None:
    db.session.execute(text("INSERT INTO job_test_runs (n) VALUES (:n)"), {"n": n})


def record(payload: dict) -> None:
    """Record a run of job n; optionally say it started (a file), wait while a file exists, and sleep.

    ``write_first`` inserts before waiting (a run killed while waiting had written, uncommitted); otherwise the
    insert comes last, so on SQLite the handler holds no write lock while it waits.
    """
    if payload.get("ran_log"):  # outside the transaction: shows every run, also those rolled back
        with open(payload["ran_log"], "a") as log:
            log.write(f"{payload['n']}\n")
    if payload.get("write_first"):
        _insert(payload["n"])
    if payload.get("started"):
        Path(payload["started"]).write_text("started")
    hold = payload.get("hold")
    while hold and Path(hold).exists():
        time.sleep(0.02)
    time.sleep(payload.get("sleep", 0))
    if not payload.get("write_first"):
        _insert(payload["n"])


handler(RECORD)(record)
handler(RECORD_SHORT_LEASE, lease_seconds=1)(record)


@handler(FAIL, max_attempts=3)
def fail(payload: dict) -> None:
    _insert(payload["n"])  # rolled back with the failure
    raise RuntimeError("磁盘暂时不可用")


@handler(PERMANENT)
def permanent(payload: dict) -> None:
    _insert(payload["n"])
    raise Permanent("文件不是视频，无法处理")


@handler(NOOP)
def noop(payload: dict) -> None:
    pass


def runs(app) -> dict[int, int]:
    """Return {n: how many committed runs} (ending the caller's transaction first: on SQLite it holds the lock)."""
    if has_app_context():
        db.session.rollback()
    with app.app_context():
        try:
            return dict(db.session.execute(text("SELECT n, COUNT(*) FROM job_test_runs GROUP BY n")).all())
        finally:
            db.session.remove()


@pytest.fixture
def runs_table(app):
    """Create job_test_runs (not a model: only these tests write it) and drop it afterwards."""
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS job_test_runs"))
            conn.execute(text("CREATE TABLE job_test_runs (n INTEGER NOT NULL)"))
    yield
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS job_test_runs"))
