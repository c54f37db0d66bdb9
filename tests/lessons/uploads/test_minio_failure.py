"""MinIO dies in the middle of an upload: clear 503s, no ready row without its object, and recovery.

These tests start a MinIO of their own (the session's must stay up for everyone
else) and kill it with SIGKILL: between chunks, in the middle of the server-side
compose, and while the joined object is read back for its SHA-256. Then they
restart it on the same port and data directory and show the upload resumes, or
that reconcile cleans what is left.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.fixtures.minio_process import MinioProcess
from tests.fixtures.people import give_login, signed_in
from tests.lessons.uploads.conftest import CHUNK, MIB, Uploader, fake_pdf, sha

STORAGE_DOWN = "存储服务暂时不可用，已上传的分块不会丢失。请稍后重试，上传会从中断处继续。"


@pytest.fixture
def own_minio(tmp_path):
    server = MinioProcess(tmp_path / "minio-data").start()
    yield server
    server.stop()


@pytest.fixture
def kill_app(make_app, own_minio):
    app = make_app(env={**own_minio.app_env(bucket="learnspace-kill"), "LEARNSPACE_UPLOAD_CHUNK_BYTES": str(CHUNK)})
    from learnspace.storage import get_storage

    with app.app_context():
        get_storage().ensure_bucket()
    return app


@pytest.fixture
def kteacher(kill_app, world):
    return Uploader(signed_in(kill_app, give_login(kill_app, world.people["teacher_a1"])))


def _no_ready_row_without_its_object(app, server):
    """The invariant: every ready row's object exists in MinIO with the recorded size."""
    from sqlalchemy import select

    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    assert server.is_live()
    with app.app_context():
        for file in db.session.scalars(select(LessonFile).where(LessonFile.status == "ready")):
            assert get_storage().stat(file.object_key).size == file.size, file


def _keys(app, prefix=""):
    from learnspace.storage import get_storage

    with app.app_context():
        return get_storage().list_keys(prefix)


def test_minio_dies_between_chunks_then_the_upload_resumes(kill_app, own_minio, kteacher, world):
    from tests.fixtures.lessons import make_lesson

    with kill_app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    data = fake_pdf(11 * MIB)
    file_id = kteacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()["id"]
    assert kteacher.put(file_id, 0, data[:CHUNK]).status_code == 200

    own_minio.kill()
    down = kteacher.put(file_id, 1, data[CHUNK:2 * CHUNK])
    assert down.status_code == 503 and down.get_json() == {"error": STORAGE_DOWN}
    state = kteacher.status(file_id)  # the database still answers what was received
    assert state.status_code == 200 and state.get_json()["received"] == [0]
    assert kteacher.complete(file_id).status_code == 409  # chunks missing: not even tried

    own_minio.start()
    for index in (1, 2):
        assert kteacher.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK]).status_code == 200
    done = kteacher.complete(file_id)
    assert done.status_code == 200 and done.get_json()["sha256"] == sha(data)
    _no_ready_row_without_its_object(kill_app, own_minio)
    assert _keys(kill_app, "uploads/") == []


def test_minio_dies_during_complete_then_complete_is_retried(kill_app, own_minio, kteacher, world, monkeypatch):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage
    from tests.fixtures.lessons import make_lesson

    with kill_app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
        storage = get_storage()
    data = fake_pdf(11 * MIB, seed=5)
    file_id = kteacher.start(lesson_id, "lesson_plan", "教学设计.pdf", len(data)).get_json()["id"]
    for index in range(3):
        assert kteacher.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK]).status_code == 200

    # 1. Killed in the middle of the server-side compose: after its first part was copied.
    copy_part = storage.client._upload_part_copy

    def copy_then_die(*args, **kwargs):
        result = copy_part(*args, **kwargs)
        own_minio.kill()
        return result

    monkeypatch.setattr(storage.client, "_upload_part_copy", copy_then_die)
    cut = kteacher.complete(file_id)
    monkeypatch.undo()
    assert cut.status_code == 503 and cut.get_json() == {"error": STORAGE_DOWN}
    assert kteacher.status(file_id).get_json()["status"] == "verifying"
    own_minio.start()
    _no_ready_row_without_its_object(kill_app, own_minio)
    with kill_app.app_context():
        from learnspace.lessons.reconcile import reconcile

        key = db.session.get(LessonFile, file_id).object_key
        assert [u.key for u in storage.list_incomplete_uploads(keys=[key])] == [key]  # the compose cut short
        assert reconcile(dry_run=True, older_than=timedelta(0)).multipart == [key]  # reconcile would find it

    # 2. Killed while the joined object is read back for its SHA-256.
    read = storage.iter_object

    def read_then_die(key, block_size):
        blocks = read(key, block_size)
        yield next(blocks)
        own_minio.kill()
        yield from blocks

    monkeypatch.setattr(storage, "iter_object", read_then_die)
    cut = kteacher.complete(file_id)
    monkeypatch.undo()
    assert cut.status_code == 503 and cut.get_json() == {"error": STORAGE_DOWN}
    own_minio.start()
    _no_ready_row_without_its_object(kill_app, own_minio)

    # 3. MinIO is back: the same complete finishes, and cleans up after the two failed attempts.
    done = kteacher.complete(file_id)
    assert done.status_code == 200 and done.get_json()["status"] == "ready"
    assert done.get_json()["sha256"] == sha(data)
    _no_ready_row_without_its_object(kill_app, own_minio)
    with kill_app.app_context():
        assert storage.list_incomplete_uploads(keys=[key]) == []
    assert _keys(kill_app) == _keys(kill_app, f"lessons/{lesson_id}/files/") and len(_keys(kill_app)) == 1


def test_an_upload_abandoned_while_minio_was_down_is_cleaned_by_reconcile(kill_app, own_minio, kteacher, world):
    from learnspace.extensions import db
    from learnspace.lessons.reconcile import reconcile
    from tests.fixtures.lessons import make_lesson

    with kill_app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    data = fake_pdf(11 * MIB, seed=6)
    file_id = kteacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()["id"]
    assert kteacher.put(file_id, 0, data[:CHUNK]).status_code == 200
    own_minio.kill()
    assert kteacher.put(file_id, 1, data[CHUNK:2 * CHUNK]).status_code == 503
    # The teacher gives up and closes the tab; the deletion cannot reach MinIO either.
    assert kteacher.delete(file_id).status_code == 200
    own_minio.start()
    assert _keys(kill_app) == [f"uploads/{file_id}/00000"]  # an orphan chunk

    with kill_app.app_context():
        report = reconcile(orphan_grace=timedelta(0))
        db.session.commit()
    assert report.orphans == [f"uploads/{file_id}/00000"]
    assert _keys(kill_app) == []
