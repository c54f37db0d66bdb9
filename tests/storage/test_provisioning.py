"""The app's least-privilege MinIO user, against the real MinIO: what it may do, what it is refused."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import secrets
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from minio import Minio
from minio.credentials import StaticProvider
from minio.error import MinioAdminException, S3Error
from minio.minioadmin import MinioAdmin

from learnspace.storage import MinioStorage, StorageError
from learnspace.storage.provisioning import (
    AppCredentials,
    app_policy,
    app_user_name,
    policy_name,
    provision,
    read_app_credentials,
)

pytestmark = pytest.mark.minio_only  # MinIO's admin API (users, policies); other servers: tests/storage/test_s3_alt.py

S3 = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PART = 5 * 1024 * 1024  # S3's smallest part but the last


def fresh_bucket() -> str:
    return f"ls-prov-{secrets.token_hex(5)}"


@pytest.fixture
def provisioned(minio_server):
    """A bucket of its own with its app user, made with the root credentials."""
    bucket = fresh_bucket()
    done = provision(minio_server["endpoint"], minio_server["access_key"], minio_server["secret_key"], bucket)
    return bucket, done.credentials


def client_for(minio_server, creds: AppCredentials) -> Minio:
    return Minio(minio_server["endpoint"], creds.access_key, creds.secret_key, secure=False, region="us-east-1")


def root_admin(minio_server) -> MinioAdmin:
    provider = StaticProvider(minio_server["access_key"], minio_server["secret_key"])
    return MinioAdmin(endpoint=minio_server["endpoint"], credentials=provider, secure=False)


def test_the_app_user_does_the_apps_storage_operations_in_its_bucket(minio_server, provisioned):
    """Every MinioStorage operation the app uses works as the app user: put, multipart, read, list, delete."""
    bucket, creds = provisioned
    storage = MinioStorage(minio_server["endpoint"], creds.access_key, creds.secret_key, bucket)
    assert storage.ensure_bucket() is False  # exists: the app user never needs to create it
    assert storage.health() == (True, "ok")
    storage.put_bytes("a/small.txt", b"hello")
    assert storage.get_bytes("a/small.txt") == b"hello"
    first, last = os.urandom(PART), os.urandom(1000)
    upload_id = storage.create_multipart("a/joined")
    assert [u.key for u in storage.list_incomplete_uploads("a/")] == ["a/joined"]
    for number, data in ((2, last), (1, first)):  # each with its x-amz-checksum-sha256, as the browser sends it
        checksum = base64.b64encode(hashlib.sha256(data).digest()).decode()
        storage.upload_part("a/joined", upload_id, number, data, checksum)
    storage.complete_multipart("a/joined", upload_id, storage.list_parts("a/joined", upload_id))
    assert storage.read_range("a/joined", PART - 2, 4) == first[-2:] + last[:2]
    storage.put_bytes("a/other.txt", b"bye")
    assert storage.list_keys("a/") == ["a/joined", "a/other.txt", "a/small.txt"]
    assert storage.list_incomplete_uploads("a/") == []
    assert storage.remove_many(["a/other.txt", "a/small.txt"]) == 2
    storage.delete("a/joined")
    assert storage.list_keys("a/") == []


def test_the_app_user_runs_a_multipart_upload_through_presigned_urls(minio_server, provisioned):
    """Start, part PUT, list parts, complete and abort through URLs the app user signs; it lists unfinished uploads."""
    bucket, creds = provisioned
    client = client_for(minio_server, creds)
    storage = MinioStorage(minio_server["endpoint"], creds.access_key, creds.secret_key, bucket)

    def signed(method: str, key: str | None, **query) -> str:
        return client.get_presigned_url(method, bucket, key, expires=timedelta(seconds=60),
                                        extra_query_params=query or None)

    def upload_id_of(response: requests.Response) -> str:
        assert response.status_code == 200, response.text
        return ET.fromstring(response.content).findtext(f"{S3}UploadId")

    upload_id = upload_id_of(requests.post(signed("POST", "video.mp4", uploads=""), timeout=10))
    data = os.urandom(PART)
    put = requests.put(signed("PUT", "video.mp4", partNumber="1", uploadId=upload_id), data=data, timeout=30)
    assert put.status_code == 200, put.text
    assert [u.upload_id for u in storage.list_incomplete_uploads("video")] == [upload_id]  # ListBucketMultipartUploads
    parts = requests.get(signed("GET", "video.mp4", uploadId=upload_id), timeout=10)
    assert parts.status_code == 200
    assert [e.text for e in ET.fromstring(parts.content).iter(f"{S3}ETag")] == [put.headers["ETag"]]
    body = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{put.headers['ETag']}</ETag></Part>"
            "</CompleteMultipartUpload>")
    done = requests.post(signed("POST", "video.mp4", uploadId=upload_id), data=body, timeout=30)
    assert done.status_code == 200, done.text
    assert client.stat_object(bucket, "video.mp4").size == PART

    other = upload_id_of(requests.post(signed("POST", "dropped.mp4", uploads=""), timeout=10))
    assert requests.delete(signed("DELETE", "dropped.mp4", uploadId=other), timeout=10).status_code == 204
    assert storage.list_incomplete_uploads() == []


def test_the_app_user_is_refused_outside_its_bucket(minio_server, provisioned):
    """Another bucket (read, write, list), new buckets, removing its own or setting its policy are AccessDenied."""
    bucket, creds = provisioned
    root = Minio(minio_server["endpoint"], minio_server["access_key"], minio_server["secret_key"], secure=False)
    other = fresh_bucket()
    root.make_bucket(other)
    root.put_object(other, "secret.txt", io.BytesIO(b"not yours"), 9)
    client = client_for(minio_server, creds)
    attempts = {
        "get": lambda: client.get_object(other, "secret.txt"),
        "put": lambda: client.put_object(other, "x.txt", io.BytesIO(b"x"), 1),
        "delete": lambda: client.remove_object(other, "secret.txt"),
        "list": lambda: list(client.list_objects(other)),
        "make bucket": lambda: client.make_bucket(fresh_bucket()),
        "delete own bucket": lambda: client.remove_bucket(bucket),
        "bucket policy": lambda: client.set_bucket_policy(bucket, json.dumps(app_policy(bucket))),
    }
    for name, attempt in attempts.items():
        with pytest.raises(S3Error) as refused:
            attempt()
        assert refused.value.code == "AccessDenied", name
    assert root.get_object(other, "secret.txt").read() == b"not yours"
    assert [b.name for b in client.list_buckets()] == [bucket]  # MinIO lists only what the user may see
    # A presigned URL of the app user for the other bucket is refused by MinIO too.
    url = client.presigned_get_object(other, "secret.txt", expires=timedelta(seconds=60))
    assert requests.get(url, timeout=10).status_code == 403


def test_the_app_user_is_refused_admin_calls(minio_server, provisioned):
    """Listing users or adding one with the app user's keys is refused: it cannot widen its own rights."""
    _, creds = provisioned
    admin = MinioAdmin(endpoint=minio_server["endpoint"], credentials=StaticProvider(creds.access_key,
                                                                                       creds.secret_key), secure=False)
    for attempt in (admin.user_list, lambda: admin.user_add("ls-intruder", secrets.token_hex(12)),
                    lambda: admin.policy_set("consoleAdmin", user=creds.access_key)):
        with pytest.raises(MinioAdminException) as refused:
            attempt()
        assert refused.value._code == "403"
    assert "ls-intruder" not in root_admin(minio_server).user_list()


