"""Units of work: one commit per request or command, rollback on error, and records that outlive a rollback."""
from __future__ import annotations

from contextlib import contextmanager

import click
from flask import g, has_app_context
from sqlalchemy import inspect

from . import acting
from .errors import LearnSpaceError
from .extensions import db


def keep_after_rollback(obj) -> None:
    """Add *obj* to the session and write it even if this unit of work is rolled back.

    For records of failures (audit entries, failed-attempt counters) that must
    outlive the refused request, which otherwise undoes everything it did.
    """
    db.session.add(obj)
    g.setdefault("kept_after_rollback", []).append(obj)


def rollback_keeping() -> None:
    """Roll back the current unit of work, then commit only what was marked to keep."""
    kept = g.pop("kept_after_rollback", []) if has_app_context() else []
    db.session.rollback()
    again = [obj for obj in kept if inspect(obj).transient]  # committed ones are already safe
    if again:
        db.session.add_all(again)
        db.session.commit()


def conflict_insert(table):
    """Return an INSERT for *table* that supports ON CONFLICT on the session's database (PostgreSQL or SQLite)."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return pg_insert(table) if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert(table)


@contextmanager
def command_transaction(actor_id: int | None = None):
    """Commit a CLI command's work, or roll it back and exit with the domain message."""
    acting.set_context(actor_id, "cli")
    try:
        yield
        db.session.commit()
    except LearnSpaceError as exc:
        rollback_keeping()
        raise click.ClickException(exc.message) from None
