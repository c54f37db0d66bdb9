"""The streaming storage operations uploads rely on, on the real MinIO and on the in-memory stand-in alike."""
from __future__ import annotations

import hashlib
import io
import os

import pytest

from learnspace.storage.backends import MIN_PART_BYTES, MemoryStorage, SourceStreamError

MIB = 1024 * 1024


@pytest.fixture(params=["minio", "memory"])
def storage(request):
    if request.param == "memory":
        return MemoryStorage()
    app = request.getfixturevalue("app")
    from learnspace.storage import get_storage

    with app.app_context():
        storage = get_storage()
    storage.remove_many(storage.list_keys(""))  # start empty, so listings mean something
    return storage


class Trickle(io.RawIOBase):
    """A stream that hands out at most 1000 bytes per read, like a slow socket."""

    def __init__(self, data: bytes):
        self._data = io.BytesIO(data)

    def read(self, size=-1):
        return self._data.read(min(size if size >= 0 else 1000, 1000))


def test_put_stream_stores_exactly_length_bytes_and_returns_their_sha256(storage):
    data = os.urandom(300_000)
    assert storage.put_stream("uploads/1/00000", Trickle(data + b"extra"), len(data)) == hashlib.sha256(data).hexdigest()
    assert storage.get_bytes("uploads/1/00000") == data
    assert storage.stat("uploads/1/00000").size == len(data)


def test_a_stream_that_ends_early_stores_nothing_and_keeps_the_old_object(storage):
    storage.put_bytes("uploads/1/00000", b"old")
    with pytest.raises(SourceStreamError):
        storage.put_stream("uploads/1/00000", io.BytesIO(b"x" * 1000), 5000)
    assert storage.get_bytes("uploads/1/00000") == b"old"
    with pytest.raises(SourceStreamError):
        storage.put_stream("uploads/1/00001", io.BytesIO(b"x" * 1000), 5000)
    assert not storage.exists("uploads/1/00001")


def test_compose_joins_in_order_and_reads_back_in_blocks_and_ranges(storage):
    first, second = os.urandom(MIN_PART_BYTES), os.urandom(MIB + 7)
    storage.put_bytes("uploads/2/00000", first)
    storage.put_bytes("uploads/2/00001", second)
    info = storage.compose("lessons/2/files/f", ["uploads/2/00000", "uploads/2/00001"])
    assert info.size == len(first) + len(second)
    blocks = list(storage.iter_object("lessons/2/files/f", MIB))
    assert [len(b) for b in blocks] == [MIB] * 6 + [7] and b"".join(blocks) == first + second
    assert storage.read_range("lessons/2/files/f", len(first) - 3, 6) == first[-3:] + second[:3]
    assert storage.read_range("lessons/2/files/f", info.size - 2, 100) == second[-2:]
    with pytest.raises(ValueError):  # every part but the last must be at least 5 MiB
        storage.compose("lessons/2/files/g", ["uploads/2/00001", "uploads/2/00000"])
    with pytest.raises(KeyError):
        storage.compose("lessons/2/files/h", ["uploads/2/00000", "uploads/2/missing"])


def test_missing_objects_raise_key_error(storage):
    with pytest.raises(KeyError):
        storage.stat("lessons/none")
    with pytest.raises(KeyError):
        list(storage.iter_object("lessons/none"))
    with pytest.raises(KeyError):
        storage.read_range("lessons/none", 0, 10)


def test_list_and_remove_many(storage):
    for key in ("uploads/3/00000", "uploads/3/00001", "uploads/30/00000", "lessons/3/files/a"):
        storage.put_bytes(key, b"x")
    assert storage.list_keys("uploads/3/") == ["uploads/3/00000", "uploads/3/00001"]
    assert storage.remove_many(["uploads/3/00000", "uploads/3/00001", "uploads/3/never-there"]) == 3
    assert storage.list_keys("uploads/") == ["uploads/30/00000"]
    storage.remove_many(storage.list_keys(""))
    assert storage.list_keys("") == []
