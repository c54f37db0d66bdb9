"""Commands for lessons: ``learnspace reconcile``."""
from __future__ import annotations

from datetime import timedelta

import click
from flask.cli import with_appcontext

from ..storage import StorageError
from ..transactions import command_transaction
from .reconcile import reconcile


@click.command("reconcile")
@click.option("--dry-run", is_flag=True, help="only report what would be repaired; change nothing")
@click.option("--older-than-hours", type=click.FloatRange(min=0), default=24, show_default=True,
              help="uploads without progress and incomplete multipart uploads older than this are cleaned")
@with_appcontext
def reconcile_command(dry_run: bool, older_than_hours: float):
    """Repair drift between lesson files and MinIO: missing objects, orphans, stale and incomplete uploads."""
    try:
        with command_transaction():
            report = reconcile(dry_run=dry_run, older_than=timedelta(hours=older_than_hours))
    except StorageError as exc:
        raise click.ClickException(f"MinIO 无法连接，对账已中止，数据库没有修改：{exc}") from None
    for line in report.lines():
        click.echo(line)
