"""Object storage against the real MinIO server, and the in-memory stand-in held to the same behaviour."""
from __future__ import annotations

import os
import secrets
import time

import pytest

from learnspace.storage import MemoryStorage, MinioStorage, StorageError
from tests.fixtures.helpers import free_port


def minio_storage(minio_server, bucket: str | None = None) -> MinioStorage:
    return MinioStorage(minio_server["endpoint"], minio_server["access_key"], minio_server["secret_key"],
                        bucket or f"ls-test-{secrets.token_hex(6)}")


@pytest.fixture(params=["minio", "memory"])
def storage(request):
    """A ready storage backend: a fresh bucket on the real MinIO server, or the in-memory stand-in."""
    if request.param == "memory":
        backend = MemoryStorage()
    else:
        backend = minio_storage(request.getfixturevalue("minio_server"))
    backend.ensure_bucket()
    return backend


def test_put_then_get_returns_the_same_bytes(storage):
    """Binary data round-trips byte for byte, under a key with Chinese characters."""
    data = os.urandom(70_000) + b"\x00\xff"
    key = "lessons/42/课堂实录-第一课.mp4"
    storage.put_bytes(key, data, content_type="video/mp4")
    assert storage.get_bytes(key) == data


def test_exists_follows_put_and_delete(storage):
    """exists() is False before put, True after, False again after delete."""
    key = f"materials/{secrets.token_hex(4)}.pdf"
    assert storage.exists(key) is False
    storage.put_bytes(key, b"%PDF-1.7 lesson plan")
    assert storage.exists(key) is True
    storage.delete(key)
    assert storage.exists(key) is False


def test_overwriting_a_key_replaces_the_content(storage):
    """A second put to the same key wins."""
    storage.put_bytes("k", b"first version")
    storage.put_bytes("k", b"second")
    assert storage.get_bytes("k") == b"second"


def test_reading_a_missing_object_raises_key_error(storage):
    """get_bytes of a key never written raises KeyError, on both backends."""
    with pytest.raises(KeyError):
        storage.get_bytes("no/such/object")


def test_deleting_a_missing_object_is_fine(storage):
    """delete() of an unknown key does not raise."""
    storage.delete("never/written")
    assert storage.exists("never/written") is False


def test_empty_objects_are_kept(storage):
    """A zero-byte object exists and reads back as b''."""
    storage.put_bytes("empty.txt", b"")
    assert storage.exists("empty.txt") is True
    assert storage.get_bytes("empty.txt") == b""


def test_ensure_bucket_is_idempotent_and_keeps_objects(storage):
    """Calling ensure_bucket again reports "already there" and loses nothing."""
    storage.put_bytes("keep.txt", b"still here")
    assert storage.ensure_bucket() is False
    assert storage.ensure_bucket() is False
    assert storage.get_bytes("keep.txt") == b"still here"


def test_health_is_ok_when_the_bucket_is_there(storage):
    """health() answers (True, ...) for a reachable backend with its bucket."""
    ok, detail = storage.health()
    assert ok is True and detail.startswith("ok")


def test_minio_ensure_bucket_creates_the_bucket_once(minio_server):
    """On MinIO the first ensure_bucket creates it (True), later ones find it (False)."""
    storage = minio_storage(minio_server)
    assert storage.client.bucket_exists(storage.bucket) is False
    assert storage.ensure_bucket() is True
    assert storage.client.bucket_exists(storage.bucket) is True
    assert storage.ensure_bucket() is False


def test_minio_objects_are_really_on_the_server(minio_server):
    """What one client writes, a second independent client reads: the data is in MinIO, not in memory."""
    writer = minio_storage(minio_server)
    writer.ensure_bucket()
    writer.put_bytes("shared.bin", b"\x01\x02\x03")
    reader = minio_storage(minio_server, bucket=writer.bucket)
    assert reader.get_bytes("shared.bin") == b"\x01\x02\x03"
    assert reader.client.stat_object(writer.bucket, "shared.bin").size == 3


def test_minio_health_reports_a_missing_bucket(minio_server):
    """A reachable server without the bucket is not healthy, and says which bucket is missing."""
    storage = minio_storage(minio_server, bucket="ls-never-created")
    ok, detail = storage.health()
    assert ok is False
    assert "ls-never-created" in detail


def test_minio_with_wrong_credentials_is_not_healthy(minio_server):
    """A secret key the server does not know gives (False, ...) and ensure_bucket raises StorageError."""
    storage = MinioStorage(minio_server["endpoint"], minio_server["access_key"], "wrong-" + secrets.token_hex(8),
                           "learnspace-test")
    ok, _ = storage.health()
    assert ok is False
    with pytest.raises(StorageError):
        storage.ensure_bucket()


@pytest.fixture
def unreachable():
    """A MinioStorage pointed at a port where nothing listens."""
    return MinioStorage(f"127.0.0.1:{free_port()}", "lsuser", "ls-secret-key-1234", "learnspace")


def test_health_of_an_unreachable_server_is_false_and_quick(unreachable):
    """health() reports (False, 'unreachable: ...') within a few seconds instead of hanging."""
    started = time.monotonic()
    ok, detail = unreachable.health()
    elapsed = time.monotonic() - started
    assert ok is False
    assert detail.startswith("unreachable")
    assert elapsed < 10


@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.ensure_bucket(), id="ensure_bucket"),
    pytest.param(lambda s: s.put_bytes("k", b"data"), id="put_bytes"),
    pytest.param(lambda s: s.get_bytes("k"), id="get_bytes"),
    pytest.param(lambda s: s.exists("k"), id="exists"),
    pytest.param(lambda s: s.delete("k"), id="delete"),
])
def test_every_operation_on_an_unreachable_server_raises_storage_error(unreachable, call):
    """Callers catch one exception type: StorageError, never a raw urllib3 or socket error, and not KeyError."""
    started = time.monotonic()
    with pytest.raises(StorageError):
        call(unreachable)
    assert time.monotonic() - started < 10