def test_provisioning_twice_changes_nothing_and_rotation_retires_the_old_secret(minio_server):
    """Same user, same secret, one policy attached; --rotate gives a new secret and the old one stops working."""
    bucket, endpoint = fresh_bucket(), minio_server["endpoint"]
    root = (minio_server["access_key"], minio_server["secret_key"])
    first = provision(endpoint, *root, bucket)
    assert first.bucket_created and first.secret_changed
    second = provision(endpoint, *root, bucket, current=first.credentials)
    assert second.credentials == first.credentials
    assert not second.bucket_created and not second.secret_changed
    info = json.loads(root_admin(minio_server).user_info(app_user_name(bucket)))
    assert info["policyName"] == policy_name(bucket) and info["status"] == "enabled"
    stored = json.loads(root_admin(minio_server).policy_info(policy_name(bucket)))
    assert [(sorted(st["Action"]), st["Resource"]) for st in stored["Statement"]] == [
        (sorted(st["Action"]), st["Resource"]) for st in app_policy(bucket)["Statement"]]

    rotated = provision(endpoint, *root, bucket, current=first.credentials, rotate=True)
    assert rotated.credentials.access_key == first.credentials.access_key
    assert rotated.credentials.secret_key != first.credentials.secret_key
    assert client_for(minio_server, rotated.credentials).bucket_exists(bucket)
    with pytest.raises(S3Error):
        client_for(minio_server, first.credentials).bucket_exists(bucket)


