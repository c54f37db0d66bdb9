"""MinIO dies in the middle of an upload: clear 503s, nothing ready without a verified object, and recovery.

These tests start a MinIO of their own (the session's must stay up for everyone
else) and kill it with SIGKILL: between parts, around CompleteMultipartUpload,
and while the worker reads the object back. Then they restart it on the same
port and data directory and show that the upload resumes and the file becomes
ready, or that the worker's job can be retried.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.minio_process import MinioProcess
from tests.fixtures.people import give_login, signed_in
from tests.lessons.uploads.conftest import MIB, PART, Uploader, fake_pdf, put_part, run_jobs, sha, sha256_b64

pytestmark = pytest.mark.minio_only  # a MinIO of their own, killed: the s3-alt step need not run them again

STORAGE_DOWN = "存储服务暂时不可用，已上传的分段不会丢失。请稍后重试，上传会从中断处继续。"
VERIFY_STORAGE_DOWN = "存储服务暂时不可用，文件校验没有完成。"


@pytest.fixture
def own_minio(tmp_path):
    server = MinioProcess(tmp_path / "minio-data").start()
    yield server
    server.stop()


@pytest.fixture
def kill_app(make_app, own_minio):
    app = make_app(env={**own_minio.app_env(bucket="learnspace-kill"), "LEARNSPACE_UPLOAD_CHUNK_BYTES": str(PART)})
    from learnspace.storage import get_storage

    with app.app_context():
        get_storage().ensure_bucket()
    return app


@pytest.fixture
def kteacher(kill_app, world):
    return Uploader(signed_in(kill_app, give_login(kill_app, world.people["teacher_a1"])))


@pytest.fixture
def klesson(kill_app, world):
    from tests.fixtures.lessons import make_lesson

    with kill_app.app_context():
        return make_lesson(world.people["teacher_a1"], world.schools["a1"])


def _no_ready_row_without_its_verified_object(app, server):
    """The invariant: every ready row's object exists in MinIO with the recorded size and SHA-256."""
    import hashlib

    from sqlalchemy import select

    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    assert server.is_live()
    with app.app_context():
        for file in db.session.scalars(select(LessonFile).where(LessonFile.status == "ready")):
            data = b"".join(get_storage().iter_object(file.object_key))
            assert len(data) == file.size and hashlib.sha256(data).hexdigest() == file.sha256, file


def _keys(app, prefix=""):
    from learnspace.storage import get_storage

    with app.app_context():
        return get_storage().list_keys(prefix)


def _down(response):
    assert response.status_code == 503 and response.get_json() == {"error": STORAGE_DOWN}, response.get_json()
    return True


def test_minio_down_at_start_leaves_no_row(kill_app, own_minio, kteacher, klesson):
    own_minio.kill()
    assert _down(kteacher.start(klesson, "courseware", "课件.pdf", 11 * MIB))
    from sqlalchemy import func, select

    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with kill_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LessonFile)) == 0


def test_minio_dies_between_parts_then_the_upload_resumes(kill_app, own_minio, kteacher, klesson):
    data = fake_pdf(11 * MIB)
    body = kteacher.start(klesson, "courseware", "课件.pdf", len(data)).get_json()
    kteacher.send_parts(body, data, numbers=[1])
    second = data[PART:2 * PART]
    url = kteacher.part_urls(body["id"], [{"number": 2, "sha256": sha256_b64(second)}]).get_json()["urls"]["2"]

    own_minio.kill()
    with pytest.raises(Exception):  # the browser's PUT finds nobody listening
        put_part(url, data[PART:2 * PART])
    assert _down(kteacher.status(body["id"]))
    assert _down(kteacher.complete(body["id"]))

    own_minio.start()
    state = kteacher.status(body["id"]).get_json()
    assert (state["status"], state["parts"]) == ("uploading", [1])  # MinIO kept part 1 across the crash
    assert put_part(url, data[PART:2 * PART]).status == 200  # the URL from before still works
    kteacher.send_parts(body, data, numbers=[3])
    assert kteacher.complete(body["id"]).status_code == 202
    run_jobs(kill_app)
    assert kteacher.status(body["id"]).get_json()["sha256"] == sha(data)
    _no_ready_row_without_its_verified_object(kill_app, own_minio)


