"""Handing stored objects to browsers and tools: presigned URLs, byte ranges, download names.

Presigned URLs are signed for the host that will fetch them: the public endpoint
for browsers (``LEARNSPACE_MINIO_PUBLIC_ENDPOINT``), the internal endpoint for
ffprobe on the server. S3 signatures cover the Host header, so a URL signed for
one host does not work through another: a reverse proxy in front of MinIO
must pass the Host header unchanged, and the server's region must be REGION.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from datetime import timedelta
from urllib.parse import quote, urlsplit

import urllib3
from flask import current_app
from minio import Minio
from minio.error import MinioException, S3Error

from ..config import ConfigError
from .backends import MemoryStorage, StorageError, get_storage

log = logging.getLogger(__name__)

#: MinIO's default region. Given explicitly so that presigning is pure computation
#: (the SDK would otherwise ask the server for the bucket's region first).
REGION = "us-east-1"
#: bytes handed to the WSGI server at a time when streaming a range through the app
BLOCK_SIZE = 256 * 1024


def _split_endpoint(endpoint: str, default_secure: bool) -> tuple[str, bool]:
    """Accept ``host:port`` or ``http(s)://host:port`` and return (host:port, secure)."""
    if "://" in endpoint:
        parts = urlsplit(endpoint)
        return parts.netloc, parts.scheme == "https"
    return endpoint, default_secure


def public_origin(settings) -> str:
    """Return the origin (scheme://host:port) browsers use to reach MinIO, for the CSP."""
    host, secure = _split_endpoint(settings.minio_public_endpoint or settings.minio_endpoint,
                                   settings.minio_secure)
    # It ends up in a response header and in signatures: a host and port, nothing else.
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?", host):
        raise ConfigError("LEARNSPACE_MINIO_PUBLIC_ENDPOINT must be host:port or http(s)://host:port, "
                          f"got {host!r}")
    return f"{'https' if secure else 'http'}://{host}"


def _presigner(public: bool) -> Minio:
    """Return (and cache on the app) a client used only to sign URLs for one endpoint."""
    name = "learnspace.storage.presign_public" if public else "learnspace.storage.presign_internal"
    client = current_app.extensions.get(name)
    if client is None:
        s = current_app.config["LEARNSPACE"]
        endpoint = (s.minio_public_endpoint or s.minio_endpoint) if public else s.minio_endpoint
        host, secure = _split_endpoint(endpoint, s.minio_secure)
        client = Minio(host, access_key=s.minio_access_key, secret_key=s.minio_secret_key,
                       secure=secure, region=REGION)
        current_app.extensions[name] = client
    return client


def ascii_fallback(name: str) -> str:
    """Return a plain-ASCII stand-in for *name* for clients that ignore ``filename*``."""
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    ext = re.sub(r"[^A-Za-z0-9]", "", ext)[:10]
    plain = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^A-Za-z0-9._()\- ]+", "_", plain).strip(" ._")
    plain = re.sub(r"_+", "_", plain)
    if not re.search(r"[A-Za-z0-9]", plain):
        plain = "file"
    return f"{plain[:100]}.{ext}" if ext else plain[:100]


def clean_name(name: str) -> str:
    """Drop any path and control characters from a user-supplied file name."""
    name = re.split(r"[/\\]", name or "")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name or "file"


def content_disposition(name: str, *, inline: bool = False) -> str:
    """Build an RFC 6266 Content-Disposition with an ASCII fallback and the UTF-8 name (RFC 5987)."""
    name = clean_name(name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


def presigned_get_url(key: str, *, expires_seconds: int, download_name: str | None = None,
                      content_type: str | None = None, public: bool = True) -> str:
    """Return a short-lived GET URL for *key*, signed for the public (browser) or internal endpoint."""
    storage = get_storage()
    if isinstance(storage, MemoryStorage):
        raise StorageError("the in-memory storage cannot presign URLs")
    headers = {}
    if download_name is not None:
        headers["response-content-disposition"] = content_disposition(download_name)
    if content_type:
        headers["response-content-type"] = content_type
    try:
        return _presigner(public).presigned_get_object(
            storage.bucket, key, expires=timedelta(seconds=max(1, expires_seconds)),
            response_headers=headers or None)
    except (MinioException, ValueError) as exc:
        raise StorageError(str(exc)) from exc


def object_size(key: str) -> int:
    """Return the size in bytes of a stored object; KeyError when it does not exist."""
    storage = get_storage()
    if isinstance(storage, MemoryStorage):
        return len(storage.get_bytes(key))
    try:
        return storage.client.stat_object(storage.bucket, key).size
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject"):
            raise KeyError(key) from exc
        raise StorageError(str(exc)) from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageError(str(exc)) from exc


class ObjectStream:
    """An iterable over one byte range of an object that returns its connection when closed.

    The request to MinIO is made when the stream is created, so a missing object
    or a dead server is reported before any response header is sent. WSGI
    servers call ``close()`` also when the browser goes away mid-stream.
    """

    def __init__(self, response, length: int):
        self._response = response
        self.length = length

    def __iter__(self):
        sent = 0
        try:
            for block in self._response.stream(BLOCK_SIZE):
                sent += len(block)
                yield block
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Headers are gone already; cutting the body short is all that is left to do.
            log.warning("object stream broke after %d of %d bytes: %s", sent, self.length, type(exc).__name__)
        finally:
            self.close()

    def close(self) -> None:
        if self._response is not None:
            self._response.close()
            self._response.release_conn()
            self._response = None


class _BytesStream:
    """The in-memory backend's equivalent of ObjectStream."""

    def __init__(self, data: bytes):
        self._data = data
        self.length = len(data)

    def __iter__(self):
        for pos in range(0, len(self._data), BLOCK_SIZE):
            yield self._data[pos:pos + BLOCK_SIZE]

    def close(self) -> None:
        self._data = b""


def open_range(key: str, start: int, end: int):
    """Open bytes *start*..*end* (inclusive) of an object as a closeable iterable of blocks."""
    if start < 0 or end < start:
        raise ValueError(f"bad range {start}-{end}")
    storage = get_storage()
    if isinstance(storage, MemoryStorage):
        return _BytesStream(storage.get_bytes(key)[start:end + 1])
    try:
        response = storage.client.get_object(storage.bucket, key, offset=start, length=end - start + 1)
    except S3Error as exc:
        if exc.code in ("NoSuchKey", "NoSuchObject"):
            raise KeyError(key) from exc
        raise StorageError(str(exc)) from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageError(str(exc)) from exc
    return ObjectStream(response, end - start + 1)
