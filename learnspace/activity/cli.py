"""``learnspace stats rebuild-rollups``: recompute the statistics roll-ups from the base tables."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..progress import ProgressBar
from ..transactions import command_transaction
from . import rollups


@click.command("rebuild-rollups")
@with_appcontext
def rebuild_rollups_command():
    """Rebuild the statistics roll-ups from users, spaces, lessons and activity (idempotent)."""
    bar = ProgressBar("roll-ups", "step")
    try:
        with command_transaction():
            counts = rollups.rebuild(progress=bar)
    finally:
        bar.close()
    click.echo(f"roll-ups rebuilt: {counts['totals']} total rows, {counts['days']} day rows, "
               f"{counts['periods']} week/month rows, {counts['marks']} active marks")


def register(stats: click.Group) -> None:
    """Attach rebuild-rollups to the ``stats`` command group."""
    stats.add_command(rebuild_rollups_command)
