"""The app's own MinIO user: allowed into its bucket only, made with the admin (root) credentials.

The web process and the worker never hold the admin credentials: ``learnspace
storage provision`` (run by ``scripts/run`` before the app starts) uses them to
create the bucket, a policy ``learnspace-app-<bucket>`` and a user
``learnspace-app-<bucket>`` with that one policy, and writes the user's keys to a
0600 file the app reads through ``LEARNSPACE_MINIO_CREDENTIALS_FILE``. A leaked
presigned URL then names that user, who can touch nothing outside the bucket.
Running it again changes nothing: the policy is rewritten as it is, the user
keeps the secret already written to the file (``rotate=True`` makes a new one).
"""
from __future__ import annotations

import logging
import os
import secrets
import string
import time
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.credentials import StaticProvider
from minio.error import MinioAdminException, MinioException
from minio.minioadmin import MinioAdmin

from ..config import read_env_file
from .backends import StorageError

log = logging.getLogger(__name__)

#: object actions the app needs: store, read (also ranges and presigned GETs), delete, and the
#: S3 multipart upload the browser feeds through presigned part URLs (start and complete are PutObject)
OBJECT_ACTIONS = ("s3:GetObject", "s3:PutObject", "s3:DeleteObject",
                  "s3:ListMultipartUploadParts", "s3:AbortMultipartUpload")
#: bucket actions: does it exist (HEAD is ListBucket), list keys, find unfinished multipart uploads
BUCKET_ACTIONS = ("s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads")
#: keys of the credentials file the app reads (learnspace.config)
ACCESS_KEY_NAME, SECRET_KEY_NAME = "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"
#: what MinIO accepts: secret keys of 8 to 40 characters
SECRET_LENGTH = 40
_ALPHABET = string.ascii_letters + string.digits  # no quoting needed in env files or URLs


class NotMinio(StorageError):
    """The server speaks S3 but is not MinIO: no admin API to make the app's user with."""


