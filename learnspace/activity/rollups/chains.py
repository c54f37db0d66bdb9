"""Unit keys and the chain of units a school counts in (school, county, city, province, "all")."""
from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from . import sources

ALL = "all"


def region_key(code: str) -> str:
    """Return the unit key of a region (province, city or county): "region:<code>"."""
    return f"region:{code}"


def school_key(school_id: int) -> str:
    """Return the unit key of a school: "school:<id>"."""
    return f"school:{int(school_id)}"


def chains(school_ids) -> dict[int, list[str]]:
    """Return school id → its unit keys from the school up: school, county, city, province, "all".

    One query: a school's county has at most two regions above it (orgs.create_region only makes a
    county under a city and a city under a province).
    """
    ids = sorted({int(i) for i in school_ids if i is not None})
    schools, regions = sources.table("schools"), sources.table("regions")
    county, city = regions.alias("county"), regions.alias("city")
    result = {}
    for chunk in chunks(ids, 500):
        rows = db.session.execute(
            select(schools.c.id, schools.c.county_code, county.c.parent_code, city.c.parent_code)
            .select_from(schools.outerjoin(county, county.c.code == schools.c.county_code)
                         .outerjoin(city, city.c.code == county.c.parent_code))
            .where(schools.c.id.in_(chunk)))
        for school_id, *codes in rows:
            result[school_id] = [school_key(school_id)] + [region_key(c) for c in codes if c] + [ALL]
    for school_id in ids:  # a school id that does not exist counts in "all" only, after itself
        result.setdefault(school_id, [school_key(school_id), ALL])
    return result


def units_of_school(school_id: int | None) -> list[str]:
    """Return the unit keys an event at *school_id* counts in, from the school up to "all"."""
    if school_id is None:
        return [ALL]
    return chains([school_id]).get(int(school_id), [ALL])


def chain_of(chain_map, school_id) -> list[str]:
    """Return the unit keys of *school_id* from a chains() map ("all" only for no school)."""
    return chain_map.get(school_id, [ALL]) if school_id is not None else [ALL]


def chunks(items, size):
    """Yield *items* in lists of at most *size* (IN lists stay short)."""
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]
