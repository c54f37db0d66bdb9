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


class ProgressBar:
    """A tqdm bar driven by the ``progress(done, total)`` callback that long operations accept."""

    def __init__(self, desc: str, unit: str):
        from tqdm import tqdm

        self.bar = tqdm(desc=desc, unit=unit, dynamic_ncols=True)

    def __call__(self, done: int, total: int | None) -> None:
        self.bar.total = total
        self.bar.n = done
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()
