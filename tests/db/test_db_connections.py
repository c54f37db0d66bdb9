"""Connection settings: SQLite WAL/FULL/foreign keys on every connection, PostgreSQL survives restarts."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from learnspace.accounts.models import User
from learnspace.extensions import db


def pragmas(conn) -> tuple:
    return tuple(conn.execute(text(f"PRAGMA {name}")).scalar()
                 for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout"))


def test_sqlite_session_connection_uses_wal_full_sync_and_foreign_keys(sqlite_app):
    """The ORM session's connection reports journal_mode=wal, synchronous=2 (FULL), foreign_keys=1."""
    with sqlite_app.app_context():
        assert pragmas(db.session) == ("wal", 2, 1, 15000)


def test_sqlite_settings_apply_to_every_new_connection(sqlite_app):
    """Two pooled connections open at once (so neither is a reused one) both carry the settings."""
    with sqlite_app.app_context():
        _check_two_raw_connections()


def _check_two_raw_connections():
    # Raw DBAPI connections: SQLAlchemy connections would each BEGIN IMMEDIATE and wait for the other.
    first, second = db.engine.raw_connection(), db.engine.raw_connection()
    try:
        for raw in (first, second):
            cursor = raw.driver_connection
            assert tuple(cursor.execute(f"PRAGMA {name}").fetchone()[0]
                         for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")) == (
                "wal", 2, 1, 15000)
    finally:
        first.close()
        second.close()


def test_sqlite_enforces_foreign_keys(sqlite_app):
    """A person pointing at a school that does not exist is refused by the database itself."""
    with sqlite_app.app_context():
        db.session.add(User(role="student", real_name="无校", school_id=987654321, student_number="G-FK-1"))
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_postgresql_engines_ping_connections_before_use(make_app):
    """An app configured for PostgreSQL builds its engine with pool_pre_ping (no connection is made at boot)."""
    other = make_app(env={"LEARNSPACE_DATABASE_URL": "postgresql+psycopg://nobody:x@127.0.0.1:1/none"})
    with other.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.pool._pre_ping is True


def test_postgresql_app_recovers_after_its_connections_are_killed(empty_postgres_app):
    """Terminate every pooled backend (as a database restart would): the next query still succeeds."""
    import psycopg

    with empty_postgres_app.app_context():
        # Fill the pool with a few live connections, then hand them all back.
        conns = [db.engine.connect() for _ in range(3)]
        pids = {c.execute(text("SELECT pg_backend_pid()")).scalar() for c in conns}
        for c in conns:
            c.close()
        db.session.remove()

        dsn = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(dsn, autocommit=True) as killer:
            killed = killer.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND usename = current_user AND pid <> pg_backend_pid()"
            ).fetchall()
            assert len(killed) >= len(pids)
            deadline = time.time() + 10
            while killer.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)",
                                 (list(pids),)).fetchone()[0] and time.time() < deadline:
                time.sleep(0.05)

        new_pid = db.session.execute(text("SELECT pg_backend_pid()")).scalar()
        assert new_pid not in pids
