"""What a running worker does besides jobs (the search drain, beside a long job), and ``learnspace worker --once``."""
from __future__ import annotations

import time

import pytest
from whoosh.qparser import QueryParser

from learnspace.extensions import db
from learnspace.jobs import enqueue, state_of
from learnspace.jobs.cli import worker_command
from tests.fixtures.worker import start_worker_thread
from tests.jobs.handlers import NOOP, RECORD

pytestmark = pytest.mark.usefixtures("runs_table")


def found(title: str) -> list[str]:
    from learnspace.search.generations import open_index

    ix = open_index()
    with ix.searcher() as searcher:
        return sorted(hit["id"] for hit in searcher.search(QueryParser("title", ix.schema).parse(title), limit=None))


def test_the_worker_drains_the_search_outbox_while_a_long_job_runs(app, world, tmp_path):
    from learnspace.search.writer import rebuild
    from tests.fixtures.search import publish_lesson

    started, hold = tmp_path / "started", tmp_path / "hold"
    hold.write_text("")
    with app.app_context():
        rebuild(procs=1)
        enqueue(RECORD, {"n": 1, "started": str(started), "hold": str(hold)}, dedupe_key="long:1")
        db.session.commit()
    stop = start_worker_thread(app, periodic_tasks=True)
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert time.monotonic() < deadline, "the long job did not start"
            time.sleep(0.05)
        with app.app_context():
            lesson_id = publish_lesson(world.people["teacher_a1"], "勾股定理的证明")
            db.session.remove()
            deadline = time.monotonic() + 30
            while found("勾股定理") != [str(lesson_id)]:
                assert time.monotonic() < deadline, "the worker did not index the lesson"
                time.sleep(0.1)
            assert state_of("long:1").state == "running"  # indexed beside the job, not after it
            db.session.rollback()
    finally:
        hold.unlink()
        stop()
    with app.app_context():
        assert state_of("long:1").state == "done"


def test_worker_once_runs_what_is_due_and_exits(app):
    with app.app_context():
        for n in range(3):
            enqueue(NOOP, {"n": n})
        db.session.commit()
    result = app.test_cli_runner().invoke(worker_command, ["--once"])
    assert result.exit_code == 0, result.output
    assert "jobs: 3 run" in result.output
    result = app.test_cli_runner().invoke(worker_command, ["--once"])
    assert "jobs: 0 run" in result.output