def test_provisioning_with_wrong_admin_credentials_is_a_storage_error(minio_server):
    """The message says the admin request was refused; nothing is created."""
    bucket = fresh_bucket()
    with pytest.raises(StorageError, match="refused"):
        provision(minio_server["endpoint"], minio_server["access_key"], "wrong-" + secrets.token_hex(8), bucket)
    root = Minio(minio_server["endpoint"], minio_server["access_key"], minio_server["secret_key"], secure=False)
    assert not root.bucket_exists(bucket)


def test_the_session_app_runs_as_the_least_privilege_user(app, minio_server):
    """The suite's app holds the app user's keys, not the root ones, and its presigned URLs name that user."""
    from learnspace.storage.delivery import presigned_get_url

    settings = app.config["LEARNSPACE"]
    assert settings.minio_access_key == minio_server["app_access_key"] != minio_server["access_key"]
    with app.app_context():
        url = presigned_get_url("lessons/x.mp4", expires_seconds=30)
    credential = re.search(r"X-Amz-Credential=([^&]+)", url).group(1)
    assert requests.utils.unquote(credential).split("/")[0] == minio_server["app_access_key"]
    assert minio_server["access_key"] not in url


# --- the command ---------------------------------------------------------------------------------

def run_cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEARNSPACE_")}
    return subprocess.run([sys.executable, "-m", "learnspace.cli", *args], env={**base, **env},
                          capture_output=True, text=True, timeout=60, cwd="/")


