"""Demo editions: the shipped catalogue, and textbook editions for every demo school."""
from __future__ import annotations

from sqlalchemy import select

from ..catalog import operations as catalog
from ..extensions import db
from ..orgs.models import School
from .people import COUNTIES


def seed() -> None:
    """Load the shipped catalogue; give each demo school editions (alternating 人教版/北师大版), keeping earlier choices."""
    catalog.load_shipped_catalogue()
    schools = db.session.scalars(select(School).where(School.county_code.in_([c for c, _ in COUNTIES]))
                                 .order_by(School.code)).all()
    for index, school in enumerate(schools):
        if not catalog.editions_for_school(school):
            for option in catalog.edition_options(school):
                editions = option["editions"]
                catalog.set_school_edition(school, option["grade"], option["subject"], editions[index % len(editions)])
