"""Commands for regions and schools."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..audit import operations as audit
from ..transactions import command_transaction
from . import operations


def register(group: click.Group) -> None:
    @group.command("add-region")
    @click.argument("code")
    @click.argument("name")
    @with_appcontext
    def add_region(code, name):
        """Add a province, city or county by its 6-digit code."""
        with command_transaction():
            region = operations.create_region(code, name)
            audit.record("region.create", target=f"region:{code}")
        click.echo(f"added {region.level} {region.code}")

    @group.command("add-school")
    @click.argument("code")
    @click.argument("name")
    @click.option("--stage", required=True, help="学段, e.g. 小学 or 初中")
    @click.option("--county", "county_code", required=True, help="6-digit county code")
    @with_appcontext
    def add_school(code, name, stage, county_code):
        """Register a school with its 10-digit school code in a county."""
        with command_transaction():
            school = operations.create_school(code, name, stage, county_code)
            audit.record("school.create", target=f"school:{code}")
        click.echo(f"added school {school.code}")
