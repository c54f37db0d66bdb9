"""Fixtures for the upload tests: an app with 5 MiB chunks, 李老师 signed in, her lesson, and file makers."""
from __future__ import annotations

import hashlib
import io
import random
import re
import zipfile

import pytest

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import media_files  # noqa: F401  (a session fixture: real MP4s made with ffmpeg)
from tests.fixtures.people import give_login, signed_in
from tests.fixtures.snapshots import replay

MIB = 1024 * 1024
CHUNK = 5 * MIB


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


class Uploader:
    """Drive the upload JSON API the way upload.js or a script does."""

    def __init__(self, client):
        self.client = client
        page = client.get("/space", follow_redirects=True)
        self.token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)

    def _headers(self, **extra):
        return {"X-CSRFToken": self.token, **extra}

    def start(self, lesson_id: int, kind: str, filename: str, size: int):
        return self.client.post(f"/api/lessons/{lesson_id}/uploads", json={"kind": kind, "filename": filename,
                                                                              "size": size}, headers=self._headers())

    def put(self, file_id: int, index: int, data: bytes, checksum: str | None = "auto"):
        headers = self._headers(**{"Content-Type": "application/octet-stream"})
        if checksum == "auto":
            checksum = sha(data)
        if checksum:
            headers["X-Chunk-SHA256"] = checksum
        return self.client.put(f"/api/uploads/{file_id}/chunks/{index}", data=data, headers=headers)

    def status(self, file_id: int):
        return self.client.get(f"/api/uploads/{file_id}")

    def complete(self, file_id: int, **body):
        return self.client.post(f"/api/uploads/{file_id}/complete", json=body, headers=self._headers())

    def delete(self, file_id: int):
        return self.client.delete(f"/api/uploads/{file_id}", headers=self._headers())

    def upload(self, lesson_id: int, kind: str, filename: str, data: bytes, order=None):
        """Upload a whole file; return the final response of complete."""
        started = self.start(lesson_id, kind, filename, len(data))
        assert started.status_code == 201, started.get_json()
        body = started.get_json()
        size = body["chunk_size"]
        for index in order or range(body["chunk_count"]):
            response = self.put(body["id"], index, data[index * size:(index + 1) * size])
            if response.status_code != 200:
                return response
        return self.complete(body["id"])


@pytest.fixture
def uapp(make_app):
    """An app like production but with 5 MiB chunks, so an 11 MiB file has three."""
    return make_app(env={"LEARNSPACE_UPLOAD_CHUNK_BYTES": str(CHUNK)})


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
    yield
