"""S3 multipart uploads (storage.multipart) on the real MinIO, and the in-memory stand-in held to the same rules."""
from __future__ import annotations

import base64
import hashlib
import os

import pytest
import urllib3

from learnspace.storage import MemoryStorage, PartRefused, StorageError, UploadNotFound
from learnspace.storage.backends import MIN_PART_BYTES, MinioStorage
from learnspace.storage.multipart import CHECKSUM_MISMATCH, error_code
from tests.fixtures.helpers import free_port

MIB = 1024 * 1024


def sha256_b64(data: bytes) -> str:
    """The base64 SHA-256 of a part, as sent in x-amz-checksum-sha256."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


@pytest.fixture(params=["minio", "memory"])
def storage(request):
    """An empty bucket on the session's MinIO, or the in-memory stand-in."""
    if request.param == "memory":
        return MemoryStorage()
    app = request.getfixturevalue("app")
    from learnspace.storage import get_storage

    with app.app_context():
        storage = get_storage()
    storage.remove_many(storage.list_keys(""))
    for upload in storage.list_incomplete_uploads():
        storage.abort_incomplete_upload(upload.key, upload.upload_id)
    return storage


def test_parts_sent_out_of_order_join_into_one_object_read_back_in_blocks_and_ranges(storage):
    first, second, last = os.urandom(MIN_PART_BYTES), os.urandom(MIN_PART_BYTES), os.urandom(MIB + 7)
    key = "lessons/2/files/f"
    upload_id = storage.create_multipart(key)
    for number, data in ((3, last), (1, first), (2, second)):
        assert storage.upload_part(key, upload_id, number, data, sha256_b64(data)) == hashlib.md5(data).hexdigest()
    parts = storage.list_parts(key, upload_id)
    assert [(p.number, p.size, p.etag) for p in parts] == [
        (1, len(first), hashlib.md5(first).hexdigest()), (2, len(second), hashlib.md5(second).hexdigest()),
        (3, len(last), hashlib.md5(last).hexdigest())]
    assert [u.upload_id for u in storage.list_incomplete_uploads(keys=[key])] == [upload_id]

    storage.complete_multipart(key, upload_id, parts)
    whole = first + second + last
    assert storage.stat(key).size == len(whole)
    blocks = list(storage.iter_object(key, MIB))
    assert [len(b) for b in blocks] == [MIB] * 11 + [7] and b"".join(blocks) == whole
    assert storage.read_range(key, len(first) - 3, 6) == whole[len(first) - 3:len(first) + 3]
    assert storage.list_incomplete_uploads(keys=[key]) == []
    with pytest.raises(UploadNotFound):  # a completed upload is gone
        storage.list_parts(key, upload_id)


def test_a_part_whose_bytes_do_not_match_its_sha256_checksum_is_refused_and_can_be_sent_again(storage):
    key, data = "lessons/3/files/g", os.urandom(MIB)
    upload_id = storage.create_multipart(key)
    damaged = bytearray(data)
    damaged[500] ^= 0xFF
    with pytest.raises(PartRefused) as refused:
        storage.upload_part(key, upload_id, 1, bytes(damaged), sha256_b64(data))
    assert refused.value.code in CHECKSUM_MISMATCH
    assert storage.list_parts(key, upload_id) == []
    storage.upload_part(key, upload_id, 1, data, sha256_b64(data))
    assert [p.size for p in storage.list_parts(key, upload_id)] == [len(data)]


def test_sending_a_part_again_replaces_it(storage):
    key = "lessons/4/files/h"
    upload_id = storage.create_multipart(key)
    storage.upload_part(key, upload_id, 1, b"first version")
    storage.upload_part(key, upload_id, 1, b"second")
    parts = storage.list_parts(key, upload_id)
    assert [(p.number, p.size) for p in parts] == [(1, 6)]
    storage.complete_multipart(key, upload_id, parts)
    assert storage.get_bytes(key) == b"second"


def test_completing_with_a_small_part_before_the_last_is_refused(storage):
    key = "lessons/5/files/i"
    upload_id = storage.create_multipart(key)
    storage.upload_part(key, upload_id, 1, b"x" * 1000)
    storage.upload_part(key, upload_id, 2, b"y" * 1000)
    with pytest.raises(PartRefused) as refused:
        storage.complete_multipart(key, upload_id, storage.list_parts(key, upload_id))
    assert refused.value.code == "EntityTooSmall"
    assert not storage.exists(key)


