"""Presigned part URLs for browsers: each part of a multipart upload goes straight to MinIO.

Signed for the public endpoint browsers reach (the same signer as playback URLs,
``delivery._presigner(public=True)``): an S3 signature covers the Host header.
A URL asked for with the part's SHA-256 signs its x-amz-checksum-sha256 header too
(S3 itself and the Versity gateway refuse unsigned x-amz-* headers; MinIO takes them),
one asked for without signs the host only. Either way MinIO checks a part's
x-amz-checksum-sha256 when the browser sends it, and the worker reads the whole
object back for its SHA-256 anyway.
"""
from __future__ import annotations

from datetime import timedelta

from .backends import MemoryStorage, get_storage
from .delivery import _presigner
from .errors import StorageError


def part_upload_url(key: str, upload_id: str, number: int, expires_seconds: int, sha256: str | None = None) -> str:
    """Return a URL a browser PUTs part *number* of an upload to, valid for *expires_seconds*.

    With the part's base64 *sha256* the URL signs its x-amz-checksum-sha256 header, as S3
    servers other than MinIO require.
    """
    storage = get_storage()
    if isinstance(storage, MemoryStorage):
        raise StorageError("the in-memory storage cannot presign URLs")
    try:
        return storage.multipart.part_url(key, upload_id, number, timedelta(seconds=expires_seconds),
                                          signer=_presigner(public=True), sha256=sha256)
    except ValueError as exc:
        raise StorageError(str(exc)) from exc
