"""The MinIO backend and an in-memory stand-in for fast unit tests.

Large objects are never read whole: they arrive as the parts of an S3 multipart
upload (``storage.multipart``, sent by browsers straight to MinIO) and are read
back in fixed blocks (``iter_object``) or byte ranges (``read_range``).
"""
from __future__ import annotations

import base64
import hashlib
import io
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator

import urllib3
from flask import current_app
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

from .errors import StorageError
from .multipart import (
    MAX_PARTS,
    MIN_PART_BYTES,
    REGION,
    IncompleteUpload,
    Multipart,
    PartInfo,
    PartRefused,
    UploadNotFound,
)

log = logging.getLogger(__name__)

__all__ = ["BLOCK_SIZE", "MAX_PARTS", "MIN_PART_BYTES", "IncompleteUpload", "MemoryStorage", "MinioStorage",
           "ObjectInfo", "PartInfo", "PartRefused", "StorageError", "UploadNotFound", "get_storage", "init_app"]

#: bytes read from an object at a time: memory stays at a few blocks whatever the object size
BLOCK_SIZE = 1024 * 1024
# What a dead, refusing or misbehaving server raises through the SDK and urllib3.
_FAILURES = (MinioException, urllib3.exceptions.HTTPError, OSError)
_MISSING = ("NoSuchKey", "NoSuchObject")
#: standard headers an object keeps from its upload (besides x-amz-meta-* user metadata)
KEPT_HEADERS = ("content-type", "cache-control", "content-encoding", "content-disposition", "content-language")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str | None = None
    last_modified: datetime | None = None
    content_type: str | None = None