def test_an_aborted_upload_is_gone_and_aborting_again_is_fine(storage):
    key = "lessons/6/files/j"
    upload_id = storage.create_multipart(key)
    storage.upload_part(key, upload_id, 1, b"part")
    storage.abort_incomplete_upload(key, upload_id)
    storage.abort_incomplete_upload(key, upload_id)
    with pytest.raises(UploadNotFound):
        storage.list_parts(key, upload_id)
    with pytest.raises(UploadNotFound):
        storage.upload_part(key, upload_id, 2, b"late")
    assert storage.list_incomplete_uploads(keys=[key]) == []


def test_listing_incomplete_uploads_by_prefix_and_by_exact_key(storage):
    ids = {key: storage.create_multipart(key) for key in ("lessons/7/files/a", "lessons/7/files/b", "other/c")}
    listed = storage.list_incomplete_uploads(prefix="lessons/7/")
    assert [(u.key, u.upload_id) for u in listed] == [(k, ids[k]) for k in ("lessons/7/files/a", "lessons/7/files/b")]
    assert all(u.initiated_dt is not None for u in listed)
    assert [u.key for u in storage.list_incomplete_uploads(prefix="nothing/", keys=["other/c"])] == ["other/c"]


def test_minio_lists_more_than_one_page_of_parts(app):
    """ListParts answers 1,000 parts a page: the listing follows part-number-marker to the end."""
    from learnspace.storage import get_storage

    with app.app_context():
        storage = get_storage()
    key = "lessons/8/files/many"
    upload_id = storage.create_multipart(key)
    http = urllib3.PoolManager(maxsize=8)
    from concurrent.futures import ThreadPoolExecutor

    def put(number):
        url = storage.multipart.part_url(key, upload_id, number, __import__("datetime").timedelta(minutes=5))
        assert http.request("PUT", url, body=b"%d" % number).status == 200
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(1, 1203)))
    parts = storage.list_parts(key, upload_id)
    assert [p.number for p in parts] == list(range(1, 1203))
    storage.abort_incomplete_upload(key, upload_id)


def test_a_presigned_part_url_takes_a_browser_style_put_with_a_sha256_checksum(app):
    from datetime import timedelta

    from learnspace.storage import get_storage

    with app.app_context():
        storage = get_storage()
    key, data = "lessons/9/files/k", os.urandom(300_000)
    upload_id = storage.create_multipart(key, checksums=True)
    url = storage.multipart.part_url(key, upload_id, 1, timedelta(minutes=5), sha256=sha256_b64(data))
    assert "X-Amz-SignedHeaders=host%3Bx-amz-checksum-sha256" in url  # S3 refuses unsigned x-amz-* headers
    http = urllib3.PoolManager()
    damaged = http.request("PUT", url, body=data + b"!", headers={"x-amz-checksum-sha256": sha256_b64(data)})
    assert damaged.status == 400 and error_code(damaged.data)[0] in CHECKSUM_MISMATCH, damaged.data
    other = http.request("PUT", url, body=data + b"!", headers={"x-amz-checksum-sha256": sha256_b64(data + b"!")})
    assert other.status == 403, other.data  # not the checksum the URL was signed for
    assert storage.list_parts(key, upload_id) == []
    good = http.request("PUT", url, body=data, headers={"x-amz-checksum-sha256": sha256_b64(data)})
    assert good.status == 200 and good.headers["ETag"].strip('"') == hashlib.md5(data).hexdigest()
    storage.complete_multipart(key, upload_id, storage.list_parts(key, upload_id))
    assert storage.get_bytes(key) == data


@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.create_multipart("k"), id="create"),
    pytest.param(lambda s: s.list_parts("k", "id"), id="list_parts"),
    pytest.param(lambda s: s.upload_part("k", "id", 1, b"x"), id="upload_part"),
    pytest.param(lambda s: s.complete_multipart("k", "id", []), id="complete"),
    pytest.param(lambda s: s.abort_incomplete_upload("k", "id"), id="abort"),
    pytest.param(lambda s: s.list_incomplete_uploads(), id="list_uploads"),
])
def test_multipart_calls_on_an_unreachable_server_raise_storage_error(call):
    unreachable = MinioStorage(f"127.0.0.1:{free_port()}", "lsuser", "ls-secret-key-1234", "learnspace")
    with pytest.raises(StorageError):
        call(unreachable)
