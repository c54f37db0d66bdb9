"""``learnspace import-catalog``: load a province's own textbook editions from a JSON or CSV file."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from ..audit import operations as audit
from ..errors import LearnSpaceError
from ..extensions import db
from ..progress import ProgressBar
from ..transactions import rollback_keeping
from . import operations
from .operations import CatalogueRejected


def echo_details(exc: LearnSpaceError) -> str:
    """Format a rejected file's message with one line per bad row."""
    lines = [exc.message]
    if isinstance(exc, CatalogueRejected):
        lines += [f"  {d['where']}" + (f"（{d['key']}）" if d["key"] else "") + f"：{d['reason']}"
                  for d in exc.details]
    return "\n".join(lines)


@click.command("import-catalog")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check the file and print what would change, without saving")
@with_appcontext
def import_catalog_command(file: Path, dry_run: bool):
    """Import a textbook catalogue (JSON tree or CSV key,parent_key,level,name in UTF-8/GBK), all or nothing."""

    audit.set_context(None, "cli")
    progress = ProgressBar("导入教材目录", " 个节点")

    try:
        with file.open("rb") as stream:
            result = operations.import_catalogue_file(stream, file.name, progress=progress)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except LearnSpaceError as exc:
        progress.close()
        rollback_keeping()
        raise click.ClickException(echo_details(exc)) from None
    progress.close()
    click.echo(("检查通过，未保存（--dry-run）。" if dry_run else "导入完成。") + result.summary())
