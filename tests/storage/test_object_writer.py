"""ObjectWriter streams bytes into one object as a multipart upload, holding about one part in memory."""
from __future__ import annotations

import hashlib
import os
import tracemalloc
import zipfile

import pytest

MIB = 1024 * 1024


def test_a_large_zip_is_written_part_by_part_and_reads_back_byte_equal(app, tmp_path):
    from learnspace.privacy.collect import StoredFile
    from learnspace.privacy.operations import _write_zip
    from learnspace.storage import get_storage

    with app.app_context():
        storage = get_storage()
        big = os.urandom(3 * MIB) * 8  # 24 MiB: three parts of the zip at 8 MiB
        storage.put_bytes("test-writer/source.bin", big)
        digest = hashlib.sha256(big).hexdigest()
        del big
        tracemalloc.start()
        try:
            size = _write_zip("test-writer/out.zip", b"{}", [StoredFile("test-writer/source.bin", "files/a.bin", None)])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert size == storage.stat("test-writer/out.zip").size > 24 * MIB
        # one 8 MiB part and a 1 MiB read block (measured 9.1 MiB), whatever the size of the file
        assert peak < 12 * MIB, f"peak {peak / MIB:.1f} MiB"
        path = os.path.join(tmp_path, "out.zip")
        with open(path, "wb") as out:
            for block in storage.iter_object("test-writer/out.zip"):
                out.write(block)
        with zipfile.ZipFile(path) as archive:
            assert archive.read("data.json") == b"{}"
            assert hashlib.sha256(archive.read("files/a.bin")).hexdigest() == digest
        storage.remove_many(["test-writer/source.bin", "test-writer/out.zip"])


def test_a_failed_write_leaves_no_object_and_no_upload(app):
    from learnspace.storage import ObjectWriter, get_storage

    with app.app_context():
        storage = get_storage()
        writer = ObjectWriter("test-writer/broken.zip")
        writer.write(b"x" * (9 * MIB))  # one part sent
        writer.abort()
        assert not storage.exists("test-writer/broken.zip")
        assert [u for u in storage.list_incomplete_uploads("test-writer/") if u.key == "test-writer/broken.zip"] == []
        with pytest.raises(ValueError):
            writer.write(b"more")
