"""Unit keys, school → unit chains and China-time periods: the vocabulary every roll-up is written in."""
from __future__ import annotations

import calendar
from datetime import date, timedelta

from sqlalchemy import select

from ...china_time import CHINA, local_day, utc_bounds  # noqa: F401  (re-exported)
from ...extensions import db

ALL = "all"
ROLES = ("teacher", "student")
PERIODS = ("week", "month")


def region_unit(code: str) -> str:
    """Return the unit key of a region (province, city or county)."""
    return f"region:{code}"


def school_unit(school_id: int) -> str:
    """Return the unit key of a school."""
    return f"school:{int(school_id)}"


def is_postgres(session) -> bool:
    """Tell whether *session* talks to PostgreSQL (row locks and a few faster statements are for it only)."""
    return session.get_bind().dialect.name == "postgresql"


def base_table(name: str):
    """Return a table of another domain by name (this service imports no domain package)."""
    return db.metadata.tables[name]


def chains(school_ids) -> dict[int, list[str]]:
    """Return school id → its units from the school up: school, county, city, province, "all".

    One query: a school's county has at most two regions above it (orgs.create_region only makes a
    county under a city and a city under a province).
    """
    ids = sorted({int(i) for i in school_ids if i is not None})
    schools, regions = base_table("schools"), base_table("regions")
    county, city = regions.alias("county"), regions.alias("city")
    result = {}
    for chunk in chunks(ids, 500):
        rows = db.session.execute(
            select(schools.c.id, schools.c.county_code, county.c.parent_code, city.c.parent_code)
            .select_from(schools.outerjoin(county, county.c.code == schools.c.county_code)
                         .outerjoin(city, city.c.code == county.c.parent_code))
            .where(schools.c.id.in_(chunk)))
        for school_id, *codes in rows:
            result[school_id] = [school_unit(school_id)] + [region_unit(c) for c in codes if c] + [ALL]
    for school_id in ids:  # a school id that does not exist counts in "all" only, after itself
        result.setdefault(school_id, [school_unit(school_id), ALL])
    return result


def units_of_school(school_id: int | None) -> list[str]:
    """Return the units an event at *school_id* counts in, from the school up to "all"."""
    if school_id is None:
        return [ALL]
    return chains([school_id]).get(int(school_id), [ALL])


def chain_of(chain_map, school_id) -> list[str]:
    """Return the units of *school_id* from a chains() map ("all" only for no school)."""
    return chain_map.get(school_id, [ALL]) if school_id is not None else [ALL]


def chunks(items, size):
    """Yield *items* in lists of at most *size* (IN lists stay short)."""
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- periods --------------------------------------------------------------------------------------

def period_start(period: str, day: date) -> date:
    """Return the first day of the "day", "week" (Monday) or "month" containing *day*."""
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}")


def next_period(period: str, start: date) -> date:
    """Return the first day of the period after the one starting at *start*."""
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    raise ValueError(f"unknown period {period!r}")


def period_end(period: str, start: date) -> date:
    """Return the last day of the period starting at *start*."""
    if period == "month":
        return start.replace(day=calendar.monthrange(start.year, start.month)[1])
    return next_period(period, start) - timedelta(days=1)
