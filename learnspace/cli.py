"""The ``learnspace`` command: a FlaskGroup with each domain's commands attached."""
from __future__ import annotations

import os

import click
from flask.cli import FlaskGroup, with_appcontext

from . import create_app
from .accounts.cli import register as register_accounts
from .accounts.codes_cli import register as register_codes
from .activity.cli import register as register_rollups
from .backup.cli import register as register_backup
from .catalog.cli import import_catalog_command
from .catalog.operations import load_shipped
from .config import ConfigError
from .demo import demo_command
from .jobs.cli import register as register_jobs
from .lessons.cli import reconcile_command
from .moderation.cli import blocked_words
from .orgs.cli import register as register_orgs
from .privacy.cli import privacy_group
from .search.cli import register as register_search
from .search.cli import reindex_command
from .search.generations import ensure_index, schema_outdated
from .search.writer import catch_up
from .stats.cli import register as register_stats
from .storage import StorageError, get_storage
from .storage.cli import storage_group
from .transactions import command_transaction


def _create_app(*_args, **_kwargs):
    # Secrets, exports and logs the commands write under var/ are the operator's alone (0600 files, 0700 folders).
    os.umask(0o077)
    try:
        return create_app()
    except ConfigError as exc:
        # A configuration mistake is the operator's to fix: say what, without a traceback.
        raise click.ClickException(f"配置错误 / configuration error: {exc}") from None


@click.group(cls=FlaskGroup, create_app=_create_app, help="LearnSpace 网络学习空间 management commands.")
def main():
    """Entry point of the ``learnspace`` console script."""


@main.command("init")
@with_appcontext
def init_command():
    """Create or upgrade the database, the MinIO bucket and the search index."""
    from flask import current_app
    from flask_migrate import upgrade
    from sqlalchemy.exc import OperationalError


    url = current_app.config["SQLALCHEMY_DATABASE_URI"]
    try:
        upgrade()
    except OperationalError as exc:
        raise click.ClickException(f"数据库无法连接（{url.split('@')[-1]}）：{exc.orig}") from None
    click.echo("database: up to date")
    with command_transaction():
        catalogue = load_shipped()  # idempotent: keys are stable, an unchanged node is left alone
    click.echo(f"catalogue: {catalogue.created} nodes added, {catalogue.updated} updated ({catalogue.total} shipped)")
    try:
        created = get_storage().ensure_bucket()
    except StorageError as exc:
        raise click.ClickException(f"MinIO 无法连接或拒绝：{exc}. Is scripts/run's MinIO running?") from None
    click.echo(f"storage: bucket {'created' if created else 'ready'}")
    click.echo(f"search: index {'created' if ensure_index() else 'ready'}")
    if schema_outdated():
        # An upgrade changed the fields (e.g. 册次): rebuild now, or filters on the new field find nothing.
        click.echo("search: the index has an older set of fields; rebuilding it from the database")
        ctx = click.get_current_context()
        ctx.invoke(reindex_command)
    echo_catch_up()


def echo_catch_up() -> None:
    """Apply the search outbox before the app serves (bounded; the worker applies any rest) and say so."""
    applied, left = catch_up()
    click.echo(f"search: {applied} changes applied" + (f", {left} left for `learnspace worker`" if left else ""))


def register_commands() -> None:
    register_orgs(main)
    register_accounts(main)
    register_codes(main)
    register_search(main)
    register_jobs(main)
    register_backup(main)
    main.add_command(demo_command)
    main.add_command(import_catalog_command)
    main.add_command(reconcile_command)
    main.add_command(blocked_words)
    main.add_command(storage_group)
    main.add_command(privacy_group)

    stats = click.Group("stats", help="Activation and usage statistics 开通与使用统计.")
    main.add_command(stats)
    register_stats(stats)
    register_rollups(stats)


register_commands()


if __name__ == "__main__":  # python -m learnspace.cli, as the console script
    main()
