"""What every CLI command shares: one transaction, and domain errors as clean messages."""
from __future__ import annotations

from contextlib import contextmanager

import click

from .audit import operations as audit
from .db import rollback_keeping
from .errors import LearnSpaceError
from .extensions import db


@contextmanager
def command_transaction(actor_id: int | None = None):
    """Commit the command's work, or roll it back and exit with the domain message."""
    audit.set_context(actor_id, "cli")
    try:
        yield
        db.session.commit()
    except LearnSpaceError as exc:
        rollback_keeping()
        raise click.ClickException(exc.message) from None
