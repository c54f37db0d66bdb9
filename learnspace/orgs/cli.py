"""Commands for regions and schools."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..audit import operations as audit
from ..search.writer import catch_up
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

    @group.command("rename-school")
    @click.argument("code")
    @click.argument("name")
    @with_appcontext
    def rename_school(code, name):
        """Rename the school with this 10-digit code (its lessons are re-indexed under the new name)."""
        with command_transaction():
            school = operations.get_school_by_code(code)
            changed = operations.rename_school(school, name)
            if changed:
                audit.record("school.rename", target=f"school:{code}")
        click.echo(f"renamed school {code}" if changed else f"school {code} already has this name")
        if changed:
            # Without a worker running (a dev machine) the lessons are re-indexed now; with one, it takes them.
            applied, left = catch_up()
            click.echo(f"search: {applied} changes applied" + (f", {left} left for `learnspace worker`" if left else ""))
