"""The upload script in README.md ("Uploading from a script") works against a served app and resumes."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.people import PASSWORD, give_login
from tests.lessons.uploads.conftest import MIB, PART, fake_pdf, run_jobs, sha

ROOT = Path(__file__).resolve().parents[3]


def readme_script() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Uploading from a script"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture
def served(uapp):
    """Serve the upload app over real HTTP on 127.0.0.1 (threaded), as a script would reach it."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    server = make_server("127.0.0.1", 0, uapp, threaded=True, request_handler=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def _run(script: Path, env: dict, args: list[str], worker_app) -> subprocess.CompletedProcess:
    """Run the script while this process plays the worker (learnspace worker) for its verification job."""
    proc = subprocess.Popen([sys.executable, str(script), *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        run_jobs(worker_app)
        time.sleep(0.2)
    out, err = proc.communicate(timeout=10)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_the_readme_upload_script_uploads_and_resumes_with_the_missing_parts(uapp, world, served, lesson_id,
                                                                            tmp_path, storage_keys):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    script = tmp_path / "upload.py"
    script.write_text(readme_script(), encoding="utf-8")
    data = fake_pdf(11 * MIB + 3, seed=11)
    source = tmp_path / "第一课 课件.pdf"
    source.write_bytes(data)
    env = {**os.environ, "LS_BASE": served, "LS_LOGIN": give_login(uapp, world.people["teacher_a1"]),
           "LS_PASSWORD": PASSWORD}

    # An earlier run was cut off after part 2 reached MinIO: the marker names its upload.
    from tests.fixtures.people import signed_in
    from tests.lessons.uploads.conftest import Uploader

    teacher = Uploader(signed_in(uapp, env["LS_LOGIN"]))
    body = teacher.start(lesson_id, "courseware", source.name, len(data)).get_json()
    teacher.send_parts(body, data, numbers=[2])
    (tmp_path / (source.name + ".upload-id")).write_text(str(body["id"]))

    done = _run(script, env, [str(lesson_id), "courseware", str(source)], uapp)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"ready {sha(data)}")
    assert "2/2" in done.stdout and "3/3" not in done.stdout  # parts 1 and 3 only: MinIO held part 2
    assert not (tmp_path / (source.name + ".upload-id")).exists()
    with uapp.app_context():
        file = db.session.get(LessonFile, body["id"])  # the same upload, resumed
        assert (file.status, file.sha256, file.size) == ("ready", sha(data), len(data))
        assert b"".join(get_storage().iter_object(file.object_key)) == data
    assert body["part_count"] == 3 and body["part_size"] == PART
