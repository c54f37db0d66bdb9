"""Another S3-compatible server (the Versity S3 Gateway): what LearnSpace does where MinIO's admin API is missing.

The storage and upload modules run against it in scripts/test's "s3-alt" step
(LEARNSPACE_TEST_S3=versitygw); these tests start a gateway of their own in every
pass, so the refusal of `storage provision` is checked whichever server the session has.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from minio import Minio

from learnspace.storage import StorageError
from learnspace.storage.provisioning import NotMinio, is_minio, provision
from tests.fixtures.s3_alt import VersityProcess


@pytest.fixture
def gateway(tmp_path):
    server = VersityProcess(tmp_path / "vgw").start()
    yield server
    server.stop()


def test_provisioning_on_another_s3_server_makes_nothing_and_says_what_to_do(gateway):
    root = Minio(gateway.endpoint, gateway.access_key, gateway.secret_key, secure=False, region="us-east-1")
    with pytest.raises(NotMinio) as refused:
        provision(gateway.endpoint, gateway.access_key, gateway.secret_key, "learnspace-other")
    assert "不是 MinIO" in str(refused.value) and "LEARNSPACE_MINIO_CREDENTIALS_FILE" in str(refused.value)
    assert isinstance(refused.value, StorageError)
    assert root.list_buckets() == []  # checked before any write: no bucket half set up


def test_the_provision_command_on_another_s3_server_exits_with_directions(gateway, tmp_path):
    (tmp_path / "minio.env").write_text(f"MINIO_ROOT_USER={gateway.access_key}\n"
                                        f"MINIO_ROOT_PASSWORD={gateway.secret_key}\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEARNSPACE_")}
    env = {**base, "LEARNSPACE_VAR_DIR": str(tmp_path), "LEARNSPACE_MINIO_ENDPOINT": gateway.endpoint,
           "LEARNSPACE_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-m", "learnspace.cli", "storage", "provision"], env=env,
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 1 and "不是 MinIO" in done.stderr and "MINIO_ACCESS_KEY" in done.stderr, done.stderr
    assert not (tmp_path / "minio-app.env").exists()


def test_the_app_user_on_the_gateway_owns_its_bucket_and_nothing_else(gateway):
    """The gateway's stand-in for MinIO's bucket policy: a user of role "user" sees only the bucket it owns."""
    env = gateway.app_env(bucket="learnspace-own")
    app = Minio(gateway.endpoint, env["LEARNSPACE_MINIO_ACCESS_KEY"], env["LEARNSPACE_MINIO_SECRET_KEY"],
                secure=False, region="us-east-1")
    root = Minio(gateway.endpoint, gateway.access_key, gateway.secret_key, secure=False, region="us-east-1")
    root.make_bucket("someone-else")
    assert app.bucket_exists("learnspace-own")
    with pytest.raises(Exception) as denied:
        app.list_objects("someone-else").__next__()
    assert "AccessDenied" in str(denied.value)


def test_is_minio_tells_the_session_server_apart(minio_server, gateway):
    assert is_minio(minio_server["endpoint"]) is (os.environ.get("LEARNSPACE_TEST_S3", "minio") == "minio")
    assert is_minio(gateway.endpoint) is False
