"""The MinIO backend and an in-memory stand-in for fast unit tests."""
from __future__ import annotations

import io
import logging

import urllib3
from flask import current_app
from minio import Minio
from minio.error import MinioException, S3Error

log = logging.getLogger(__name__)


class StorageError(RuntimeError):
    """Object storage failed or is unreachable."""


class MinioStorage:
    """Objects in one bucket of a real MinIO (or other S3) server."""

    def __init__(self, endpoint: str, access_key: str, secret_key: str, bucket: str, secure: bool = False):
        # Short timeouts and few retries: a dead MinIO should be reported, not waited on.
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=60),
                                   retries=urllib3.Retry(total=2, backoff_factor=0.2))
        self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                            secure=secure, http_client=http)
        self.endpoint = endpoint
        self.bucket = bucket

    def ensure_bucket(self) -> bool:
        """Create the bucket when missing; returns True when it was created."""
        try:
            if self.client.bucket_exists(self.bucket):
                return False
            self.client.make_bucket(self.bucket)
            return True
        except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"MinIO at {self.endpoint} is not reachable or refused: {exc}") from exc

    def health(self) -> tuple[bool, str]:
        """Report whether the server answers and the bucket exists."""
        try:
            if self.client.bucket_exists(self.bucket):
                return True, "ok"
            return False, f"bucket {self.bucket} missing"
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


class MemoryStorage:
    """A dict standing in for MinIO in fast unit tests only."""

    def __init__(self):
        self.objects: dict[str, bytes] = {}

    def ensure_bucket(self) -> bool:
        return False

    def health(self) -> tuple[bool, str]:
        return True, "ok (memory)"

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.objects[key] = bytes(data)

    def get_bytes(self, key: str) -> bytes:
        return self.objects[key]

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def exists(self, key: str) -> bool:
        return key in self.objects


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
