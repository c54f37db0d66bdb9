"""The MinIO backend and an in-memory stand-in for fast unit tests.

Large objects are never read whole: chunks are streamed in with a known length
(``put_stream``), joined server-side (``compose``) and read back in fixed blocks
(``iter_object``) or byte ranges (``read_range``).
"""
from __future__ import annotations

import hashlib
import io
import logging
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, Iterable, Iterator
from urllib.parse import quote

import urllib3
from flask import current_app
from minio import Minio
from minio.datatypes import Part
from minio.deleteobjects import DeleteObject
from minio.error import MinioException, S3Error

log = logging.getLogger(__name__)

#: bytes read from a stream or an object at a time: memory stays at a few blocks whatever the object size
BLOCK_SIZE = 1024 * 1024
#: S3 multipart limits that compose must respect
MIN_PART_BYTES = 5 * 1024 * 1024
MAX_PARTS = 10_000
#: part copies in flight during compose
COMPOSE_PARALLEL = 4
# What a dead, refusing or misbehaving server raises through the SDK and urllib3.
_FAILURES = (MinioException, urllib3.exceptions.HTTPError, OSError)
_MISSING = ("NoSuchKey", "NoSuchObject")


class StorageError(RuntimeError):
    """Object storage failed or is unreachable."""


class SourceStreamError(ValueError):
    """The stream being stored ended early or broke: the sender's fault, not the storage's; nothing was stored."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str | None = None
    last_modified: datetime | None = None
    content_type: str | None = None


@dataclass(frozen=True)
class IncompleteUpload:
    """A multipart upload that was started and never completed or aborted (its parts use disk)."""

    key: str
    upload_id: str
    initiated_dt: datetime | None


def _blocks(stream: BinaryIO, length: int, digest, block_size: int = BLOCK_SIZE) -> Iterator[bytes]:
    """Yield exactly *length* bytes of *stream* in blocks, hashing them; SourceStreamError when it ends early."""
    remaining = length
    while remaining:
        try:
            block = stream.read(min(block_size, remaining))
        except Exception as exc:  # werkzeug's ClientDisconnected, socket errors …: the sender went away
            raise SourceStreamError(f"stream broke with {remaining} of {length} bytes still to come") from exc
        if not block:
            raise SourceStreamError(f"stream ended with {remaining} of {length} bytes still to come")
        if len(block) > remaining:
            raise SourceStreamError("stream delivered more bytes than announced")
        remaining -= len(block)
        digest.update(block)
        yield block


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

    def put_stream(self, key: str, stream: BinaryIO, length: int,
                   content_type: str = "application/octet-stream") -> str:
        """Stream exactly *length* bytes of *stream* into one object and return their SHA-256 (hex).

        The SDK's put_object reads a whole part into memory and hashes it to
        sign the request; a presigned PUT (unsigned payload) lets the bytes flow
        through in blocks instead. A PUT is atomic: if the stream breaks, the
        connection is dropped and MinIO keeps whatever the key held before.
        """
        digest = hashlib.sha256()
        try:
            url = self.client.presigned_put_object(self.bucket, key, expires=timedelta(hours=1))
            response = self._http.request(
                "PUT", url, body=_blocks(stream, length, digest),
                headers={"Content-Length": str(length), "Content-Type": content_type},
                retries=False,  # a stream cannot be replayed
                timeout=urllib3.Timeout(connect=3, read=120))
        except SourceStreamError:
            raise
        except _FAILURES as exc:
            raise StorageError(f"storing {key} failed: {type(exc).__name__}: {exc}") from exc
        if response.status != 200:
            raise StorageError(f"storing {key} failed: HTTP {response.status} {_s3_error_code(response.data)}")
        return digest.hexdigest()

    def compose(self, key: str, sources: list[str], content_type: str | None = None) -> ObjectInfo:
        """Join the *sources* objects, in order, into *key* on the server (each but the last ≥ 5 MiB).

        The same multipart copy as the SDK's compose_object, but with several
        part copies in flight: MinIO copies faster than one request at a time.
        If it fails half-way, the multipart upload is aborted when MinIO still
        answers; otherwise it stays until remove_incomplete_uploads (or MinIO's
        own expiry of stale uploads) clears it.
        """
        if not sources or len(sources) > MAX_PARTS:
            raise ValueError(f"compose needs 1..{MAX_PARTS} sources, got {len(sources)}")
        headers = {"Content-Type": content_type} if content_type else {}
        client, upload_id = self.client, None
        try:
            upload_id = client._create_multipart_upload(self.bucket, key, headers)  # minio 7.2 private API

            def copy(number: int) -> Part:
                source = {"x-amz-copy-source": quote(f"/{self.bucket}/{sources[number - 1]}")}
                etag, _ = client._upload_part_copy(self.bucket, key, upload_id, number, source)
                return Part(number, etag)

            with ThreadPoolExecutor(COMPOSE_PARALLEL) as pool:
                parts = list(pool.map(copy, range(1, len(sources) + 1)))
            client._complete_multipart_upload(self.bucket, key, upload_id, parts)
        except S3Error as exc:
            self._abort_quietly(key, upload_id)
            if exc.code in _MISSING:
                raise KeyError(exc.resource or key) from exc
            if exc.code == "EntityTooSmall":
                raise ValueError(f"every part but the last must be at least {MIN_PART_BYTES} bytes") from exc
            raise StorageError(f"composing {key} failed: {exc}") from exc
        except _FAILURES as exc:
            self._abort_quietly(key, upload_id)
            raise StorageError(f"composing {key} failed: {type(exc).__name__}: {exc}") from exc
        return self.stat(key)

    def _abort_quietly(self, key: str, upload_id: str | None) -> None:
        if upload_id is None:
            return
        try:
            self.client._abort_multipart_upload(self.bucket, key, upload_id)
        except _FAILURES:
            log.info("incomplete upload of %s left behind; removed when the upload completes, or by reconcile", key)

    def stat(self, key: str) -> ObjectInfo:
        """Return size, ETag and date of an object; KeyError when it does not exist."""
        try:
            st = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                raise KeyError(key) from exc
            raise StorageError(str(exc)) from exc
        except _FAILURES as exc:
            raise StorageError(f"stat {key} failed: {type(exc).__name__}: {exc}") from exc
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

    def list_incomplete_uploads(self, prefix: str = "", keys: Iterable[str] = ()) -> list[IncompleteUpload]:
        """Return multipart uploads never completed nor aborted: those under *prefix*, and those of *keys*.

        MinIO's bucket-wide listing only knows uploads started since the server
        last started, and filters by an exact object name only; uploads from
        before a restart are found by asking for their exact *keys*. (MinIO also
        drops uploads older than its stale_uploads_expiry, 24 h by default.)
        """
        found: dict[str, IncompleteUpload] = {}
        try:
            for upload in self._list_multipart(None):
                if upload.object_name.startswith(prefix):
                    found[upload.upload_id] = IncompleteUpload(upload.object_name, upload.upload_id,
                                                               upload.initiated_time)
            for key in dict.fromkeys(keys):
                for upload in self._list_multipart(key):
                    if upload.object_name == key:
                        found[upload.upload_id] = IncompleteUpload(key, upload.upload_id, upload.initiated_time)
        except S3Error as exc:
            raise StorageError(f"listing incomplete uploads failed: {exc}") from exc
        except _FAILURES as exc:
            raise StorageError(f"listing incomplete uploads failed: {type(exc).__name__}: {exc}") from exc
        return sorted(found.values(), key=lambda u: (u.key, u.initiated_dt or datetime.min.replace(tzinfo=timezone.utc)))

    def _list_multipart(self, prefix: str | None):
        key_marker = upload_id_marker = None
        while True:
            result = self.client._list_multipart_uploads(  # the SDK has no public listing (minio 7.2)
                self.bucket, prefix=prefix, key_marker=key_marker, upload_id_marker=upload_id_marker,
                max_uploads=1000)
            yield from result.uploads
            # minio 7.2 stores NextUploadIdMarker under a misspelt attribute name.
            next_upload = (getattr(result, "next_upload_id_marker", None)
                           or getattr(result, "self._next_upload_id_marker", None))
            if not result.is_truncated or (result.next_key_marker, next_upload) == (key_marker, upload_id_marker):
                return
            key_marker, upload_id_marker = result.next_key_marker, next_upload

    def abort_incomplete_upload(self, key: str, upload_id: str) -> None:
        """Abort one incomplete multipart upload, freeing its parts (already gone is fine)."""
        try:
            self.client._abort_multipart_upload(self.bucket, key, upload_id)
        except S3Error as exc:
            if exc.code != "NoSuchUpload":
                raise StorageError(f"aborting upload of {key} failed: {exc}") from exc
        except _FAILURES as exc:
            raise StorageError(f"aborting upload of {key} failed: {type(exc).__name__}: {exc}") from exc

    def remove_incomplete_uploads(self, key: str) -> int:
        """Abort every incomplete multipart upload of exactly *key*; return how many."""
        try:
            upload_ids = [u.upload_id for u in self._list_multipart(key) if u.object_name == key]
        except S3Error as exc:
            raise StorageError(f"listing incomplete uploads of {key} failed: {exc}") from exc
        except _FAILURES as exc:
            raise StorageError(f"listing incomplete uploads of {key} failed: {type(exc).__name__}: {exc}") from exc
        for upload_id in upload_ids:
            self.abort_incomplete_upload(key, upload_id)
        return len(upload_ids)


def _s3_error_code(body: bytes) -> str:
    try:
        return ET.fromstring(body).findtext("Code") or ""
    except ET.ParseError:
        return ""


class MemoryStorage:
    """A dict standing in for MinIO in fast unit tests only."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}
        self.modified: dict[str, datetime] = {}

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

    def put_stream(self, key: str, stream: BinaryIO, length: int,
                   content_type: str = "application/octet-stream") -> str:
        digest = hashlib.sha256()
        data = b"".join(_blocks(stream, length, digest))  # all or nothing, like a PUT
        self.put_bytes(key, data, content_type)
        return digest.hexdigest()

    def compose(self, key: str, sources: list[str], content_type: str | None = None) -> ObjectInfo:
        if not sources or len(sources) > MAX_PARTS:
            raise ValueError(f"compose needs 1..{MAX_PARTS} sources, got {len(sources)}")
        for src in sources[:-1]:
            if len(self.objects[src]) < MIN_PART_BYTES:
                raise ValueError(f"source {src} is smaller than {MIN_PART_BYTES} bytes")
        self.put_bytes(key, b"".join(self.objects[src] for src in sources))
        return self.stat(key)

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

    def list_incomplete_uploads(self, prefix: str = "", keys: Iterable[str] = ()) -> list[IncompleteUpload]:
        return []  # nothing here is ever half-written

    def abort_incomplete_upload(self, key: str, upload_id: str) -> None:
        pass

    def remove_incomplete_uploads(self, key: str) -> int:
        return 0


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
