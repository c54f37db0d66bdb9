"""`learnspace backup` and `learnspace restore`: a populated instance restored into a new database, bucket and var.

PostgreSQL (production's database; pg_dump and pg_restore of the local cluster) and the session's real
MinIO, where the restore target is a new bucket with its own least-privilege user.
"""
from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from learnspace.extensions import db


def _rows(engine) -> dict[str, list[tuple]]:
    """Every row of every table (mapped tables and alembic_version), in primary-key order."""
    found = {}
    with engine.connect() as conn:
        present = set(inspect(conn).get_table_names())
        for table in db.metadata.sorted_tables:
            assert table.name in present, f"{table.name} missing"
            order = list(table.primary_key.columns) or list(table.columns)
            found[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
        found["alembic_version"] = [tuple(r) for r in conn.execute(text("SELECT * FROM alembic_version"))]
    return found


def _objects(storage) -> dict[str, tuple[bytes, dict]]:
    return {info.key: (storage.get_bytes(info.key), storage.object_headers(info.key))
            for info in storage.list_objects("")}


@pytest.fixture
def new_postgres_database(app, postgres_url):
    """A new empty database next to the test one; dropped afterwards."""
    from psycopg import sql

    from tests.fixtures.backends import _admin_connection

    if not postgres_url:
        pytest.fail("this test needs PostgreSQL (LEARNSPACE_TEST_POSTGRES_URL)", pytrace=False)
    name = f"{make_url(postgres_url).database[:40]}_restore_{secrets.token_hex(3)}"
    with _admin_connection(postgres_url) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    with _admin_connection(postgres_url) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_backup_then_restore_into_a_new_environment_gives_the_same_rows_objects_keys_and_search(
        app, world, make_app, minio_server, new_postgres_database, tmp_path):
    """Populate, back up, restore elsewhere: 0 differing rows, byte-identical objects, reconcile finds nothing."""
    from learnspace.accounts import idcard
    from learnspace.accounts.models import User
    from learnspace.backup.cli import backup_command, restore_command
    from learnspace.comments import operations as comments
    from learnspace.lessons import view_counts
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.reconcile import reconcile
    from learnspace.search.query import search
    from learnspace.storage import get_storage
    from tests.fixtures.lessons import make_lesson
    from tests.fixtures.media import store_ready_file

    with app.app_context():
        teacher, student = world.people["teacher_a1"], world.people["student_a1"]
        lesson_ids = [make_lesson(teacher, world.schools["a1"], status="published", visibility="public")
                      for _ in range(2)]
        for lesson_id, title in zip(lesson_ids, ("勾股定理的证明", "在牛肚子里旅行")):
            db.session.get(Lesson, lesson_id).title = title
        db.session.commit()
        store_ready_file(lesson_ids[0], b"\x00\x01mp4" * 5000)
        store_ready_file(lesson_ids[1], b"%PDF-1.4 plan", kind="lesson_plan", original_name="教学设计.pdf",
                         content_type="application/pdf")
        key = f"spaces/{teacher}/{secrets.token_hex(4)}.txt"  # user metadata must come back too
        get_storage().put_stream(key, __import__("io").BytesIO(b"notes"), 5,
                                 {"content-type": "text/plain; charset=utf-8", "x-amz-meta-origin": "courseware"})
        comments.post_comment(db.session.get(User, teacher), db.session.get(Lesson, lesson_ids[0]), "欢迎提问")
        view_counts.record_view(lesson_ids[0], "u1")
        view_counts.record_view(lesson_ids[1], "aab")  # one left pending: the backup keeps it pending
        view_counts.count_batch(limit=1)
        db.session.commit()
        made_keys = [k for i in lesson_ids for k in get_storage().list_keys(f"lessons/{i}/")] + [key]
        source_objects = _objects(get_storage())
        id_card = idcard.decrypt(db.session.get(User, student).id_card_encrypted)
        # Earlier tests may leave objects no row refers to in the shared bucket: the copy must have the same.
        source_report = reconcile(dry_run=True, orphan_grace=timedelta(0))
        db.session.rollback()
        source_key = app.config["LEARNSPACE"].data_key

    folder = tmp_path / "backup"
    done = app.test_cli_runner().invoke(backup_command, [str(folder)])
    assert done.exit_code == 0, done.output
    assert "[1/3] 数据库" in done.output and "备份完成" in done.output
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["database"]["dialect"] == "postgresql" and manifest["tables"]["lessons"] >= 2
    assert manifest["objects"]["count"] == len(source_objects)
    assert (folder / "keys" / "README.md").read_text().startswith("# 密钥")
    assert oct((folder / "keys" / "data.key").stat().st_mode & 0o777) == "0o600"

    bucket = f"ls-restore-{secrets.token_hex(3)}"
    var = tmp_path / "var2"
    target = make_app(env={"LEARNSPACE_DATABASE_URL": new_postgres_database, "LEARNSPACE_VAR_DIR": str(var),
                           "LEARNSPACE_SEARCH_DIR": str(var / "search"),
                           **minio_server["server"].app_env(bucket)})
    assert target.config["LEARNSPACE"].data_key != source_key  # the new environment made its own at start
    restored = target.test_cli_runner().invoke(restore_command, [str(folder)])
    assert restored.exit_code == 0, restored.output
    assert "[5/5] 重建搜索索引" in restored.output and "恢复完成" in restored.output

    again = target.test_cli_runner().invoke(restore_command, [str(folder)])
    assert again.exit_code != 0 and "目标环境不是空的" in again.output and "--force" in again.output

    source_engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=NullPool)
    target_engine = create_engine(new_postgres_database, poolclass=NullPool)
    before, after = _rows(source_engine), _rows(target_engine)
    source_engine.dispose()
    target_engine.dispose()
    # Search replicas are per node: the restore drops the old environment's cursors, the rebuild writes its own.
    assert [row[0] for row in after.pop("search_nodes")] == [target.config["LEARNSPACE"].node_id]
    before.pop("search_nodes")
    differing = [name for name in before if before[name] != after[name]]
    assert differing == [], f"tables that differ after the restore: {differing}"
    assert before["lesson_views"] and before["comments"]

    with target.app_context():
        assert _objects(get_storage()) == source_objects  # bytes and headers, every object
        report = reconcile(dry_run=True, orphan_grace=timedelta(0))
        assert report == source_report, report.lines()  # nothing more to repair than in the original
        assert not set(report.orphans) & set(made_keys) and not report.missing
        assert (var / "data.key").read_text().strip() == (folder / "keys" / "data.key").read_text().strip()
        assert idcard.decrypt(db.session.get(User, student).id_card_encrypted) == id_card
        found = {hit["id"] for hit in search(None, q="勾股定理", per_page=50).hits}
        assert lesson_ids[0] in found
        assert view_counts.count_all() == 1  # the pending view is counted in the restored instance
        db.session.remove()

    with app.app_context():
        get_storage().remove_many(made_keys)


