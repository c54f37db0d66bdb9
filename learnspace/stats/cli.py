"""``learnspace stats activation``: the dashboard's table of a unit for scripts (table, CSV or XLSX)."""
from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..accounts.cli import acting_admin
from ..audit import operations as audit
from ..errors import LearnSpaceError
from ..extensions import db
from ..transactions import rollback_keeping
from . import drilldown, operations
from .periods import parse_range


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * max(width - _width(text), 0)
    return space + text if right else text + space


def format_table(header: list[str], body: list[list]) -> str:
    """Lay out a table in aligned columns (Chinese characters count two columns)."""
    cells = [header] + [["—" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row]
                        for row in body]
    widths = [max(_width(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(_pad(v, widths[i], right=i >= 2 and n > 0) for i, v in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.command("activation")
@click.option("--region", "region_code", help="6-digit region code, or 'all' for the platform (default)")
@click.option("--school", "school_code", help="10-digit school code: its grades and classes")
@click.option("--from", "start", help="first day, YYYY-MM-DD (default: 89 days before --to)")
@click.option("--to", "end", help="last day, YYYY-MM-DD (default: today in China)")
@click.option("--role", type=click.Choice(list(operations.ROLES)), help="only teachers or only students")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="write to this file (needed for xlsx; CSV files get a BOM for Excel)")
@click.option("--admin", "admin_login", help="act as this admin: only their scope may be asked for")
@with_appcontext
def activation_command(region_code, school_code, start, end, role, fmt, output, admin_login):
    """Print or write rostered, activated, active and lesson figures of a unit's parts, as on /stats."""
    try:
        admin = acting_admin(admin_login)
        unit = drilldown.resolve(admin, region_code, school_code)
        period = parse_range(start, end)
        rows = operations.child_rows(unit, period, role)
        header, body = operations.table(rows, operations.total_row(unit, period, role))
        audit.record("stats.export", target=unit.key, detail=f"cli {fmt} {period.label}")
        db.session.commit()
    except LearnSpaceError as exc:
        rollback_keeping()
        raise click.ClickException(exc.message) from None
    if fmt == "xlsx":
        if output is None:
            raise click.ClickException("XLSX 是二进制文件，请用 --output 指定文件名，例如 --output 统计.xlsx")
        output.write_bytes(operations.to_xlsx(header, body, "空间统计", operations.export_notes(unit, period, role)))
        click.echo(f"已写入 {output}（{len(body)} 行）", err=True)
    elif fmt == "csv":
        data = operations.to_csv(header, body)
        if output is not None:
            output.write_bytes(data)
            click.echo(f"已写入 {output}（{len(body)} 行）", err=True)
        else:
            sys.stdout.write(data.decode("utf-8").lstrip("\ufeff"))
    else:
        text = format_table(header, body)
        if output is not None:
            output.write_text(text + "\n", encoding="utf-8")
        else:
            click.echo(f"{unit.label} · {period.label}")
            click.echo(text)


def register(stats: click.Group) -> None:
    """Attach ``activation`` to the ``stats`` command group."""
    stats.add_command(activation_command)
