"""Several processes publishing lessons and draining the outbox at once never fail, and the index ends right.

Three worker processes (each its own app, engine and connection pool, like three
gunicorn workers) share the test database (SQLite or PostgreSQL) and one search
directory. Each publishes its own lessons, edits and withdraws some, commits, and
drains the outbox after every commit, all starting at the same moment. Whoosh
allows one writer per index; the indexer's lock must turn a busy index into
"leave the rows for the other drainer", never into a LockError or any other error.
Afterwards one more drain (the indexer worker's next tick) leaves the outbox
empty and the index holding exactly the published lessons with their current titles.
"""
from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import select

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
LESSONS_PER_WORKER = 8


def worker(lesson_ids: list[int], start_at: float) -> None:
    """Publish, edit and withdraw *lesson_ids*, committing and draining after each change (run in a subprocess)."""
    from learnspace import create_app
    from learnspace.extensions import db
    from learnspace.lessons import operations as lessons
    from learnspace.search import writer

    app = create_app({"TESTING": True})
    drained = 0
    with app.app_context():
        db.session.execute(select(1))  # connect before the start line, so all three begin together
        time.sleep(max(0.0, start_at - time.time()))
        for i, lesson_id in enumerate(lesson_ids):
            lesson = lessons.get_lesson(lesson_id)
            lessons.publish(lesson)
            db.session.commit()
            drained += writer.drain()
            if i % 3 == 0:
                lessons.update_lesson(lesson, title=f"勾股定理 并发 {lesson_id}")
                db.session.commit()
                drained += writer.drain()
            if i % 4 == 1:
                lessons.withdraw(lesson)
                db.session.commit()
                drained += writer.drain()
        db.session.remove()
    print(json.dumps({"drained": drained}))


def _make_lessons(count: int) -> list[int]:
    """Draft public lessons of the world's teacher, each with a ready recording so it can be published."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson, LessonFile
    from tests.fixtures.lessons import make_lesson

    teacher = db.session.scalar(select(User).where(User.real_name == "李老师"))
    ids = []
    for n in range(count):
        lesson_id = make_lesson(teacher.id, teacher.school_id, visibility="public")
        db.session.get(Lesson, lesson_id).title = f"认识时间 并发 {n}"
        db.session.add(LessonFile(lesson_id=lesson_id, kind="recording", object_key=f"lessons/{lesson_id}/rec",
                                  original_name="课堂实录.mp4", content_type="video/mp4", size=1, status="ready"))
        ids.append(lesson_id)
    db.session.commit()
    return ids


def _indexed_titles(viewer_search) -> dict[int, str]:
    """Every lesson in the index with its stored title, read through the query API as an anonymous visitor."""
    from learnspace.search.query import Viewer

    found: dict[int, str] = {}
    page = 1
    while True:
        result = viewer_search(Viewer(None, None, None), q="", sort="newest", page=page, per_page=50)
        assert result.message is None, result.message
        for hit in result.hits:
            title = hit.get("title") or html.unescape(re.sub(r"</?mark>", "", hit["title_html"]))
            found[int(hit["id"])] = title
        if page >= result.pages:
            return found
        page += 1


def test_concurrent_publishing_and_draining_never_fails_and_index_matches(app, world, make_app, tmp_path):
    """Three processes publishing and draining together: no LockError or other error; index == published lessons."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.search import writer
    from learnspace.search.generations import ensure_index
    from learnspace.search.query import search

    search_dir = tmp_path / "search"  # this test's own index, shared by the three workers and the checks
    checker = make_app(env={"LEARNSPACE_SEARCH_DIR": str(search_dir)})
    with checker.app_context():
        ensure_index()
        ids = _make_lessons(WORKERS * LESSONS_PER_WORKER)

    env = {**os.environ, "LEARNSPACE_SEARCH_DIR": str(search_dir), "PYTHONPATH": str(ROOT)}
    start_at = time.time() + 4  # time for three interpreters to import the app
    procs = []
    for w in range(WORKERS):
        mine = ids[w::WORKERS]
        code = f"from tests.search.test_concurrency import worker; worker({mine!r}, {start_at!r})"
        procs.append(subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    outputs = [proc.communicate(timeout=180) for proc in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, f"worker failed:\n{err[-3000:]}"
        assert "LockError" not in err and "Traceback" not in err, err[-3000:]
    drained_by_workers = sum(json.loads(out.strip().splitlines()[-1])["drained"] for out, _ in outputs)

    with checker.app_context():
        writer.drain()  # the indexer worker's next tick picks up rows a busy moment left behind
        assert writer.pending() == 0
        published = {lesson.id: lesson.title for lesson in db.session.scalars(
            select(Lesson).where(Lesson.id.in_(ids), Lesson.status == "published"))}
        indexed = _indexed_titles(search)
        db.session.remove()

    assert drained_by_workers > 0  # the workers themselves indexed, not only the final drain
    assert len(published) == WORKERS * LESSONS_PER_WORKER - len([i for i in range(LESSONS_PER_WORKER) if i % 4 == 1]) * WORKERS
    assert indexed == published
