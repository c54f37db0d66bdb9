"""The database as one file: pg_dump's custom format on PostgreSQL, the sqlite3 backup API on SQLite.

On PostgreSQL the dump and the row counts of the manifest come from one snapshot (pg_export_snapshot,
pg_dump --snapshot), so the counts describe exactly what was dumped while the app keeps running.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ..errors import LearnSpaceError
from ..extensions import db


class BackupError(LearnSpaceError):
    """A backup or restore that cannot go on; the message says what to do."""


def dialect() -> str:
    return db.engine.dialect.name


def table_names() -> list[str]:
    """Return the tables of the app's database (its schema on PostgreSQL)."""
    return sorted(inspect(db.engine).get_table_names())


def row_counts(conn) -> dict[str, int]:
    """Count the rows of every mapped table (and alembic_version) on *conn*."""
    present = set(inspect(conn).get_table_names())
    names = [t.name for t in db.metadata.sorted_tables if t.name in present]
    counts = {name: conn.scalar(select(func.count()).select_from(db.metadata.tables[name])) for name in names}
    if "alembic_version" in present:
        counts["alembic_version"] = conn.scalar(text("SELECT count(*) FROM alembic_version"))
    return counts


def alembic_revision(conn) -> str | None:
    if "alembic_version" not in inspect(conn).get_table_names():
        return None
    return conn.scalar(text("SELECT version_num FROM alembic_version"))


def _sqlite_path() -> str:
    path = make_url(str(db.engine.url)).database
    if not path or path == ":memory:":
        raise BackupError("SQLite 数据库必须是一个文件。 / the SQLite database must be a file")
    return path


def _pg_tool(conn, name: str) -> str:
    """Find *name* (pg_dump, pg_restore) of the server's major version, as scripts/lib.sh finds the cluster's."""
    override = os.environ.get("LEARNSPACE_PG_BIN")
    major = int(conn.scalar(text("SHOW server_version_num"))) // 10000
    for candidate in ([Path(override) / name] if override else []) + [Path(f"/usr/lib/postgresql/{major}/bin/{name}")]:
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"找不到 {name}（PostgreSQL {major} 的客户端工具）。请安装 postgresql-client-{major}，"
                          f"或用 LEARNSPACE_PG_BIN 指定其所在目录。")
    return found


def _pg_connection_args() -> tuple[list[str], dict[str, str]]:
    """Return libpq arguments and environment for the app's database (the password goes in PGPASSWORD)."""
    url = make_url(db.engine.url.render_as_string(hide_password=False))
    args = ["-h", url.host or "127.0.0.1", "-p", str(url.port or 5432), "-d", url.database or ""]
    if url.username:
        args += ["-U", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if "options" in url.query:  # e.g. -csearch_path=... of a non-default schema
        env["PGOPTIONS"] = str(url.query["options"])
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{what}失败（{Path(command[0]).name} 退出码 {done.returncode}）：{done.stderr.strip()[-800:]}")
    return done.stdout


def dump(target: Path) -> dict:
    """Write the database to *target*; return the manifest's facts (dialect, tool, counts, revision)."""
    if dialect() == "sqlite":
        src, out = sqlite3.connect(_sqlite_path(), timeout=30), sqlite3.connect(target)
        try:
            src.backup(out)  # a consistent copy, even while others write
        finally:
            src.close()
            out.close()
        copy = create_engine(f"sqlite:///{target}", poolclass=NullPool)
        try:  # counted in the copy: exactly what was backed up
            with copy.connect() as conn:
                counts, revision = row_counts(conn), alembic_revision(conn)
        finally:
            copy.dispose()
        return {"dialect": "sqlite", "tool": f"sqlite3 {sqlite3.sqlite_version}", "tables": counts,
                "alembic_revision": revision}
    with db.engine.connect() as conn:
        conn.execute(text("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        counts, revision = row_counts(conn), alembic_revision(conn)
        server = conn.scalar(text("SHOW server_version"))
        tool = _pg_tool(conn, "pg_dump")
        args, env = _pg_connection_args()
        # The snapshot stays valid while this transaction is open: pg_dump reads exactly what we counted.
        _run([tool, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
              "--file", str(target), *args], env, "导出数据库（pg_dump）")
        version = _run([tool, "--version"], env, "pg_dump --version").strip()
        conn.execute(text("COMMIT"))
    return {"dialect": "postgresql", "tool": version, "server_version": server, "tables": counts,
            "alembic_revision": revision}


@contextmanager
def _no_pooled_connections():
    db.session.remove()
    db.engine.dispose()
    try:
        yield
    finally:
        db.engine.dispose()


def load(source: Path, *, force: bool) -> None:
    """Write the dump *source* into the app's database (which the caller checked is empty, or forced)."""
    with _no_pooled_connections():
        if dialect() == "sqlite":
            path = _sqlite_path()
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            src, out = sqlite3.connect(source), sqlite3.connect(path, timeout=30)
            try:
                src.backup(out)  # replaces the whole file's content
            finally:
                src.close()
                out.close()
            return
        with db.engine.connect() as conn:
            tool = _pg_tool(conn, "pg_restore")
        args, env = _pg_connection_args()
        options = ["--clean", "--if-exists"] if force else []
        _run([tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", *options,
              *args, str(source)], env, "恢复数据库（pg_restore）")
