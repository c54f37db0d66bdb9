"""Presigned part URLs for browsers: each part of a multipart upload goes straight to MinIO.

Signed for the public endpoint browsers reach (the same signer as playback URLs,
``delivery._presigner(public=True)``): an S3 signature covers the Host header.
The URL signs the host only (the SDK's presigning signs no other header), so
MinIO checks a part's x-amz-checksum-sha256 when the browser sends it, and the worker
reads the whole object back for its SHA-256 anyway.
"""
from __future__ import annotations

from datetime import timedelta

from .backends import MemoryStorage, get_storage
from .delivery import _presigner
from .errors import StorageError


def part_upload_url(key: str, upload_id: str, number: int, expires_seconds: int) -> str:
    """Return a URL a browser PUTs part *number* of an upload to, valid for *expires_seconds*."""
    storage = get_storage()
    if isinstance(storage, MemoryStorage):
        raise StorageError("the in-memory storage cannot presign URLs")
    try:
        return storage.multipart.part_url(key, upload_id, number, timedelta(seconds=expires_seconds),
                                          signer=_presigner(public=True))
    except ValueError as exc:
        raise StorageError(str(exc)) from exc
