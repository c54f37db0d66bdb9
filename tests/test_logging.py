"""Structured logs (LEARNSPACE_LOG_FORMAT=json): one JSON object a line, request ids, no query strings or people."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

from tests.fixtures.helpers import login
from tests.fixtures.people import give_login
from tests.fixtures.world import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
HEX_ID = re.compile(r"[0-9a-f]{32}")


@contextlib.contextmanager
def logging_unconfigured():
    """Let the app set up the root logger as in a fresh process (pytest's capture handlers set aside meanwhile)."""
    root, werkzeug = logging.getLogger(), logging.getLogger("werkzeug")
    saved, level, werkzeug_level = root.handlers[:], root.level, werkzeug.level
    root.handlers.clear()
    try:
        yield
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
        werkzeug.setLevel(werkzeug_level)


def json_lines(text: str) -> list[dict]:
    """Parse every line; fails on any line that is not one JSON object."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_each_request_logs_one_json_line_without_query_string_or_login_name(make_app, world, capsys):
    with logging_unconfigured():
        app = make_app(env={"LEARNSPACE_LOG_FORMAT": "json"})
        teacher = give_login(app, world.people["teacher_a1"])
        client = app.test_client()
        capsys.readouterr()
        signed_in = login(client, teacher, PASSWORD)
        assert signed_in.status_code == 302
        client.get("/search?q=张三丰的同桌&subject=数学")
        client.get("/lessons/987654?from=王小明")
        logging.getLogger("learnspace.test").warning("outside a request")
    err = capsys.readouterr().err
    lines = json_lines(err)
    requests = [line for line in lines if line["logger"] == "learnspace.request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("GET", "accounts.login", 200), ("POST", "accounts.login", 302), ("GET", "search.index", 200),
        ("GET", "lessons.show", 404)]
    for line in requests:
        assert HEX_ID.fullmatch(line["request_id"]) and line["msg"] == "request" and line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
        assert line["ts"].endswith("+00:00")
    assert len({r["request_id"] for r in requests}) == 4
    outside = [line for line in lines if line["logger"] == "learnspace.test"]
    assert outside and "request_id" not in outside[0]
    # Nothing a pupil typed, no login name, no path with its ids, no address.
    for secret in (teacher, "李老师", "张三丰", "王小明", "?q=", "987654", "127.0.0.1", PASSWORD):
        assert secret not in err, secret


def test_a_well_formed_request_id_is_kept_and_echoed_and_a_bad_one_replaced(make_app, capsys):
    with logging_unconfigured():
        app = make_app(env={"LEARNSPACE_LOG_FORMAT": "json"})
        client = app.test_client()
        capsys.readouterr()
        kept = client.get("/healthz", headers={"X-Request-ID": "9f1c2a7e44b0d6e3a1c5b7d9e2f4a6c8"})
        bad = client.get("/healthz", headers={"X-Request-ID": "evil\" injected=1"})
        long = client.get("/healthz", headers={"X-Request-ID": "a" * 200})
        none = client.get("/healthz")
    assert kept.headers["X-Request-ID"] == "9f1c2a7e44b0d6e3a1c5b7d9e2f4a6c8"
    replaced = [bad.headers["X-Request-ID"], long.headers["X-Request-ID"], none.headers["X-Request-ID"]]
    assert all(HEX_ID.fullmatch(rid) for rid in replaced) and len(set(replaced)) == 3
    logged = [line["request_id"] for line in json_lines(capsys.readouterr().err)
              if line["logger"] == "learnspace.request"]
    assert logged == [kept.headers["X-Request-ID"], *replaced]


def test_text_format_echoes_request_ids_too(app):
    response = app.test_client().get("/healthz", headers={"X-Request-ID": "req-from-nginx-0001"})
    assert response.headers["X-Request-ID"] == "req-from-nginx-0001"


def test_an_unknown_log_format_is_refused_at_start(make_app):
    import pytest

    from learnspace.config import ConfigError

    with pytest.raises(ConfigError, match="LEARNSPACE_LOG_FORMAT"):
        make_app(env={"LEARNSPACE_LOG_FORMAT": "xml"})


def test_the_worker_logs_json_lines_too(app, app_env):
    """``learnspace worker --once`` with LEARNSPACE_LOG_FORMAT=json: every stderr line is JSON, tracebacks included."""
    from learnspace.extensions import db
    from learnspace.jobs import enqueue

    with app.app_context():
        enqueue("lessons.verify_upload", {"file_id": "not-a-number"})  # fails: the worker logs it with a traceback
        db.session.commit()
    env = {**os.environ, **app_env, "PYTHONPATH": str(ROOT), "LEARNSPACE_LOG_FORMAT": "json"}
    done = subprocess.run([sys.executable, "-m", "learnspace.cli", "worker", "--once"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "jobs: 1 run" in done.stdout
    lines = json_lines(done.stderr)
    jobs = [line for line in lines if line["logger"] == "learnspace.jobs.worker"]
    assert jobs, done.stderr
    assert all(line["level"] in ("INFO", "WARNING", "ERROR") for line in jobs)
    failed = [line for line in jobs if "lessons.verify_upload failed (attempt 1 of" in line["msg"]]
    assert failed and "ValueError" in failed[0]["exc"], lines
    assert failed[0]["job_kind"] == "lessons.verify_upload" and isinstance(failed[0]["job_id"], int)


def test_job_fields_stay_on_the_records_of_their_job_only():
    from learnspace import logs

    stamp = logs.RequestIdFilter()

    def record():
        made = logging.LogRecord("learnspace.lessons", logging.INFO, __file__, 1, "upload %s verified", (42,), None)
        stamp.filter(made)
        return json.loads(logs.JsonFormatter().format(made))

    token = logs.push_context(job_id=7, job_kind="lessons.verify_upload")
    try:
        inside = record()
    finally:
        logs.pop_context(token)
    assert inside["job_id"] == 7 and inside["job_kind"] == "lessons.verify_upload" and inside["msg"] == "upload 42 verified"
    assert "job_id" not in record()


def test_an_unexpected_error_shows_its_request_id_which_is_on_the_logged_traceback(make_app, capsys):
    """A teacher reports the 错误编号 on the 500 page; the administrator finds the traceback by it."""
    with logging_unconfigured():
        app = make_app(env={"LEARNSPACE_LOG_FORMAT": "json"})
        app.add_url_rule("/boom", "boom", lambda: 1 / 0)
        capsys.readouterr()
        page = app.test_client().get("/boom")
    assert page.status_code == 500
    rid = page.headers["X-Request-ID"]
    assert f"错误编号：{rid}" in page.get_data(as_text=True)
    logged = [line for line in json_lines(capsys.readouterr().err) if line.get("request_id") == rid]
    assert [line["logger"] for line in logged] == ["learnspace.error_pages", "learnspace.request"]
    assert "ZeroDivisionError" in logged[0]["exc"] and logged[1]["status"] == 500 and logged[1]["level"] == "WARNING"
