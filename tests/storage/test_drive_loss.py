"""Erasure-coded MinIO (4 drives, as ``scripts/run --minio-drives 4``) loses a drive while lessons play and upload.

The server is a MinIO of this test's own over four drive folders; the app uses it
through learnspace.storage and the lesson upload API. One drive's folder is wiped
(everything in it, MinIO's own format file included) while a viewer keeps seeking
in a recording with Range requests on its presigned URL and a teacher uploads
another file: nothing fails. The wiped folder is then an empty replacement drive,
and MinIO's own background healing (a new drive is looked for every 10 s, then
healed whole; nobody runs ``mc admin heal``) writes the objects' shards back onto
it, checked on disk.
"""
from __future__ import annotations

import hashlib
import shutil
import threading
import time

import pytest
import urllib3

from tests.fixtures.minio_process import MinioProcess
from tests.fixtures.people import give_login, signed_in
from tests.lessons.uploads.conftest import MIB, PART, Uploader, fake_mp4, fake_pdf

pytestmark = pytest.mark.minio_only  # MinIO's own erasure coding and healing

BUCKET = "learnspace-drives"
#: MinIO looks for new drives every 10 s, then heals a few objects in well under a second
HEAL_SECONDS = 40

_HTTP = urllib3.PoolManager(maxsize=4, timeout=urllib3.Timeout(connect=3, read=30), retries=False)


@pytest.fixture
def ec_minio(tmp_path):
    server = MinioProcess(tmp_path / "minio", drives=4).start()
    yield server
    server.stop()


@pytest.fixture
def ec_app(make_app, ec_minio):
    app = make_app(env={**ec_minio.app_env(bucket=BUCKET), "LEARNSPACE_UPLOAD_CHUNK_BYTES": str(PART),
                        "LEARNSPACE_PLAYBACK_MODE": "presign"})
    from learnspace.storage import get_storage

    with app.app_context():
        get_storage().ensure_bucket()
    return app


def _file_row(app, file_id: int):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        row = db.session.get(LessonFile, file_id)
        db.session.expunge(row)
        return row


def _parts_on(drive, key: str) -> list[str]:
    """The shard files MinIO keeps for object *key* on one drive folder (xl.meta and part.N under a data dir)."""
    folder = drive / BUCKET / key
    if not (folder / "xl.meta").is_file():
        return []
    return sorted(["xl.meta"] + [p.name for p in folder.glob("*/part.*")])


def test_a_lost_drive_stops_no_playback_or_upload_and_is_healed_back(ec_app, ec_minio, world):
    from tests.fixtures.lessons import make_lesson

    with ec_app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    teacher = Uploader(signed_in(ec_app, give_login(ec_app, world.people["teacher_a1"])))
    video = fake_mp4(11 * MIB)
    ready = teacher.upload(lesson_id, "recording", "课堂实录.mp4", video).get_json()
    assert ready["status"] == "ready" and ready["sha256"] == hashlib.sha256(video).hexdigest()
    video_key = _file_row(ec_app, ready["id"]).object_key
    drives = ec_minio.drive_dirs()
    shards = _parts_on(drives[1], video_key)
    assert shards == ["part.1", "part.2", "part.3", "xl.meta"]  # an 11 MiB upload in three 5 MiB parts
    assert all(_parts_on(d, video_key) == shards for d in drives)  # a shard of every part on every drive

    # The player follows /play to a presigned URL and seeks with Range requests, as <video> does.
    played = teacher.client.get(f"/files/{ready['id']}/play")
    assert played.status_code == 302
    url, seeks, failures, stop = played.headers["Location"], [], [], threading.Event()

    def watch():
        offset = 0
        while not stop.is_set():
            offset = (offset + 3 * MIB + 4321) % (len(video) - 65536)
            try:
                answer = _HTTP.request("GET", url, headers={"Range": f"bytes={offset}-{offset + 65535}"})
                if answer.status != 206 or answer.data != video[offset:offset + 65536]:
                    failures.append((offset, answer.status))
                seeks.append(offset)
            except urllib3.exceptions.HTTPError as exc:
                failures.append((offset, repr(exc)))

    viewer = threading.Thread(target=watch)
    viewer.start()
    try:
        while len(seeks) < 5:
            time.sleep(0.02)
        shutil.rmtree(drives[1])  # the drive dies with all it held
        drives[1].mkdir()  # and an empty one takes its place
        before = len(seeks)
        # Uploads go on: the lesson API (parts to presigned URLs, then the worker verifies)...
        document = fake_pdf(6 * MIB, seed=9)
        second = teacher.upload(lesson_id, "courseware", "课件.pdf", document).get_json()
        assert second["status"] == "ready" and second["sha256"] == hashlib.sha256(document).hexdigest()
        # ...and learnspace.storage's own writes and reads.
        from learnspace.storage import get_storage

        with ec_app.app_context():
            storage = get_storage()
            storage.put_bytes("drive-loss/note.txt", "备课笔记".encode() * 50_000)
            assert storage.get_bytes("drive-loss/note.txt") == "备课笔记".encode() * 50_000
            assert storage.read_range(video_key, 5 * MIB, 1000) == video[5 * MIB:5 * MIB + 1000]
        while len(seeks) < before + 20:
            time.sleep(0.02)
    finally:
        stop.set()
        viewer.join(10)
    assert failures == [] and len(seeks) >= 25

    # MinIO finds the empty drive, formats it and heals every object back onto it.
    document_key = _file_row(ec_app, second["id"]).object_key
    deadline = time.monotonic() + HEAL_SECONDS
    while not (_parts_on(drives[1], video_key) == shards and _parts_on(drives[1], document_key)
               and (drives[1] / BUCKET / "drive-loss/note.txt" / "xl.meta").is_file()):
        assert time.monotonic() < deadline, f"drive not healed within {HEAL_SECONDS} s: {sorted(drives[1].rglob('*'))}"
        time.sleep(0.5)
    assert (drives[1] / ".minio.sys" / "format.json").is_file()
    for name in shards[:-1]:  # the healed shards are as big as a healthy drive's
        healed, = (drives[1] / BUCKET / video_key).glob(f"*/{name}")
        healthy, = (drives[0] / BUCKET / video_key).glob(f"*/{name}")
        assert healed.stat().st_size == healthy.stat().st_size > 0, name
    with ec_app.app_context():
        assert b"".join(get_storage().iter_object(video_key)) == video
