"""Reads of the roll-ups: the contract the statistics pages build on.

A read never writes: it does not flush the session or recount anything, so it shows the roll-ups as the
last commit (or an explicit upkeep.settle()) left them. Changes of the running transaction are counted
when it commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select

from ...extensions import db
from ..models import RollupDay, RollupPeriod, RollupTotal
from .chains import chunks
from .counts import next_period, period_start
from .sources import ROLES


@dataclass(frozen=True)
class Totals:
    """A unit now: rostered and activated people; for teachers, who publishes and how often lessons were seen."""

    rostered: int = 0
    activated: int = 0
    publishing_teachers: int = 0
    views: int = 0

    @property
    def rate(self) -> float | None:
        """Activation rate activated / rostered, None when nobody is rostered."""
        return self.activated / self.rostered if self.rostered else None


@dataclass(frozen=True)
class DayFigures:
    """One day of a unit: spaces newly activated and space owners active."""

    day: date
    new_activations: int = 0
    active: int = 0


@dataclass(frozen=True)
class RangeFigures:
    """What happened in a unit over a range of days: spaces activated, lessons created and published."""

    new_activations: int = 0
    uploaded: int = 0
    published: int = 0


def _read(stmt) -> list:
    """Run a SELECT of roll-up rows without flushing pending changes (a read never writes)."""
    with db.session.no_autoflush:
        return db.session.execute(stmt).all()


def _role_filter(column, role):
    if role is None:
        return column.in_(ROLES)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return column == role


def role_totals(units) -> dict[str, dict[str, Totals]]:
    """Return unit → role → Totals now, for every unit asked and both roles (zeros when none)."""
    units = list(dict.fromkeys(units))
    found = {u: dict.fromkeys(ROLES, Totals()) for u in units}
    t = RollupTotal
    for chunk in chunks(units, 500):
        rows = _read(
            select(t.unit, t.role, t.rostered, t.activated, t.publishing_teachers, t.views)
            .where(t.unit.in_(chunk), t.role.in_(ROLES)))
        for unit, role, *values in rows:
            found[unit][role] = Totals(*(int(v or 0) for v in values))
    return found


def add_roles(by_role: dict[str, Totals], role: str | None = None) -> Totals:
    """Return the Totals of one role, or of both added up when *role* is None."""
    if role is not None:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        return by_role[role]
    return Totals(*(sum(getattr(t, f) for t in by_role.values())
                    for f in ("rostered", "activated", "publishing_teachers", "views")))


def totals(units, role: str | None = None) -> dict[str, Totals]:
    """Return unit → Totals now (of *role*, or both added up), for every unit asked (zeros when none)."""
    return {unit: add_roles(by_role, role) for unit, by_role in role_totals(units).items()}


def range_figures(units, start: date, end: date, role: str | None = None) -> dict[str, RangeFigures]:
    """Return unit → RangeFigures from *start* to *end* inclusive, for every unit asked."""
    units = list(dict.fromkeys(units))
    found = dict.fromkeys(units, RangeFigures())
    d = RollupDay
    for chunk in chunks(units, 500):
        rows = _read(
            select(d.unit, func.sum(d.new_activations), func.sum(d.uploaded), func.sum(d.published))
            .where(d.unit.in_(chunk), _role_filter(d.role, role), d.day >= start, d.day <= end)
            .group_by(d.unit))
        found.update({unit: RangeFigures(*(int(v or 0) for v in values)) for unit, *values in rows})
    return found


def new_activations(units, start: date, end: date, role: str | None = None) -> dict[str, int]:
    """Return unit → spaces newly activated from *start* to *end* inclusive, for every unit asked."""
    return {unit: f.new_activations for unit, f in range_figures(units, start, end, role).items()}


def daily(unit: str, start: date, end: date, role: str | None = None) -> list[DayFigures]:
    """Return one DayFigures per day from *start* to *end* inclusive (zeros filled), oldest first."""
    rows = _read(
        select(RollupDay.day, func.sum(RollupDay.new_activations), func.sum(RollupDay.active))
        .where(RollupDay.unit == unit, _role_filter(RollupDay.role, role),
               RollupDay.day >= start, RollupDay.day <= end)
        .group_by(RollupDay.day))
    found = {day: (int(new or 0), int(active or 0)) for day, new, active in rows}
    out, day = [], start
    while day <= end:
        out.append(DayFigures(day, *found.get(day, (0, 0))))
        day += timedelta(days=1)
    return out


def period_active(unit: str, period: str, start: date, end: date,
                  role: str | None = None) -> list[tuple[date, int]]:
    """Return (period start, active spaces) for every "day"/"week"/"month" overlapping *start*..*end*."""
    first = period_start(period, start)
    if period == "day":
        found = {d.day: d.active for d in daily(unit, start, end, role)}
    else:
        rows = _read(
            select(RollupPeriod.start, func.sum(RollupPeriod.active))
            .where(RollupPeriod.unit == unit, _role_filter(RollupPeriod.role, role),
                   RollupPeriod.period == period, RollupPeriod.start >= first, RollupPeriod.start <= end)
            .group_by(RollupPeriod.start))
        found = {s: int(n or 0) for s, n in rows}
    out, s = [], first
    while s <= end:
        out.append((s, found.get(s, 0)))
        s = next_period(period, s)
    return out


def active_in(units, period: str, day: date, role: str | None = None) -> dict[str, int]:
    """Return unit → active spaces in the "day"/"week"/"month" containing *day*, for every unit asked."""
    return {unit: counts[period] for unit, counts in active_in_periods(units, {period: day}, role).items()}


def active_in_periods(units, days: dict[str, date], role: str | None = None) -> dict[str, dict[str, int]]:
    """Return unit → {period: active spaces} in each "day"/"week"/"month" of *days* containing its day, in one pass."""
    starts = {period: period_start(period, day) for period, day in days.items()}
    units = list(dict.fromkeys(units))
    found = {u: dict.fromkeys(starts, 0) for u in units}
    for chunk in chunks(units, 500):
        if "day" in starts:
            stmt = (select(RollupDay.unit, func.sum(RollupDay.active))
                    .where(RollupDay.unit.in_(chunk), _role_filter(RollupDay.role, role), RollupDay.day == starts["day"])
                    .group_by(RollupDay.unit))
            for unit, n in _read(stmt):
                found[unit]["day"] = int(n or 0)
        longer = [(p, s) for p, s in starts.items() if p != "day"]
        if longer:
            stmt = (select(RollupPeriod.unit, RollupPeriod.period, func.sum(RollupPeriod.active))
                    .where(RollupPeriod.unit.in_(chunk), _role_filter(RollupPeriod.role, role),
                           or_(*(and_(RollupPeriod.period == p, RollupPeriod.start == s) for p, s in longer)))
                    .group_by(RollupPeriod.unit, RollupPeriod.period))
            for unit, period, n in _read(stmt):
                found[unit][period] = int(n or 0)
    return found
