"""Real ``learnspace worker`` processes on the real database: SIGTERM, SIGKILL mid-job, two workers at once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from learnspace.extensions import db
from learnspace.jobs import enqueue, state_of
from learnspace.jobs.models import Job, JobWorker
from tests.jobs.handlers import RECORD, RECORD_SHORT_LEASE, runs

ROOT = Path(__file__).resolve().parents[2]
#: the console script, with the test handlers registered first (they live in tests/, not in the app)
WORKER = ("import sys, tests.jobs.handlers; from learnspace.cli import main; "
          "main(['worker', *sys.argv[1:]], prog_name='learnspace')")

pytestmark = pytest.mark.usefixtures("runs_table")


@pytest.fixture
def workers(app_env, tmp_path):
    """Start ``learnspace worker`` processes: start(name) -> Popen; all are killed at the end."""
    started = []

    def start(name: str) -> subprocess.Popen:
        env = {**os.environ, **app_env, "PYTHONPATH": str(ROOT)}
        log = open(tmp_path / f"{name}.log", "wb")
        proc = subprocess.Popen([sys.executable, "-c", WORKER, "--name", name, "--poll", "0.05"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
        proc.log_path = tmp_path / f"{name}.log"
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def wait_for(condition, what: str, timeout: float = 60, procs=()) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for proc in procs:
            assert proc.poll() is None, f"worker exited early: {proc.log_path.read_text(errors='replace')[-3000:]}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def fresh(app, query):
    with app.app_context():
        try:
            return db.session.execute(query).all()
        finally:
            db.session.remove()


def job_state(app, key: str):
    with app.app_context():
        try:
            return state_of(key)
        finally:
            db.session.remove()


def add_jobs(app, kind: str, payloads: list[dict], key=None) -> None:
    with app.app_context():
        for payload in payloads:
            enqueue(kind, payload, dedupe_key=key(payload) if key else None)
        db.session.commit()
        db.session.remove()


def test_sigterm_lets_the_current_job_finish_then_the_worker_exits(app, workers, tmp_path):
    started, hold = tmp_path / "started", tmp_path / "hold"
    hold.write_text("")
    add_jobs(app, RECORD, [{"n": 1, "started": str(started), "hold": str(hold)}], key=lambda p: "rec:1")
    worker = workers("w-term")
    wait_for(started.exists, "the job to start", procs=[worker])
    add_jobs(app, RECORD, [{"n": 2}], key=lambda p: "rec:2")  # due, but after SIGTERM the worker takes no more
    worker.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    assert worker.poll() is None  # still finishing job 1
    hold.unlink()
    assert worker.wait(30) == 0, worker.log_path.read_text(errors="replace")[-3000:]
    assert (job_state(app, "rec:1").state, job_state(app, "rec:1").attempts) == ("done", 1)
    assert job_state(app, "rec:2").state == "queued"
    assert runs(app) == {1: 1}
    assert fresh(app, select(JobWorker.name)) == []  # a stopped worker removes its heartbeat row
    assert "SIGTERM received; stopping after the current job" in worker.log_path.read_text(errors="replace")


def test_a_job_whose_worker_is_killed_mid_job_is_taken_again_after_its_lease_and_done_once(app, workers, tmp_path):
    started, hold = tmp_path / "started", tmp_path / "hold"
    hold.write_text("")
    # The killed run has written its row (uncommitted) before it waits; only the second run's row may count.
    add_jobs(app, RECORD_SHORT_LEASE, [{"n": 1, "started": str(started), "hold": str(hold), "write_first": True}],
             key=lambda p: "kill:1")
    doomed = workers("w-doomed")
    wait_for(started.exists, "the job to start", procs=[doomed])
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(10)
    job = job_state(app, "kill:1")
    assert (job.state, job.attempts) == ("running", 1)
    hold.unlink()
    rescuer = workers("w-rescuer")
    wait_for(lambda: job_state(app, "kill:1").state == "done", "the job to be taken again", procs=[rescuer])
    rescuer.send_signal(signal.SIGTERM)
    assert rescuer.wait(30) == 0
    job = job_state(app, "kill:1")
    assert (job.state, job.attempts, job.last_error) == ("done", 2, None)
    assert fresh(app, select(Job.locked_by)) == [("w-rescuer",)]
    assert runs(app) == {1: 1}


def test_two_worker_processes_run_each_of_200_jobs_exactly_once(app, workers, tmp_path):
    """Each handler ran once (a log written outside the transaction) and its work was committed once."""
    ran_log = tmp_path / "ran.log"
    procs = [workers("w-one"), workers("w-two")]
    wait_for(lambda: len(fresh(app, select(JobWorker.name))) == 2, "both workers to report", procs=procs)
    add_jobs(app, RECORD, [{"n": n, "sleep": 0.005, "ran_log": str(ran_log)} for n in range(200)])
    wait_for(lambda: fresh(app, select(func.count()).where(Job.state == "done"))[0][0] == 200,
             "all 200 jobs to be done", timeout=180, procs=procs)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        assert proc.wait(30) == 0
    assert sorted(int(line) for line in ran_log.read_text().split()) == list(range(200))
    assert runs(app) == {n: 1 for n in range(200)}
    assert fresh(app, select(Job.state, Job.attempts, func.count()).group_by(Job.state, Job.attempts)) == \
        [("done", 1, 200)]
    by_worker = dict(fresh(app, select(Job.locked_by, func.count()).group_by(Job.locked_by)))
    assert set(by_worker) == {"w-one", "w-two"}, by_worker  # both took part