def test_restore_refuses_an_incomplete_or_damaged_backup_and_writes_nothing(app, tmp_path):
    """No manifest: refused; a damaged object file: refused before the database or bucket is touched."""
    from learnspace.backup.cli import backup_command, restore_command

    (tmp_path / "half").mkdir()
    refused = app.test_cli_runner().invoke(restore_command, [str(tmp_path / "half")])
    assert refused.exit_code != 0 and "不是完整的备份" in refused.output

    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "x").write_text("x")
    refused = app.test_cli_runner().invoke(backup_command, [str(occupied)])
    assert refused.exit_code != 0 and "不是空的" in refused.output

    folder = tmp_path / "backup"
    assert app.test_cli_runner().invoke(backup_command, [str(folder)]).exit_code == 0
    (folder / "keys" / "data.key").write_text("not-the-key\n")
    refused = app.test_cli_runner().invoke(restore_command, [str(folder)])
    assert refused.exit_code != 0 and "与备份清单不符" in refused.output


def test_sqlite_backup_and_restore_copy_the_file_and_the_objects(make_app, tmp_path):
    """The embedded default: the sqlite3 backup API into database.sqlite, restored into a new file and var."""
    import io

    from flask_migrate import upgrade

    from learnspace.backup.cli import backup_command, restore_command
    from learnspace.orgs import operations as orgs
    from learnspace.storage import get_storage

    def sqlite_env(name: str) -> dict:
        var = tmp_path / name
        return {"LEARNSPACE_DATABASE_URL": f"sqlite:///{var / 'learnspace.db'}", "LEARNSPACE_VAR_DIR": str(var),
                "LEARNSPACE_SEARCH_DIR": str(var / "search")}

    source = make_app(env=sqlite_env("one"), overrides={"STORAGE_BACKEND": "memory"})
    with source.app_context():
        upgrade()
        orgs.create_region("430000", "湖南省")
        db.session.commit()
        get_storage().put_stream("spaces/1/a.txt", io.BytesIO(b"hello"), 5, {"content-type": "text/plain"})
    folder = tmp_path / "backup"
    done = source.test_cli_runner().invoke(backup_command, [str(folder)])
    assert done.exit_code == 0, done.output
    assert (folder / "database.sqlite").is_file() and not (folder / "database.dump").exists()

    target = make_app(env=sqlite_env("two"), overrides={"STORAGE_BACKEND": "memory"})
    restored = target.test_cli_runner().invoke(restore_command, [str(folder)])
    assert restored.exit_code == 0, restored.output
    with target.app_context():
        assert db.session.scalar(text("SELECT name FROM regions WHERE code = '430000'")) == "湖南省"
        assert get_storage().get_bytes("spaces/1/a.txt") == b"hello"
        assert get_storage().object_headers("spaces/1/a.txt") == {"content-type": "text/plain"}
        assert target.config["LEARNSPACE"].data_key == source.config["LEARNSPACE"].data_key
        db.session.execute(text("UPDATE regions SET name = '改过的'"))
        db.session.commit()
        get_storage().put_bytes("spaces/2/later.txt", b"later")
        db.session.remove()
    refused = target.test_cli_runner().invoke(restore_command, [str(folder)])
    assert refused.exit_code != 0 and "目标环境不是空的" in refused.output
    forced = target.test_cli_runner().invoke(restore_command, [str(folder), "--force"])
    assert forced.exit_code == 0, forced.output
    with target.app_context():  # back to the backup's state: the change and the later object are gone
        assert db.session.scalar(text("SELECT name FROM regions WHERE code = '430000'")) == "湖南省"
        assert get_storage().list_keys("") == ["spaces/1/a.txt"]
        db.session.remove()
