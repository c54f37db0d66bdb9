"""A student watches a recording in Chromium while the erasure-coded MinIO under it loses a drive.

The app is served for real against a MinIO of this test's own over four drive
folders (``scripts/run --minio-drives 4``); the student's phone plays the
lesson's recording from presigned URLs, one drive's folder is wiped, and the
student seeks and keeps watching. MinIO then heals the empty drive by itself.
"""
from __future__ import annotations

import shutil
import threading
import time

import pytest

from tests.e2e.harness import PHONE, Visit, sign_in
from tests.fixtures.media import make_mp4, store_ready_file
from tests.fixtures.minio_process import MinioProcess
from tests.fixtures.people import give_login

pytestmark = [pytest.mark.e2e, pytest.mark.minio_only]

BUCKET = "learnspace-e2e-drives"


@pytest.fixture
def ec_server(make_app, tmp_path):
    """A 4-drive MinIO and the app served over HTTP against it; yields (minio, app, base URL)."""
    from werkzeug.serving import make_server

    minio = MinioProcess(tmp_path / "minio", drives=4).start()
    app = make_app(env={**minio.app_env(bucket=BUCKET), "LEARNSPACE_PLAYBACK_MODE": "presign"})
    from learnspace.storage import get_storage

    with app.app_context():
        get_storage().ensure_bucket()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield minio, app, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    minio.stop()


def test_a_student_keeps_watching_while_a_minio_drive_is_lost(ec_server, world, browser, shots, tmp_path):
    from tests.fixtures.lessons import make_lesson

    minio, app, base = ec_server
    video = make_mp4(tmp_path / "课堂实录.mp4", seconds=8).read_bytes()
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        file_id = store_ready_file(lesson_id, video)
        from learnspace.extensions import db
        from learnspace.lessons.models import LessonFile

        key = db.session.get(LessonFile, file_id).object_key
    login = give_login(app, world.people["student_a1"])
    student = Visit(browser, base, shots, PHONE, "phone", allow=(f"http://{minio.endpoint}",))
    try:
        page = sign_in(student, login, "Passw0rd-test")
        page.goto(f"/lessons/{lesson_id}")
        page.wait_for_function("() => document.querySelector('video.player').readyState >= 1", timeout=20_000)

        lost = minio.drive_dirs()[2]
        shutil.rmtree(lost)  # the drive dies with all it held...
        lost.mkdir()  # ...and an empty one takes its place
        seeked = page.evaluate("""() => new Promise(resolve => {
            const video = document.querySelector('video.player');
            video.addEventListener('seeked', () => resolve(video.currentTime), {once: true});
            video.currentTime = 5;
        })""")
        assert seeked == pytest.approx(5, abs=0.5)
        page.evaluate("() => { const v = document.querySelector('video.player'); v.muted = true; return v.play(); }")
        page.wait_for_function("() => document.querySelector('video.player').currentTime > 5.5", timeout=15_000)
        assert page.evaluate("() => document.querySelector('video.player').error") is None
        student.shot("watching-with-a-drive-lost")

        deadline = time.monotonic() + 40  # MinIO looks for new drives every 10 s
        while not list((lost / BUCKET / key).glob("*/part.1")):
            assert time.monotonic() < deadline, "the new drive was not healed within 40 s"
            time.sleep(0.5)
        page.reload()
        page.wait_for_function("() => document.querySelector('video.player').readyState >= 1", timeout=20_000)
        student.shot("after-healing")
    finally:
        problems = list(student.problems)
        student.close()
    assert not problems, "\n".join(problems)
