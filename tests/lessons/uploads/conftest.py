"""Fixtures for the upload tests: an app with 5 MiB parts, 李老师 signed in, her lesson, and file makers."""
from __future__ import annotations

import base64
import hashlib
import io
import random
import re
import zipfile

import pytest
import urllib3

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import media_files  # noqa: F401  (a session fixture: real MP4s made with ffmpeg)
from tests.fixtures.people import give_login, signed_in
from tests.fixtures.snapshots import replay

MIB = 1024 * 1024
PART = 5 * MIB


def _filler(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def fake_mp4(size: int, seed: int = 1) -> bytes:
    """Bytes that start like an MP4 (an ftyp box) and go on with noise; ffprobe cannot read them."""
    head = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41"
    return head + _filler(size - len(head), seed)


def fake_pdf(size: int, seed: int = 2) -> bytes:
    head, tail = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    return head + _filler(size - len(head) - len(tail), seed) + tail


def office_file(folder: str, padding: int = 0, content_types_first: bool = True,
                padding_name: str = "docProps/thumbnail.jpeg") -> bytes:
    """A minimal OOXML package (word/, ppt/ or xl/), padded with a stored noise entry (first) to any size."""
    main = {"word/": "word/document.xml", "ppt/": "ppt/presentation.xml", "xl/": "xl/workbook.xml"}[folder]
    entries = [("[Content_Types].xml", "<Types/>"), ("_rels/.rels", "<Relationships/>"), (main, "<x/>")]
    if not content_types_first:
        entries.reverse()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        if padding:
            package.writestr(zipfile.ZipInfo(padding_name), _filler(padding, 3),
                             compress_type=zipfile.ZIP_STORED)
        for name, text in entries:
            package.writestr(name, text)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_b64(data: bytes) -> str:
    """The base64 SHA-256 a browser sends as x-amz-checksum-sha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


_HTTP = urllib3.PoolManager(maxsize=8, timeout=urllib3.Timeout(connect=3, read=60), retries=False)


def put_part(url: str, data: bytes, checksum: str | None = "auto"):
    """PUT one part to its presigned MinIO URL the way the browser does; return the urllib3 response."""
    headers = {"Content-Length": str(len(data))}
    if checksum:
        headers["x-amz-checksum-sha256"] = sha256_b64(data) if checksum == "auto" else checksum
    return _HTTP.request("PUT", url, body=data, headers=headers)


def run_jobs(app) -> int:
    """Run the queued worker jobs (verification) in this process, as ``learnspace worker --once`` would."""
    from learnspace.jobs import run_due

    with app.app_context():
        return run_due()


class Uploader:
    """Drive the upload JSON API the way upload.js or a script does; parts go to MinIO over real HTTP."""

    def __init__(self, client):
        self.client = client
        page = client.get("/space", follow_redirects=True)
        self.token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)

    def _headers(self, **extra):
        return {"X-CSRFToken": self.token, **extra}

    def start(self, lesson_id: int, kind: str, filename: str, size: int):
        return self.client.post(f"/api/lessons/{lesson_id}/uploads", json={"kind": kind, "filename": filename,
                                                                              "size": size}, headers=self._headers())

    def part_urls(self, file_id: int, parts: list[dict]):
        return self.client.post(f"/api/uploads/{file_id}/part-urls", json={"parts": parts}, headers=self._headers())

    def put(self, file_id: int, number: int, data: bytes, checksum: str | None = "auto"):
        """Ask for part *number*'s URL and PUT *data* there; return MinIO's response."""
        answer = self.part_urls(file_id, [{"number": number, "sha256": sha256_b64(data)}])
        assert answer.status_code == 200, answer.get_json()
        return put_part(answer.get_json()["urls"][str(number)], data, checksum)

    def status(self, file_id: int):
        return self.client.get(f"/api/uploads/{file_id}")

    def complete(self, file_id: int):
        return self.client.post(f"/api/uploads/{file_id}/complete", headers=self._headers())

    def retry(self, file_id: int):
        return self.client.post(f"/api/uploads/{file_id}/retry", headers=self._headers())

    def delete(self, file_id: int):
        return self.client.delete(f"/api/uploads/{file_id}", headers=self._headers())

    def send_parts(self, body: dict, data: bytes, numbers=None) -> None:
        size = body["part_size"]
        for number in numbers or range(1, body["part_count"] + 1):
            response = self.put(body["id"], number, data[(number - 1) * size:number * size])
            assert response.status == 200, response.data

    def upload(self, lesson_id: int, kind: str, filename: str, data: bytes, verify: bool = True):
        """Upload a whole file and, with *verify*, run the worker; return the final GET (or complete) response."""
        started = self.start(lesson_id, kind, filename, len(data))
        assert started.status_code == 201, started.get_json()
        body = started.get_json()
        self.send_parts(body, data)
        done = self.complete(body["id"])
        if done.status_code != 202 or not verify:
            return done
        run_jobs(self.client.application)
        return self.status(body["id"])


@pytest.fixture
def uapp(make_app):
    """An app like production but with 5 MiB parts, so an 11 MiB file has three."""
    return make_app(env={"LEARNSPACE_UPLOAD_CHUNK_BYTES": str(PART)})


@pytest.fixture
def lesson_id(uapp, world) -> int:
    def build():
        with uapp.app_context():
            return make_lesson(world.people["teacher_a1"], world.schools["a1"])
    return replay(uapp, ("uploads: lesson", repr(world)), build)


@pytest.fixture
def teacher(uapp, world) -> Uploader:
    """李老师, signed in, with her CSRF token."""
    return Uploader(signed_in(uapp, give_login(uapp, world.people["teacher_a1"])))


@pytest.fixture
def storage_keys(uapp):
    """Return ``storage_keys(prefix="")``: every key in the test bucket under *prefix*."""
    from learnspace.storage import get_storage

    def keys(prefix: str = "") -> list[str]:
        with uapp.app_context():
            return get_storage().list_keys(prefix)
    return keys


@pytest.fixture(autouse=True)
def _empty_bucket(request):
    """Start every upload test with an empty bucket, so key listings mean something."""
    if "uapp" not in request.fixturenames and "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    from learnspace.storage import get_storage

    with app.app_context():
        storage = get_storage()
        storage.remove_many(storage.list_keys(""))
        for upload in storage.list_incomplete_uploads():
            storage.abort_incomplete_upload(upload.key, upload.upload_id)
    _forget_jobs()
    yield


def _forget_jobs():
    """Start without jobs of earlier tests (the in-memory stand-in keeps them per process; a table is emptied)."""
    import learnspace.jobs as jobs

    queue = getattr(jobs, "_QUEUE", None)
    if isinstance(queue, list):
        queue.clear()
