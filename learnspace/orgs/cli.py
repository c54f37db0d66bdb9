"""Commands for regions and schools."""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..audit import operations as audit
from ..errors import LearnSpaceError
from ..extensions import db
from . import operations


def register(group: click.Group) -> None:
    @group.command("add-region")
    @click.argument("code")
    @click.argument("name")
    @with_appcontext
    def add_region(code, name):
        """Add a province, city or county by its 6-digit code."""
        audit.set_context(None, "cli")
        try:
            region = operations.create_region(code, name)
            audit.record("region.create", target=f"region:{code}")
            db.session.commit()
        except LearnSpaceError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        click.echo(f"added {region.level} {region.code}")

    @group.command("add-school")
    @click.argument("code")
    @click.argument("name")
    @click.option("--stage", required=True, help="学段, e.g. 小学 or 初中")
    @click.option("--county", "county_code", required=True, help="6-digit county code")
    @with_appcontext
    def add_school(code, name, stage, county_code):
        """Register a school with its 10-digit school code in a county."""
        audit.set_context(None, "cli")
        try:
            school = operations.create_school(code, name, stage, county_code)
            audit.record("school.create", target=f"school:{code}")
            db.session.commit()
        except LearnSpaceError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        click.echo(f"added school {school.code}")
