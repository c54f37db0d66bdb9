"""Alembic: one head, ``upgrade head`` on an empty database gives exactly the models, every downgrade runs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from learnspace.config import REPO_ROOT
from learnspace.extensions import db

MIGRATIONS = REPO_ROOT / "migrations"


def script_directory() -> ScriptDirectory:
    return ScriptDirectory(str(MIGRATIONS))


def schema_diff() -> list:
    """What ``flask db check`` would report for the current app's database (empty when in step)."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def current_revision() -> str | None:
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


@pytest.fixture
def fresh_app(make_app, tmp_path):
    """A second app on a brand-new, empty SQLite file (the session database is left alone)."""
    return make_app(env={"LEARNSPACE_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}"})


def test_the_script_directory_has_exactly_one_head():
    """Two heads would mean two branches that nobody merged."""
    assert len(script_directory().get_heads()) == 1


def test_every_revision_has_a_downgrade_and_a_date_prefixed_file():
    """Each revision module defines upgrade() and downgrade(), in a file named YYYYMMDD_<rev>_<slug>.py."""
    revisions = list(script_directory().walk_revisions())
    assert revisions
    for rev in revisions:
        assert callable(getattr(rev.module, "upgrade", None)), rev.revision
        assert callable(getattr(rev.module, "downgrade", None)), rev.revision
        assert re.match(r"^\d{8}_" + re.escape(rev.revision) + r"_\w+\.py$", Path(rev.path).name), rev.path


def test_upgrade_head_on_an_empty_database_gives_exactly_the_models(fresh_app):
    """Alembic's autogenerate comparison finds nothing to add, drop or alter after ``upgrade head``."""
    with fresh_app.app_context():
        assert tables() == set()
        upgrade()
        assert schema_diff() == []
        assert tables() == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
        assert current_revision() == script_directory().get_current_head()


def test_each_downgrade_runs_step_by_step_down_to_base_and_back(fresh_app):
    """Downgrade one revision at a time to base (no table left), then upgrade again to a model-exact schema."""
    expected = [rev.down_revision for rev in script_directory().walk_revisions()]  # head first
    with fresh_app.app_context():
        upgrade()
        with db.engine.begin() as conn:  # data must not block a downgrade that drops tables
            conn.execute(text("INSERT INTO regions (code, name, level, created_dt) "
                              "VALUES ('430000', '湖南省', 'province', '2026-01-01 00:00:00')"))
        steps = []
        while current_revision() is not None:
            downgrade(revision="-1")
            steps.append(current_revision())
        assert steps == expected
        assert tables() <= {"alembic_version"}
        upgrade()
        assert schema_diff() == []


def test_the_session_database_is_in_step_with_the_models(app):
    """The database the other tests use (SQLite or PostgreSQL) was built by Alembic and matches the models."""
    with app.app_context():
        assert schema_diff() == []
        assert current_revision() == script_directory().get_current_head()


def test_postgresql_upgrade_on_an_empty_schema_matches_and_downgrades_cleanly(empty_postgres_app):
    """On PostgreSQL too: empty schema → head has no autogenerate diff → base leaves no table → head again."""
    with empty_postgres_app.app_context():
        assert tables() == set()
        upgrade()
        assert schema_diff() == []
        assert tables() == {t.name for t in db.metadata.sorted_tables} | {"alembic_version"}
        downgrade(revision="base")
        assert tables() <= {"alembic_version"}
        upgrade()
        assert schema_diff() == []


def test_uploads_in_flight_under_the_chunk_protocol_are_failed_by_the_multipart_migration(fresh_app):
    """Migration 7c1e9a4d2f60: unfinished chunk uploads cannot go on as multipart uploads; ready files stay."""
    with fresh_app.app_context():
        upgrade(revision="a4be96cbe9be")
        with db.engine.begin() as conn:
            conn.execute(text("PRAGMA foreign_keys=OFF"))  # the file rows alone tell the story
            for file_id, status in ((1, "uploading"), (2, "verifying"), (3, "ready")):
                conn.execute(text(
                    "INSERT INTO lesson_files (id, lesson_id, kind, object_key, original_name, size, chunk_size, "
                    "status, created_dt) VALUES (:id, 1, 'courseware', :key, 'a.pdf', 10, 8388608, :status, "
                    "'2026-12-01 00:00:00')"), {"id": file_id, "key": f"lessons/1/files/{file_id}", "status": status})
        upgrade(revision="7c1e9a4d2f60")
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status, failure_reason, part_size, upload_id FROM lesson_files "
                                     "ORDER BY id")).all()
        reason = "系统升级后，未完成的上传需要重新开始：请重新选择文件上传。"
        assert [tuple(r) for r in rows] == [(1, "failed", reason, 8388608, None), (2, "failed", reason, 8388608, None),
                                            (3, "ready", None, 8388608, None)]
        assert "upload_chunks" not in tables()
