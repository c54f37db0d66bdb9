"""The ``learnspace`` command (init, demo) and the configuration it starts from."""
from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.fixtures.helpers import free_port, login

LEARNSPACE = str(Path(sys.executable).parent / "learnspace")


# --- helpers -------------------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch):
    """Remove every LEARNSPACE_* variable (the session app exported some) for config tests."""
    for name in list(os.environ):
        if name.startswith("LEARNSPACE_"):
            monkeypatch.delenv(name)
    return monkeypatch


def run_command(env: dict, *args: str, timeout: int = 60) -> subprocess.CompletedProcess:
    """Run the installed console script in a fresh process with only *env* as LEARNSPACE_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("LEARNSPACE_")}
    return subprocess.run([LEARNSPACE, *args], env={**base, **env}, capture_output=True, text=True,
                          timeout=timeout, cwd="/")


def process_env(tmp_path: Path, minio_server: dict, **changes: str) -> dict:
    """Settings for a process with its own var dir, SQLite file, bucket and index."""
    env = {
        "LEARNSPACE_VAR_DIR": str(tmp_path / "var"),
        "LEARNSPACE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "LEARNSPACE_MINIO_ENDPOINT": minio_server["endpoint"],
        "LEARNSPACE_MINIO_ACCESS_KEY": minio_server["access_key"],
        "LEARNSPACE_MINIO_SECRET_KEY": minio_server["secret_key"],
        "LEARNSPACE_MINIO_BUCKET": f"ls-cli-{secrets.token_hex(4)}",
        "LEARNSPACE_SEARCH_DIR": str(tmp_path / "search"),
    }
    env.update({f"LEARNSPACE_{k}": v for k, v in changes.items()})
    return env


def assert_clean_failure(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit code 1, every expected word in the message, and no Python traceback."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    for word in words:
        assert word in output, output


# --- init ------------------------------------------------------------------------------------

def test_init_creates_database_bucket_and_index_and_is_idempotent(make_app, minio_server, tmp_path):
    """On empty storage ``init`` creates everything; the second run finds everything ready and changes nothing."""
    from learnspace.cli import main
    from learnspace.extensions import db
    from learnspace.search.generations import health as search_health
    from learnspace.storage import get_storage

    fresh = make_app(env=process_env(tmp_path, minio_server))
    runner = fresh.test_cli_runner()

    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    assert "database: up to date" in first.output
    assert "storage: bucket created" in first.output
    assert "search: index created" in first.output
    with fresh.app_context():
        tables = set(db.inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables
        assert get_storage().health()[0] is True
        assert search_health()[0] is True
        get_storage().put_bytes("marker", b"survives a second init")

    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert "storage: bucket ready" in second.output
    assert "search: index ready" in second.output
    with fresh.app_context():
        assert get_storage().get_bytes("marker") == b"survives a second init"
        assert set(db.inspect(db.engine).get_table_names()) == tables


def test_init_rebuilds_an_index_written_with_an_older_set_of_fields(make_app, minio_server, tmp_path):
    """An upgrade that adds an index field (册次): init finds the live index lacks it and rebuilds it."""
    from whoosh import index as whoosh_index

    from learnspace.cli import main
    from learnspace.search import generations
    from learnspace.search.schema import make_schema

    fresh = make_app(env=process_env(tmp_path, minio_server))
    runner = fresh.test_cli_runner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    with fresh.app_context():
        older = make_schema()
        older.remove("volume")
        path = generations.new_generation_dir()
        whoosh_index.create_in(str(path), older, indexname=generations.INDEX_NAME)
        generations.swap_to(path)
        assert generations.schema_outdated() is True

    again = runner.invoke(main, ["init"])
    assert again.exit_code == 0, again.output
    assert "rebuilding it from the database" in again.output
    with fresh.app_context():
        assert generations.schema_outdated() is False
        assert "volume" in generations.open_index().schema.names()
    assert "rebuilding" not in runner.invoke(main, ["init"]).output


def test_init_with_minio_unreachable_exits_with_a_clear_message(minio_server, tmp_path):
    """The console script names MinIO and its address and exits 1, without a traceback."""
    port = free_port()
    result = run_command(process_env(tmp_path, minio_server, MINIO_ENDPOINT=f"127.0.0.1:{port}"), "init")
    assert_clean_failure(result, "MinIO 无法连接", f"127.0.0.1:{port}")


def test_init_with_the_database_down_exits_with_a_clear_message(minio_server, tmp_path):
    """A PostgreSQL URL nobody answers: 数据库无法连接 with host and port, the password never printed."""
    password = "pw" + secrets.token_hex(6)
    url = f"postgresql+psycopg://nobody:{password}@127.0.0.1:1/none"
    result = run_command(process_env(tmp_path, minio_server, DATABASE_URL=url), "init")
    assert_clean_failure(result, "数据库无法连接", "127.0.0.1:1/none")
    assert password not in result.stdout + result.stderr


def test_init_with_an_unopenable_sqlite_path_exits_with_a_clear_message(minio_server, tmp_path):
    """An SQLite file in a directory that does not exist is reported, not a traceback."""
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'x.db'}"
    result = run_command(process_env(tmp_path, minio_server, DATABASE_URL=url), "init")
    assert_clean_failure(result, "数据库无法连接")


def test_a_command_without_minio_credentials_explains_what_to_set(minio_server, tmp_path):
    """No credentials anywhere: the message names the variables and the credentials file, no traceback."""
    env = process_env(tmp_path, minio_server, MINIO_CREDENTIALS_FILE=str(tmp_path / "absent.env"))
    del env["LEARNSPACE_MINIO_ACCESS_KEY"], env["LEARNSPACE_MINIO_SECRET_KEY"]
    result = run_command(env, "init")
    assert_clean_failure(result, "LEARNSPACE_MINIO_ACCESS_KEY", "LEARNSPACE_MINIO_SECRET_KEY")


def test_an_unsupported_database_url_is_a_clear_configuration_error(minio_server, tmp_path):
    """A MySQL URL is refused at start-up with the supported schemes named."""
    result = run_command(process_env(tmp_path, minio_server, DATABASE_URL="mysql://u:p@127.0.0.1/x"), "init")
    assert_clean_failure(result, "LEARNSPACE_DATABASE_URL", "postgresql+psycopg")


# --- demo ------------------------------------------------------------------------------------

def demo_counts() -> dict:
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School
    from learnspace.spaces.models import Space

    scalar = db.session.scalar
    return {
        "provinces": scalar(select(func.count()).where(Region.level == "province")),
        "cities": scalar(select(func.count()).where(Region.level == "city")),
        "counties": scalar(select(func.count()).where(Region.level == "county")),
        "schools": scalar(select(func.count()).select_from(School)),
        "students": scalar(select(func.count()).where(User.role == "student")),
        "teachers": scalar(select(func.count()).where(User.role == "teacher")),
        "admins": scalar(select(func.count()).where(User.role.like("%admin"))),
        "spaces": scalar(select(func.count()).select_from(Space)),
        "with_id_card": scalar(select(func.count()).where(User.id_card_hash.is_not(None))),
    }


def printed_passwords(output: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(\S+)\s+(Demo[0-9a-f]{8})\b", output, re.MULTILINE))


def test_demo_loads_a_province_and_is_safe_to_run_twice(app, client):
    """Two cities, four counties, twelve schools, hundreds of people, some activated; a rerun adds nobody."""
    from learnspace.cli import main

    runner = app.test_cli_runner()

    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    with app.app_context():
        counts = demo_counts()
    assert (counts["provinces"], counts["cities"], counts["counties"], counts["schools"]) == (1, 2, 4, 12)
    assert counts["students"] + counts["teachers"] >= 200
    assert counts["teachers"] >= 12 and counts["students"] >= 12 * 10
    assert 0 < counts["spaces"] < counts["students"] + counts["teachers"]
    assert counts["with_id_card"] > 0
    passwords = printed_passwords(first.output)
    assert {"admin", "hunan", "furong", "school1"} <= set(passwords)

    second = runner.invoke(main, ["demo"])
    assert second.exit_code == 0, second.output
    with app.app_context():
        assert demo_counts() == counts
    new_passwords = printed_passwords(second.output)
    assert set(new_passwords) == set(passwords)
    assert all(new_passwords[k] != passwords[k] for k in passwords)

    # The printed password is the one that works now, the first run's no longer does.
    assert login(client, "admin", passwords["admin"]).status_code != 302
    assert login(client, "admin", new_passwords["admin"]).status_code == 302


# --- configuration ------------------------------------------------------------------------------

def test_missing_minio_credentials_raise_config_error(clean_env, tmp_path):
    """Without credentials in the environment or in var/minio-app.env, validate() says what to set and run."""
    from learnspace.config import ConfigError, load_config, validate

    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    config = load_config()
    with pytest.raises(ConfigError, match="LEARNSPACE_MINIO_ACCESS_KEY") as info:
        validate(config)
    assert str(tmp_path / "minio-app.env") in str(info.value)
    assert "learnspace storage provision" in str(info.value)


def test_credentials_are_read_from_the_app_credentials_file(clean_env, tmp_path):
    """The app user's file `learnspace storage provision` writes is enough to start; the root file is not read."""
    from learnspace.config import load_config, validate

    (tmp_path / "minio-app.env").write_text("MINIO_ACCESS_KEY=lsuser123\nMINIO_SECRET_KEY=a-long-secret-value\n")
    (tmp_path / "minio.env").write_text("MINIO_ROOT_USER=lsroot123\nMINIO_ROOT_PASSWORD=the-root-secret-value\n")
    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    config = load_config()
    validate(config)
    settings = config["LEARNSPACE"]
    assert (settings.minio_access_key, settings.minio_secret_key) == ("lsuser123", "a-long-secret-value")