def test_minio_dies_around_complete_then_complete_is_asked_again(kill_app, own_minio, kteacher, klesson,
                                                                  monkeypatch):
    from learnspace.storage import StorageError, get_storage

    with kill_app.app_context():
        multipart = get_storage().multipart
    join = multipart.complete
    data = fake_pdf(11 * MIB, seed=5)
    before = kteacher.start(klesson, "lesson_plan", "教学设计.pdf", len(data)).get_json()
    after = kteacher.start(klesson, "exercises", "练习.pdf", len(data)).get_json()
    for body in (before, after):
        kteacher.send_parts(body, data)

    # 1. Killed after ListParts, before CompleteMultipartUpload reaches it.
    def die_first(*args, **kwargs):
        own_minio.kill()
        return join(*args, **kwargs)

    monkeypatch.setattr(multipart, "complete", die_first)
    assert _down(kteacher.complete(before["id"]))
    # 2. MinIO joins the parts and dies before its answer gets back.
    def join_then_die(*args, **kwargs):
        join(*args, **kwargs)
        own_minio.kill()
        raise StorageError("connection reset by peer")

    own_minio.start()
    monkeypatch.setattr(multipart, "complete", join_then_die)
    assert _down(kteacher.complete(after["id"]))
    monkeypatch.undo()
    own_minio.start()

    for body in (before, after):
        state = kteacher.status(body["id"]).get_json()
        assert (state["status"], state["parts"]) == ("uploading", [1, 2, 3])
        assert kteacher.complete(body["id"]).status_code == 202
    assert run_jobs(kill_app) == 2
    for body in (before, after):
        assert kteacher.status(body["id"]).get_json()["sha256"] == sha(data)
    _no_ready_row_without_its_verified_object(kill_app, own_minio)
    with kill_app.app_context():
        assert get_storage().list_incomplete_uploads() == []


def _backoff_passes(app) -> None:
    """Let queued jobs waiting out their backoff pause (15 s, 30 s, …) run now, as if the pause had passed."""
    from sqlalchemy import update

    from learnspace.db import utcnow
    from learnspace.extensions import db
    from learnspace.jobs.models import Job

    with app.app_context():
        db.session.execute(update(Job).where(Job.state == "queued").values(run_after_dt=utcnow()))
        db.session.commit()


def test_minio_dies_while_the_worker_verifies_then_the_job_is_retried(kill_app, own_minio, kteacher, klesson,
                                                                     monkeypatch):
    from learnspace.lessons.reconcile import reconcile
    from learnspace.storage import get_storage

    data = fake_pdf(11 * MIB, seed=6)
    body = kteacher.start(klesson, "courseware", "课件.pdf", len(data)).get_json()
    kteacher.send_parts(body, data)
    assert kteacher.complete(body["id"]).status_code == 202

    with kill_app.app_context():
        storage = get_storage()
    read = storage.iter_object

    def read_then_die(key, block_size):
        blocks = read(key, block_size)
        yield next(blocks)
        own_minio.kill()
        yield from blocks

    monkeypatch.setattr(storage, "iter_object", read_then_die)
    for _ in range(10):  # every attempt runs (its backoff pause passed at once); MinIO stays down
        _backoff_passes(kill_app)
        if run_jobs(kill_app) == 0:
            break
    monkeypatch.undo()
    state = kteacher.status(body["id"]).get_json()  # answered from the database alone
    assert state["status"] == "verifying" and state["sha256"] is None
    job = state["job"]
    assert job["state"] == "failed" and job["attempts"] == 5  # lessons.verify_upload's max_attempts
    assert job["last_error"] == VERIFY_STORAGE_DOWN
    own_minio.start()
    assert len(_keys(kill_app, "lessons/")) == 1  # the object is kept for the next attempt
    _no_ready_row_without_its_verified_object(kill_app, own_minio)

    # the worker gave up: the page offers 重试, and reconcile would queue it again
    with kill_app.app_context():
        assert reconcile(dry_run=True, older_than=timedelta(0)).requeued == [body["id"]]
    retried = kteacher.retry(body["id"])
    assert retried.status_code == 202 and retried.get_json()["job"]["state"] == "queued"
    again = kteacher.retry(body["id"])  # queued already: nothing to retry
    assert again.status_code == 409 and "无需重试" in again.get_json()["error"]
    _backoff_passes(kill_app)
    assert run_jobs(kill_app) >= 1
    state = kteacher.status(body["id"]).get_json()
    assert state["status"] == "ready" and state["sha256"] == sha(data) and state["job"] is None
    nothing = kteacher.retry(body["id"])
    assert nothing.status_code == 409 and nothing.get_json()["error"] == "这个文件没有需要重试的处理。"
    _no_ready_row_without_its_verified_object(kill_app, own_minio)


def test_an_upload_cannot_be_cancelled_while_minio_is_down_and_can_be_afterwards(kill_app, own_minio, kteacher,
                                                                                 klesson):
    """Cancelling aborts the multipart upload first: a row gone with its upload left in MinIO would be lost."""
    from learnspace.storage import get_storage

    data = fake_pdf(11 * MIB, seed=7)
    body = kteacher.start(klesson, "exercises", "练习.pdf", len(data)).get_json()
    kteacher.send_parts(body, data, numbers=[1])
    own_minio.kill()
    assert _down(kteacher.delete(body["id"]))
    own_minio.start()
    assert kteacher.status(body["id"]).get_json()["parts"] == [1]  # nothing was lost meanwhile
    assert kteacher.delete(body["id"]).status_code == 200
    with kill_app.app_context():
        assert get_storage().list_incomplete_uploads() == []
    assert _keys(kill_app) == []