def test_the_provision_command_writes_a_private_file_the_app_starts_from(minio_server, tmp_path):
    """`storage provision` writes var/minio-app.env (0600); a rerun keeps it; `init` then runs as that user."""
    var = tmp_path / "var"
    var.mkdir()
    (var / "minio.env").write_text(f"MINIO_ROOT_USER={minio_server['access_key']}\n"
                                   f"MINIO_ROOT_PASSWORD={minio_server['secret_key']}\n")
    bucket = fresh_bucket()
    env = {"LEARNSPACE_VAR_DIR": str(var), "LEARNSPACE_MINIO_ENDPOINT": minio_server["endpoint"],
           "LEARNSPACE_MINIO_BUCKET": bucket, "LEARNSPACE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "LEARNSPACE_SEARCH_DIR": str(tmp_path / "search"), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    first = run_cli(env, "storage", "provision")
    assert first.returncode == 0, first.stderr
    assert f"bucket {bucket} created" in first.stdout and "new secret" in first.stdout
    app_file = var / "minio-app.env"
    assert stat.S_IMODE(app_file.stat().st_mode) == 0o600
    creds = read_app_credentials(app_file)
    assert creds.access_key == app_user_name(bucket) and minio_server["secret_key"] not in app_file.read_text()

    again = run_cli(env, "storage", "provision")
    assert again.returncode == 0 and "secret kept" in again.stdout, again.stderr
    assert read_app_credentials(app_file) == creds

    init = run_cli(env, "init")
    assert init.returncode == 0, init.stderr
    assert "storage: bucket ready" in init.stdout


def test_the_provision_command_never_overwrites_the_root_credentials(minio_server, tmp_path):
    """Pointing the app's file at the root file is refused, and the root file is left as it was."""
    root_file = tmp_path / "minio.env"
    text = f"MINIO_ROOT_USER={minio_server['access_key']}\nMINIO_ROOT_PASSWORD={minio_server['secret_key']}\n"
    root_file.write_text(text)
    env = {"LEARNSPACE_VAR_DIR": str(tmp_path), "LEARNSPACE_MINIO_ENDPOINT": minio_server["endpoint"],
           "LEARNSPACE_MINIO_CREDENTIALS_FILE": str(root_file), "LEARNSPACE_MINIO_BUCKET": fresh_bucket(),
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    result = run_cli(env, "storage", "provision")
    assert result.returncode == 1 and "root credentials" in result.stderr and "Traceback" not in result.stderr
    assert root_file.read_text() == text


def test_init_as_the_app_user_without_the_bucket_says_to_provision(minio_server, provisioned, tmp_path):
    """The app user may not create buckets: init names the missing bucket and the command that makes it."""
    _, creds = provisioned
    env = {"LEARNSPACE_VAR_DIR": str(tmp_path), "LEARNSPACE_MINIO_ENDPOINT": minio_server["endpoint"],
           "LEARNSPACE_MINIO_ACCESS_KEY": creds.access_key, "LEARNSPACE_MINIO_SECRET_KEY": creds.secret_key,
           "LEARNSPACE_MINIO_BUCKET": fresh_bucket(), "LEARNSPACE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
           "LEARNSPACE_SEARCH_DIR": str(tmp_path / "search"), "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    result = run_cli(env, "init")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "learnspace storage provision" in result.stderr and env["LEARNSPACE_MINIO_BUCKET"] in result.stderr


def test_a_credentials_file_with_root_keys_is_refused_with_directions(tmp_path, monkeypatch):
    """The app does not start from MinIO's root file: the message says to provision the app user."""
    from learnspace.config import ConfigError, load_config, validate

    for name in list(os.environ):
        if name.startswith("LEARNSPACE_"):
            monkeypatch.delenv(name)
    (tmp_path / "minio.env").write_text("MINIO_ROOT_USER=lsroot123\nMINIO_ROOT_PASSWORD=a-long-secret-value\n")
    monkeypatch.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LEARNSPACE_MINIO_CREDENTIALS_FILE", str(tmp_path / "minio.env"))
    with pytest.raises(ConfigError, match="learnspace storage provision"):
        validate(load_config())
    assert Path(tmp_path / "minio.env").read_text().startswith("MINIO_ROOT_USER=lsroot123")


def test_scripts_make_the_app_user_and_leave_only_its_file_in_the_environment(minio_server, tmp_path):
    """scripts/lib.sh's ls_minio_app_user (what scripts/run does before starting the web server and worker)."""
    var = tmp_path / "var"
    var.mkdir()
    root_file = var / "minio.env"
    root_file.write_text(f"MINIO_ROOT_USER={minio_server['access_key']}\n"
                         f"MINIO_ROOT_PASSWORD={minio_server['secret_key']}\n")
    command = tmp_path / "learnspace"
    command.write_text(f'#!/bin/sh\nexec {sys.executable} -m learnspace.cli "$@"\n')
    command.chmod(0o755)
    lib = Path(__file__).resolve().parents[2] / "scripts" / "lib.sh"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEARNSPACE_")},
           "LEARNSPACE_VAR_DIR": str(var), "LEARNSPACE_MINIO_ENDPOINT": minio_server["endpoint"],
           "LEARNSPACE_MINIO_BUCKET": fresh_bucket(), "LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE": str(root_file),
           "MINIO_ROOT_USER": minio_server["access_key"], "MINIO_ROOT_PASSWORD": minio_server["secret_key"]}
    result = subprocess.run(["bash", "-c", f'set -euo pipefail; . "{lib}"; ls_minio_app_user "{command}"; env'],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    child_env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert child_env["LEARNSPACE_MINIO_CREDENTIALS_FILE"] == str(var / "minio-app.env")
    assert read_app_credentials(var / "minio-app.env").access_key == app_user_name(env["LEARNSPACE_MINIO_BUCKET"])
    assert not {"LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"} & set(child_env)
    assert minio_server["secret_key"] not in result.stdout