def test_the_well_known_minioadmin_credential_is_refused(clean_env, tmp_path):
    """MinIO's documented default user minioadmin is refused even when set explicitly."""
    from learnspace.config import ConfigError, load_config, validate

    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    clean_env.setenv("LEARNSPACE_MINIO_ACCESS_KEY", "minioadmin")
    clean_env.setenv("LEARNSPACE_MINIO_SECRET_KEY", "minioadmin")
    with pytest.raises(ConfigError, match="well-known"):
        validate(load_config())


def test_secret_and_data_key_files_are_created_0600_and_reused(clean_env, tmp_path):
    """First start writes var/secret.key and var/data.key readable by the owner only, even with umask 000."""
    from learnspace.config import load_config

    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path / "var"))
    old_umask = os.umask(0)
    try:
        first = load_config()
    finally:
        os.umask(old_umask)
    for name in ("secret.key", "data.key"):
        mode = stat.S_IMODE((tmp_path / "var" / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    assert len(first["LEARNSPACE"].data_key) == 32
    assert len(first["SECRET_KEY"]) >= 32

    second = load_config()
    assert second["LEARNSPACE"].data_key == first["LEARNSPACE"].data_key
    assert second["SECRET_KEY"] == first["SECRET_KEY"]


def test_keys_from_the_environment_are_used_and_no_files_are_written(clean_env, tmp_path):
    """LEARNSPACE_SECRET_KEY and LEARNSPACE_DATA_KEY take precedence; nothing is written to var/."""
    import base64

    from learnspace.config import load_config

    key = bytes(range(32))
    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path / "var"))
    clean_env.setenv("LEARNSPACE_SECRET_KEY", "s" * 40)
    clean_env.setenv("LEARNSPACE_DATA_KEY", base64.urlsafe_b64encode(key).decode())
    config = load_config()
    assert config["LEARNSPACE"].data_key == key and config["SECRET_KEY"] == "s" * 40
    assert not (tmp_path / "var" / "data.key").exists()
    assert not (tmp_path / "var" / "secret.key").exists()


@pytest.mark.parametrize("value", ["not base64 at all!", "c2hvcnQ="])
def test_a_malformed_data_key_is_refused(clean_env, tmp_path, value):
    """A data key that is not 32 bytes of URL-safe base64 is a ConfigError, not a crash later."""
    from learnspace.config import ConfigError, load_config

    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    clean_env.setenv("LEARNSPACE_DATA_KEY", value)
    with pytest.raises(ConfigError, match="LEARNSPACE_DATA_KEY"):
        load_config()


def test_a_non_integer_setting_is_refused_with_its_name(clean_env, tmp_path):
    """LEARNSPACE_SESSION_IDLE_MINUTES=abc names the variable."""
    from learnspace.config import ConfigError, load_config

    clean_env.setenv("LEARNSPACE_VAR_DIR", str(tmp_path))
    clean_env.setenv("LEARNSPACE_SESSION_IDLE_MINUTES", "abc")
    with pytest.raises(ConfigError, match="LEARNSPACE_SESSION_IDLE_MINUTES"):
        load_config()
