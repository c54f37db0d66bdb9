"""``learnspace blocked-words``: import the blocked-word list from a text file, check a text against it."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..audit import operations as audit
from ..errors import LearnSpaceError
from ..extensions import db
from ..transactions import rollback_keeping
from . import operations

blocked_words = AppGroup("blocked-words", help="网络负面用语清单 (blocked-word list) maintenance.")


def _describe(exc: LearnSpaceError) -> str:
    lines = [exc.message]
    lines += [f"  第 {d['line']} 行「{d['text']}」：{d['reason']}" for d in exc.details]
    return "\n".join(lines)


@blocked_words.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="also delete listed terms that the file does not contain")
@click.option("--dry-run", is_flag=True, help="check the file and print what would change, without saving")
def import_command(file: Path, replace: bool, dry_run: bool):
    """Import FILE (UTF-8 or GBK text, one term per line, # comments), all or nothing."""
    audit.set_context(None, "cli")
    try:
        result = operations.import_file(file.read_bytes(), replace=replace)
    except LearnSpaceError as exc:
        rollback_keeping()
        raise click.ClickException(_describe(exc)) from None
    if dry_run:
        db.session.rollback()
        click.echo("检查通过，未保存（--dry-run）。" + result.summary())
        return
    db.session.commit()
    click.echo("导入完成。" + result.summary())


@blocked_words.command("check")
@click.argument("text")
def check_command(text: str):
    """Print the listed terms TEXT contains (exit status 1 when there are any)."""
    terms = operations.blocked_terms_in(text)
    db.session.rollback()
    if terms:
        click.echo("命中：" + "、".join(terms))
        raise SystemExit(1)
    click.echo("未命中任何词语")