class MinioStorage:
    """Objects in one bucket of a real MinIO (or other S3) server."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False):
        # Short timeouts and few retries: a dead MinIO should be reported, not waited on.
        # maxsize: connections kept per host; uploads send several chunks at once from request threads.
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=60), maxsize=16,
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2))
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                            secure=secure, http_client=http)
        self._http = http
        self.endpoint = endpoint
        self.bucket = bucket
        # Signs the multipart requests; with the region given, presigning never asks the server.
        signer = Minio(endpoint, access_key=access_key, secret_key=secret_key, secure=secure, region=REGION,
                       http_client=http)
        self.multipart = Multipart(signer, http, bucket, endpoint=endpoint, secure=secure, access_key=access_key,
                                   secret_key=secret_key)

    def ensure_bucket(self) -> bool:
        """Create the bucket when missing; returns True when it was created."""
        try:
            if self.client.bucket_exists(self.bucket):
                return False
            self.client.make_bucket(self.bucket)
            return True
        except S3Error as exc:
            if exc.code == "AccessDenied":  # the app's own user may not create buckets: provisioning does
                raise StorageError(f"bucket {self.bucket} is missing at {self.endpoint} and the app's MinIO user "
                                   "may not create it: run `learnspace storage provision` (scripts/run does)") from exc
            raise StorageError(f"MinIO at {self.endpoint} refused: {exc}") from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"MinIO at {self.endpoint} is not reachable or refused: {exc}") from exc

    def health(self) -> tuple[bool, str]:
        """Report whether the server answers and the bucket exists."""
        try:
            if self.client.bucket_exists(self.bucket):
                return True, "ok"
            return False, f"bucket {self.bucket} missing"
        except S3Error as exc:
            if exc.code == "AccessDenied":  # the app's user sees no bucket but its own: missing or not granted
                return False, f"bucket {self.bucket} missing or not granted to this MinIO user"
            return False, f"refused: {exc.code}"
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            return False, f"unreachable: {type(exc).__name__}"

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        """Store a small object."""
        try:
            self.client.put_object(self.bucket, key, io.BytesIO(data), len(data), content_type=content_type)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(str(exc)) from exc

    def get_bytes(self, key: str) -> bytes:
        """Read a small object."""
        try:
            response = self.client.get_object(self.bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()
        except S3Error as exc:
            if exc.code == "NoSuchKey":
                raise KeyError(key) from exc
            raise StorageError(str(exc)) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(str(exc)) from exc

    def delete(self, key: str) -> None:
        """Remove an object (missing objects are fine)."""
        try:
            self.client.remove_object(self.bucket, key)
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(str(exc)) from exc

    def exists(self, key: str) -> bool:
        """Tell whether an object exists."""
        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                return False
            raise StorageError(str(exc)) from exc
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(str(exc)) from exc

    def _stat_object(self, key: str):
        try:
            return self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise KeyError(key) from exc
            raise StorageError(str(exc)) from exc
        except _FAILURES as exc:
            raise StorageError(f"stat {key} failed: {type(exc).__name__}: {exc}") from exc

    def stat(self, key: str) -> ObjectInfo:
        """Return size, ETag and date of an object; KeyError when it does not exist."""
        st = self._stat_object(key)
        return ObjectInfo(key, st.size, st.etag, st.last_modified, st.content_type)

    def iter_object(self, key: str, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
        """Yield a whole object in blocks of *block_size* bytes (the last may be shorter)."""
        response = self._get(key)
        try:
            buffer = bytearray()
            for data in response.stream(block_size):
                if not buffer and len(data) == block_size:
                    yield data  # the usual case: no copy
                    continue
                # urllib3 handed out less than asked for: re-block so callers see fixed sizes.
                buffer += data
                while len(buffer) >= block_size:
                    yield bytes(buffer[:block_size])
                    del buffer[:block_size]
            if buffer:
                yield bytes(buffer)
        except _FAILURES as exc:
            raise StorageError(f"reading {key} broke: {type(exc).__name__}: {exc}") from exc
        finally:
            response.close()
            response.release_conn()

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        """Read *length* bytes from *offset* of an object (fewer at its end)."""
        if offset < 0 or length <= 0:
            raise ValueError(f"bad range offset={offset} length={length}")
        response = self._get(key, offset, length)
        try:
            return response.read()
        except _FAILURES as exc:
            raise StorageError(f"reading {key} broke: {type(exc).__name__}: {exc}") from exc
        finally:
            response.close()
            response.release_conn()

    def _get(self, key: str, offset: int = 0, length: int = 0):
        try:
            return self.client.get_object(self.bucket, key, offset=offset, length=length)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise KeyError(key) from exc
            if exc.code == "InvalidRange":
                raise ValueError(f"range {offset}+{length} outside {key}") from exc
            raise StorageError(str(exc)) from exc
        except _FAILURES as exc:
            raise StorageError(f"reading {key} failed: {type(exc).__name__}: {exc}") from exc

    def remove_many(self, keys: Iterable[str]) -> int:
        """Remove these objects (missing ones are fine) and return how many were asked for."""
        keys = list(dict.fromkeys(keys))
        if not keys:
            return 0
        try:
            errors = [e for e in self.client.remove_objects(self.bucket, (DeleteObject(k) for k in keys))
                      if e.code not in _MISSING]
        except _FAILURES as exc:
            raise StorageError(f"removing {len(keys)} objects failed: {type(exc).__name__}: {exc}") from exc
        if errors:
            raise StorageError(f"{len(errors)} objects not removed, first {errors[0].name}: {errors[0].code}")
        return len(keys)

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Yield every object whose key starts with *prefix*, in key order."""
        try:
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                yield ObjectInfo(obj.object_name, obj.size or 0, obj.etag, obj.last_modified)
        except _FAILURES as exc:
            raise StorageError(f"listing {prefix} failed: {type(exc).__name__}: {exc}") from exc

    def list_keys(self, prefix: str) -> list[str]:
        """Return the keys of every object under *prefix*."""
        return [obj.key for obj in self.list_objects(prefix)]

    # --- whole objects with their headers (storage.archive: backup and restore) ---

    def object_headers(self, key: str) -> dict[str, str]:
        """Return the headers an object was stored with: Content-Type and the like, and user metadata."""
        st = self._stat_object(key)
        return {name.lower(): value for name, value in (st.metadata or {}).items()
                if name.lower() in KEPT_HEADERS or name.lower().startswith("x-amz-meta-")}

    def put_stream(self, key: str, stream, length: int, headers: dict[str, str]) -> None:
        """Store *length* bytes read from *stream* (multipart when large) with these headers."""
        headers = dict(headers)
        content_type = headers.pop("content-type", "application/octet-stream")
        try:
            self.client.put_object(self.bucket, key, stream, length, content_type=content_type,
                                   metadata=headers or None, part_size=64 * 1024 * 1024)
        except _FAILURES as exc:
            raise StorageError(f"storing {key} failed: {type(exc).__name__}: {exc}") from exc

    # --- multipart uploads (storage.multipart) ---

    def create_multipart(self, key: str, content_type: str = "application/octet-stream",
                         checksums: bool = False) -> str:
        """Start a multipart upload of *key* (its parts SHA-256 checked, with *checksums*); return its upload id."""
        return self.multipart.create(key, content_type, checksums)

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes, sha256: str | None = None) -> str:
        """Store one part (MinIO checks its base64 SHA-256, x-amz-checksum-sha256, when given); return its ETag."""
        return self.multipart.upload_part(key, upload_id, number, data, sha256)

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        """Return the parts MinIO holds for an upload; UploadNotFound when it is gone."""
        return self.multipart.list_parts(key, upload_id)

    def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        """Join the parts into the object *key*."""
        self.multipart.complete(key, upload_id, parts)

    def list_incomplete_uploads(self, prefix: str = "", keys: Iterable[str] = ()) -> list[IncompleteUpload]:
        """Return multipart uploads never completed nor aborted: those under *prefix*, and those of *keys*.

        MinIO's bucket-wide listing only knows uploads started since the server
        last started, and filters by an exact object name only; uploads from
        before a restart are found by asking for their exact *keys*. (MinIO also
        drops uploads older than its stale_uploads_expiry, 24 h by default.)
        """
        found = {u.upload_id: u for u in self.multipart.list_uploads() if u.key.startswith(prefix)}
        for key in dict.fromkeys(keys):
            found.update((u.upload_id, u) for u in self.multipart.list_uploads(key) if u.key == key)
        never = datetime.min.replace(tzinfo=timezone.utc)
        return sorted(found.values(), key=lambda u: (u.key, u.initiated_dt or never))

    def abort_incomplete_upload(self, key: str, upload_id: str) -> None:
        """Abort one multipart upload, freeing its parts (already gone is fine)."""
        self.multipart.abort(key, upload_id)


