"""The durable job queue on the real database: enqueue in the caller's transaction, dedupe, run, retry, fail."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from learnspace.db import utcnow
from learnspace.errors import Conflict
from learnspace.extensions import db
from learnspace.jobs import enqueue, run_due, state_of
from learnspace.jobs import operations as jobs
from learnspace.jobs.models import Job, JobWorker
from learnspace.jobs.worker import Worker
from tests.jobs.handlers import FAIL, NOOP, PERMANENT, RECORD, RECORD_SHORT_LEASE, runs

pytestmark = pytest.mark.usefixtures("runs_table")


def job_rows() -> list[Job]:
    db.session.rollback()
    return list(db.session.scalars(select(Job).order_by(Job.id)))


def make_due(key: str) -> None:
    """Move a job's backoff into the past (instead of waiting for it)."""
    db.session.execute(update(Job).where(Job.dedupe_key == key).values(run_after_dt=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def test_backoff_doubles_from_15_seconds_up_to_an_hour():
    assert [jobs.backoff_seconds(n) for n in range(1, 11)] == [15, 30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_job_exists_only_once_the_callers_transaction_commits(app, ctx):
    enqueue(RECORD, {"n": 1}, dedupe_key="rec:1")
    db.session.rollback()
    assert state_of("rec:1") is None and job_rows() == []
    enqueue(RECORD, {"n": 1}, dedupe_key="rec:1")
    db.session.commit()
    job = state_of("rec:1")
    assert (job.state, job.attempts, job.last_error, job.payload) == ("queued", 0, None, {"n": 1})
    assert job.run_after <= utcnow()


def test_an_unknown_kind_is_refused():
    with pytest.raises(KeyError):
        enqueue("nobody.handles.this", {})


def test_run_due_runs_the_handler_and_commits_its_work_with_done(app, ctx):
    for n in (1, 2, 3):
        enqueue(RECORD, {"n": n}, dedupe_key=f"rec:{n}")
    db.session.commit()
    assert run_due() == 3
    assert run_due() == 0
    assert runs(app) == {1: 1, 2: 1, 3: 1}
    assert [(j.state, j.attempts, j.locked_until_dt) for j in job_rows()] == [("done", 1, None)] * 3


def test_run_due_stops_at_the_limit(app, ctx):
    for n in range(4):
        enqueue(NOOP, {"n": n})
    db.session.commit()
    assert run_due(limit=3) == 3
    assert [j.state for j in job_rows()] == ["done"] * 3 + ["queued"]


def test_a_live_job_with_the_same_key_is_not_added_twice_but_a_finished_one_is(app, ctx):
    enqueue(RECORD, {"n": 1}, dedupe_key="upload:1")
    enqueue(RECORD, {"n": 1}, dedupe_key="upload:1")  # same transaction
    db.session.commit()
    enqueue(RECORD, {"n": 1}, dedupe_key="upload:1")  # later transaction
    db.session.commit()
    assert len(job_rows()) == 1
    run_due()
    enqueue(RECORD, {"n": 1}, dedupe_key="upload:1")  # done: a new job
    db.session.commit()
    assert [j.state for j in job_rows()] == ["done", "queued"]
    assert state_of("upload:1").id == job_rows()[1].id


def test_two_transactions_enqueueing_the_same_key_at_once_add_one_job(app, make_app):
    """The second insert meets the first one's uncommitted row (PostgreSQL waits on it, SQLite on the lock)."""
    other = make_app()
    first_added = threading.Event()
    errors = []

    def add(which, first):
        try:
            with which.app_context():
                if not first:
                    first_added.wait(10)
                enqueue(RECORD, {"n": 7}, dedupe_key="upload:7")
                if first:
                    first_added.set()
                    time.sleep(0.3)  # the other transaction's insert is under way now
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(a, a is app)) for a in (app, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with app.app_context():
        assert len(job_rows()) == 1


def test_a_failing_job_is_retried_with_backoff_then_fails_and_its_work_is_rolled_back(app, ctx):
    enqueue(FAIL, {"n": 5}, dedupe_key="fail:5")
    db.session.commit()
    before = utcnow()
    assert run_due() == 1
    job = state_of("fail:5")
    assert (job.state, job.attempts) == ("queued", 1)
    assert job.last_error == "RuntimeError: 磁盘暂时不可用"
    assert before + timedelta(seconds=14) < job.run_after < utcnow() + timedelta(seconds=16)
    assert run_due() == 0  # not due yet
    make_due("fail:5")
    before = utcnow()
    run_due()
    job = state_of("fail:5")
    assert (job.state, job.attempts) == ("queued", 2)
    assert before + timedelta(seconds=29) < job.run_after < utcnow() + timedelta(seconds=31)
    make_due("fail:5")
    run_due()
    job = state_of("fail:5")
    assert (job.state, job.attempts) == ("failed", 3)  # max_attempts=3
    make_due("fail:5")
    assert run_due() == 0
    assert runs(app) == {}


def test_permanent_fails_at_once_with_its_message(app, ctx):
    enqueue(PERMANENT, {"n": 1}, dedupe_key="perm:1")
    db.session.commit()
    assert run_due() == 1
    job = state_of("perm:1")
    assert (job.state, job.attempts, job.last_error) == ("failed", 1, "文件不是视频，无法处理")
    assert runs(app) == {}


def test_retry_queues_a_failed_job_again_with_fresh_attempts(app, ctx):
    enqueue(PERMANENT, {"n": 1}, dedupe_key="perm:1")
    db.session.commit()
    run_due()
    job_id = state_of("perm:1").id
    jobs.retry(job_id)
    db.session.commit()
    assert (state_of("perm:1").state, state_of("perm:1").attempts) == ("queued", 0)
    with pytest.raises(Conflict):
        jobs.retry(job_id)  # not failed any more
    db.session.rollback()


def test_retry_is_refused_while_another_job_with_the_key_is_live(app, ctx):
    enqueue(PERMANENT, {"n": 1}, dedupe_key="perm:1")
    db.session.commit()
    run_due()
    failed_id = state_of("perm:1").id
    enqueue(PERMANENT, {"n": 1}, dedupe_key="perm:1")
    db.session.commit()
    with pytest.raises(Conflict, match="已有一个排队中或运行中的任务"):
        jobs.retry(failed_id)
    db.session.rollback()


def test_a_job_whose_lease_ran_out_is_taken_again_and_the_old_worker_cannot_finish_it(app, ctx):
    enqueue(RECORD, {"n": 1}, dedupe_key="rec:1")
    db.session.commit()
    ghost = jobs.claim("ghost:1", [RECORD])
    db.session.commit()
    assert ghost.attempts == 1
    assert jobs.claim("other:1", [RECORD]) is None  # leased
    db.session.rollback()
    db.session.execute(update(Job).values(locked_until_dt=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert run_due() == 1
    job = state_of("rec:1")
    assert (job.state, job.attempts) == ("done", 2)
    assert jobs.finish(ghost) is False  # the dead worker's late "done" matches nothing
    assert jobs.fail(ghost, "late") is None
    db.session.rollback()
    assert runs(app) == {1: 1}


def test_a_job_whose_worker_died_on_every_attempt_fails_instead_of_running_again(app, ctx):
    enqueue(FAIL, {"n": 1}, dedupe_key="fail:1")
    db.session.commit()
    db.session.execute(update(Job).values(state="running", attempts=3, locked_by="ghost",
                                          locked_until_dt=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert run_due() == 0
    job = state_of("fail:1")
    assert job.state == "failed" and job.last_error == "工作进程在运行中中断（已尝试 3 次），不再自动重试"


def test_the_lease_heartbeat_keeps_a_long_job_from_being_taken(app, ctx, tmp_path):
    """A 1-second lease on a 2.5-second job: the heartbeat extends it, so a second worker never gets it."""
    started = tmp_path / "started"
    enqueue(RECORD_SHORT_LEASE, {"n": 1, "sleep": 2.5, "started": str(started)}, dedupe_key="long:1")
    db.session.commit()
    first = threading.Thread(target=Worker(app, name="first", periodic_tasks=False, beat_seconds=None).run_due)
    first.start()
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert started.exists()
    second = Worker(app, name="second", periodic_tasks=False, beat_seconds=None)
    stolen = 0
    deadline = time.monotonic() + 3.5
    while time.monotonic() < deadline and first.is_alive():
        stolen += second.run_due()
        time.sleep(0.1)
    first.join(10)
    assert stolen == 0
    job = state_of("long:1")
    assert (job.state, job.attempts) == ("done", 1)
    assert runs(app) == {1: 1}


def test_the_admin_lists_and_counts(app, ctx):
    enqueue(PERMANENT, {"n": 1}, dedupe_key="perm:1")
    enqueue(NOOP, {"n": 2})
    db.session.commit()
    run_due(limit=1)
    assert jobs.counts() == {"queued": 1, "running": 0, "done": 0, "failed": 1}
    assert [j.kind for j in jobs.list_jobs()] == [NOOP, PERMANENT]
    assert [j.kind for j in jobs.list_jobs(("failed",))] == [PERMANENT]


def test_done_jobs_and_old_worker_rows_are_pruned_after_the_keeping_time(app, ctx):
    enqueue(NOOP, {})
    enqueue(NOOP, {})
    db.session.commit()
    run_due()
    db.session.execute(update(Job).where(Job.id == job_rows()[0].id)
                       .values(finished_dt=utcnow() - timedelta(days=15)))
    db.session.commit()
    jobs.beat("killed:1")
    jobs.beat("alive:1")
    db.session.execute(update(JobWorker).where(JobWorker.name == "killed:1")
                       .values(seen_dt=utcnow() - timedelta(days=15)))
    db.session.commit()
    assert jobs.prune(timedelta(days=14)) == 1
    db.session.commit()
    assert len(job_rows()) == 1
    assert db.session.scalars(select(JobWorker.name)).all() == ["alive:1"]


def test_the_worker_thread_fixture_runs_jobs_as_they_are_committed(app, ctx, worker_thread):
    enqueue(RECORD, {"n": 9}, dedupe_key="rec:9")
    db.session.commit()
    deadline = time.monotonic() + 20
    while state_of("rec:9").state != "done":
        db.session.rollback()
        assert time.monotonic() < deadline, "the worker thread did not run the job"
        time.sleep(0.05)
    assert runs(app) == {9: 1}
    assert db.session.scalar(select(Job.locked_by)) == worker_thread.name


def test_an_idle_worker_polls_without_writing(app, ctx):
    """Polling an empty queue only reads (on SQLite a write would take the lock; the test snapshots notice writes)."""
    from sqlalchemy import event

    statements = []

    def note(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement.split(None, 1)[0].upper())

    worker = Worker(app, name="idle", periodic_tasks=False, beat_seconds=None)
    event.listen(db.engine, "before_cursor_execute", note)
    try:
        assert worker.run_due() == 0
        assert worker.run_due() == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    assert statements and set(statements) <= {"SELECT", "BEGIN"}, statements
    enqueue(NOOP, {})
    db.session.commit()
    assert worker.run_due() == 1  # a due job is seen and claimed
