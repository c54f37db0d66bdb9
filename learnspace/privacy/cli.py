"""``learnspace privacy inventory``: print the data inventory (for a privacy impact assessment or an audit)."""
from __future__ import annotations

import click

from .inventory import INVENTORY, KIND_NAMES, NONE, PROTECTION_NAMES

FATES = {"delete": "删除", "anonymise": "匿名化（断开与人的关联）", "keep": "保留", "none": "不涉及个人"}


@click.group("privacy", help="Personal data (PIPL) 个人信息：数据清单.")
def privacy_group():
    """Personal data commands."""


@privacy_group.command("inventory")
@click.option("--all", "show_all", is_flag=True, help="also list the columns that hold no personal data")
def inventory_command(show_all: bool):
    """List every table and column with its kind of data, its protection and what a deletion does."""
    for name, table in sorted(INVENTORY.items()):
        columns = [(c, k, p) for c, (k, p) in table.columns.items() if show_all or k != NONE]
        if not columns:
            continue
        click.echo(f"{name}  [{FATES[table.on_delete]}] {table.why}")
        for column, kind, protection in columns:
            click.echo(f"  {column:<24} {KIND_NAMES[kind]}，保护：{PROTECTION_NAMES[protection]}")