def is_minio(endpoint: str, *, secure: bool = False, http: urllib3.PoolManager | None = None) -> bool:
    """Return whether the server at *endpoint* is MinIO: it answers MinIO's liveness probe with 200."""
    http = http or urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=10), retries=False)
    try:
        answer = http.request("GET", f"{'https' if secure else 'http'}://{endpoint}/minio/health/live", retries=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise StorageError(f"the storage server at {endpoint} is not reachable: {exc}") from exc
    return answer.status == 200


def not_minio_message(endpoint: str, bucket: str) -> str:
    """Say what to do when the admin credentials point at an S3 server that is not MinIO."""
    return (f"{endpoint} 上的对象存储不是 MinIO，没有 MinIO 的管理接口，无法自动建立应用用户。"
            f"请用该服务器自己的工具建立存储桶 {bucket} 和一个只能访问它的用户，把该用户的密钥写入 "
            "LEARNSPACE_MINIO_CREDENTIALS_FILE 指向的文件（MINIO_ACCESS_KEY=…、MINIO_SECRET_KEY=…，"
            "或设 LEARNSPACE_MINIO_ACCESS_KEY/LEARNSPACE_MINIO_SECRET_KEY），并且不要设置 "
            "LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE，scripts/run 就会直接使用这个用户。"
            f" / {endpoint} is an S3 server but not MinIO: make the bucket and a user limited to it with "
            "that server's own tools and give the app that user's keys (README, \"Another S3-compatible server\").")


@dataclass(frozen=True)
class AppCredentials:
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class Provisioned:
    credentials: AppCredentials
    policy: str
    bucket_created: bool
    secret_changed: bool


def app_user_name(bucket: str) -> str:
    """Return the access key of the app's user for *bucket* (stable, so re-running finds the same user)."""
    return f"learnspace-app-{bucket}"


def policy_name(bucket: str) -> str:
    """Return the name of the policy that lets the app into *bucket* and nowhere else."""
    return f"learnspace-app-{bucket}"


def app_policy(bucket: str) -> dict:
    """Return the IAM policy document of the app user: its bucket's objects and listings, nothing else."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": list(BUCKET_ACTIONS), "Resource": [f"arn:aws:s3:::{bucket}"]},
            {"Effect": "Allow", "Action": list(OBJECT_ACTIONS), "Resource": [f"arn:aws:s3:::{bucket}/*"]},
        ],
    }


def new_secret() -> str:
    """Return a random secret key MinIO accepts."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(SECRET_LENGTH))


def provision(endpoint: str, admin_access_key: str, admin_secret_key: str, bucket: str, *,
              secure: bool = False, current: AppCredentials | None = None, rotate: bool = False) -> Provisioned:
    """Create or update the bucket, the app policy and the app user; return the user's credentials.

    *current* is what the credentials file holds: its secret is kept (set again, so a user
    removed from MinIO comes back) unless *rotate* or it belongs to another user.
    """
    http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=3, read=30),
                               retries=urllib3.Retry(total=2, backoff_factor=0.2))
    provider = StaticProvider(admin_access_key, admin_secret_key)
    admin = MinioAdmin(endpoint=endpoint, credentials=provider, secure=secure, http_client=http)
    client = Minio(endpoint, credentials=provider, secure=secure, http_client=http)
    user, policy = app_user_name(bucket), policy_name(bucket)
    keep = current is not None and current.access_key == user and not rotate
    secret = current.secret_key if keep else new_secret()
    # Before any write: on another S3 server nothing is made, and the message says what to do instead.
    if not is_minio(endpoint, secure=secure, http=http):
        raise NotMinio(not_minio_message(endpoint, bucket))
    try:
        created = not client.bucket_exists(bucket)
        if created:
            client.make_bucket(bucket)
        _when_initialized(lambda: admin.policy_add(policy, policy=app_policy(bucket)))  # creates or replaces
        admin.user_add(user, secret)  # creates, or sets the secret (and enables) when it exists
        # set-user-policy replaces the user's policies by exactly this one (attach would keep others)
        admin.policy_set(policy, user=user)
    except MinioAdminException as exc:
        raise StorageError(f"MinIO refused the admin request at {endpoint} "
                           f"(are these the root/admin credentials?): {exc}") from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError, ValueError) as exc:
        raise StorageError(f"MinIO at {endpoint} is not reachable or refused: {exc}") from exc
    log.info("MinIO app user %s has policy %s on bucket %s (secret %s)", user, policy, bucket,
             "kept" if keep else "new")
    return Provisioned(AppCredentials(user, secret), policy, created, not keep)


def _when_initialized(request, wait_seconds: float = 30.0):
    """Run an admin request, waiting while a just-started MinIO answers "not initialized yet" (503).

    MinIO serves S3 and its live probe before its IAM subsystem is up; admin calls made in that
    window fail with XMinioServerNotInitialized.
    """
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return request()
        except MinioAdminException as exc:
            if "XMinioServerNotInitialized" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)



def read_app_credentials(path: Path) -> AppCredentials | None:
    """Return the app credentials a file holds, or None when it holds none."""
    values = read_env_file(path)
    if values.get(ACCESS_KEY_NAME) and values.get(SECRET_KEY_NAME):
        return AppCredentials(values[ACCESS_KEY_NAME], values[SECRET_KEY_NAME])
    return None


def write_app_credentials(path: Path, credentials: AppCredentials, bucket: str) -> None:
    """Write the app credentials to *path* (mode 0600), replacing it in one step."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(f"# LearnSpace's MinIO user, limited to the bucket {bucket}; "
                     "written by `learnspace storage provision`\n"
                     f"{ACCESS_KEY_NAME}={credentials.access_key}\n{SECRET_KEY_NAME}={credentials.secret_key}\n")
    os.replace(tmp, path)