class MemoryStorage:
    """A dict standing in for MinIO in fast unit tests only."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, datetime] = {}
        self.headers: dict[str, dict[str, str]] = {}  # only what put_stream was given
        #: upload id → (key, started, {part number: (bytes, stored)})
        self.uploads: dict[str, tuple[str, datetime, dict[int, tuple[bytes, datetime]]]] = {}

    def ensure_bucket(self) -> bool:
        return False

    def health(self) -> tuple[bool, str]:
        return True, "ok (memory)"

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[key] = bytes(data)
        self.modified[key] = datetime.now(timezone.utc)

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)
        self.modified.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects

    def stat(self, key: str) -> ObjectInfo:
        return ObjectInfo(key, len(self.objects[key]), None, self.modified.get(key))

    def iter_object(self, key: str, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
        data = self.objects[key]
        for pos in range(0, len(data), block_size):
            yield data[pos:pos + block_size]

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if offset < 0 or length <= 0:
            raise ValueError(f"bad range offset={offset} length={length}")
        return self.objects[key][offset:offset + length]

    def remove_many(self, keys: Iterable[str]) -> int:
        keys = list(dict.fromkeys(keys))
        for key in keys:
            self.delete(key)
        return len(keys)

    def list_objects(self, prefix: str) -> Iterator[ObjectInfo]:
        for key in sorted(k for k in self.objects if k.startswith(prefix)):
            yield self.stat(key)

    def list_keys(self, prefix: str) -> list[str]:
        return [obj.key for obj in self.list_objects(prefix)]

    def object_headers(self, key: str) -> dict[str, str]:
        return dict(self.headers.get(key) or {"content-type": "application/octet-stream"})

    def put_stream(self, key: str, stream, length: int, headers: dict[str, str]) -> None:
        self.put_bytes(key, stream.read(length))
        self.headers[key] = dict(headers)

    def create_multipart(self, key: str, content_type: str = "application/octet-stream",
                         checksums: bool = False) -> str:
        upload_id = secrets.token_hex(16)
        self.uploads[upload_id] = (key, datetime.now(timezone.utc), {})
        return upload_id

    def _upload(self, key: str, upload_id: str) -> dict:
        found = self.uploads.get(upload_id)
        if found is None or found[0] != key:
            raise UploadNotFound(key)
        return found[2]

    def upload_part(self, key: str, upload_id: str, number: int, data: bytes, sha256: str | None = None) -> str:
        parts = self._upload(key, upload_id)
        # refused like MinIO refuses a wrong x-amz-checksum-sha256; the ETag stays the MD5 hex, as MinIO's
        if sha256 is not None and sha256 != base64.b64encode(hashlib.sha256(data).digest()).decode():
            raise PartRefused("XAmzContentChecksumMismatch")
        parts[number] = (bytes(data), datetime.now(timezone.utc), sha256)
        return hashlib.md5(data).hexdigest()

    def list_parts(self, key: str, upload_id: str) -> list[PartInfo]:
        parts = self._upload(key, upload_id)
        return [PartInfo(n, len(data), hashlib.md5(data).hexdigest(), when, checksum)
                for n, (data, when, checksum) in sorted(parts.items())]

    def complete_multipart(self, key: str, upload_id: str, parts: list[PartInfo]) -> None:
        held = self._upload(key, upload_id)
        numbers = [p.number for p in parts]
        if not parts or numbers != sorted(set(numbers)):
            raise PartRefused("InvalidPartOrder")
        for part in parts:
            if part.number not in held or hashlib.md5(held[part.number][0]).hexdigest() != part.etag:
                raise PartRefused("InvalidPart")
        if any(len(held[n][0]) < MIN_PART_BYTES for n in numbers[:-1]):
            raise PartRefused("EntityTooSmall")
        self.put_bytes(key, b"".join(held[n][0] for n in numbers))
        del self.uploads[upload_id]

    def list_incomplete_uploads(self, prefix: str = "", keys: Iterable[str] = ()) -> list[IncompleteUpload]:
        return sorted((IncompleteUpload(key, upload_id, when) for upload_id, (key, when, _) in self.uploads.items()
                       if key.startswith(prefix) or key in set(keys)), key=lambda u: (u.key, u.initiated_dt))

    def abort_incomplete_upload(self, key: str, upload_id: str) -> None:
        if upload_id in self.uploads and self.uploads[upload_id][0] == key:
            del self.uploads[upload_id]


def init_app(app) -> None:
    """Build the configured backend; no network traffic happens here."""
    if app.config.get("STORAGE_BACKEND", "minio") == "memory":
        app.extensions["learnspace.storage"] = MemoryStorage()
        return
    s = app.config["LEARNSPACE"]
    app.extensions["learnspace.storage"] = MinioStorage(
        s.minio_endpoint, s.minio_access_key, s.minio_secret_key, s.minio_bucket, s.minio_secure
    )


def get_storage():
    """Return the application's storage backend."""
    return current_app.extensions["learnspace.storage"]
