"""Roll-ups of activation and active use: what the statistics read, kept right as people and spaces change.

Definitions (the same text is in README, "Activation and usage statistics"):

- Units: "all" (the platform), a region ("region:<code>": province, city or county) and a school
  ("school:<id>"). A school counts in its county, the county's city, the city's province and "all"
  (the chain follows School.county_code and Region.parent_code). Every figure is kept per role,
  "teacher" and "student"; ``role=None`` in the read functions adds both.
- rostered: users with role teacher or student, not disabled, counted at their CURRENT school.
- activated: of those, the ones with a space (Space.owner_id), at their CURRENT school.
  Activation rate = activated / rostered.
- new activations per day: spaces by the Asia/Shanghai day of Space.activated_dt, counted at
  Space.activated_school_id (where it happened; history does not move with a transfer), under the
  owner's role.
- active in a period (a day, an ISO week Monday–Sunday, a calendar month; Asia/Shanghai): the owner of
  a space did at least one of activity.KINDS in it. The person is counted once per period, at the
  school of their first counted action in the period: ActivityDay.school_id of their ActivityDay row
  with the smallest id in the period (rows are inserted in the order actions are recorded). Only
  teachers and students with a space count; activity recorded before the space existed counts from
  the moment the space is activated.

Maintenance:

- Totals are kept by a per-school recount. A session listener notes every school touched by a change
  of users (insert, delete, school_id, role, is_disabled) or spaces (insert, delete), including Core
  INSERTs through the session (the roster import writes that way); the old and the new school of a
  transfer are both noted. ``settle()`` runs before every commit (and before every read here): it
  flushes, recounts each touched school with COUNT(*) under a row lock (SELECT ... FOR UPDATE on
  PostgreSQL; SQLite transactions begin IMMEDIATE, so writers are serialised anyway), writes the new
  school figures and adds the difference to the region and "all" rows. Recounting instead of adding
  +1/-1 in each operation means no operation can forget a case, and replaying any operation changes
  nothing. Doing it once per transaction at commit (not per flush) keeps a roster import of thousands
  of rows to one recount per school and takes the row locks in one sorted order (no deadlocks).
- Days, weeks and months: activity.record calls ``activity_recorded``, and every inserted space
  (spaces.activate is the one place that creates them) reaches ``space_activated`` through an after_flush
  listener, in the same transaction. An ActiveMark (user, period, start) is inserted with
  ON CONFLICT DO NOTHING, and only when the insert happened is the counter incremented, so a person
  counts once per period even when two requests race. Deleting a user or a space takes their marks
  and their activation out of the counters.
- ``ground_truth()`` computes every roll-up from the base tables with COUNT(*); ``rebuild()`` (the
  ``learnspace stats rebuild-rollups`` command) replaces the roll-ups with it and is idempotent.

This module is a service: it knows the users, spaces, schools and regions tables by name only and
imports no domain package.
"""
from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from flask import has_app_context
from sqlalchemy import (Column, Integer, MetaData, String, Table, delete, event, false, func, literal, select,
                        text)
from sqlalchemy.orm import Session

from ..db import conflict_insert
from ..extensions import db
from .models import ActiveMark, ActivityDay, RollupDay, RollupPeriod, RollupTotal

CHINA = ZoneInfo("Asia/Shanghai")
ALL = "all"
ROLES = ("teacher", "student")
PERIODS = ("week", "month")

_SCHOOLS = "rollups.schools"      # session.info: school ids whose totals need a recount
_OWNERS = "rollups.owners"        # session.info: user ids whose current school needs a recount
_FULL = "rollups.full"            # session.info: an unattributable bulk change; recount every school


# --- units ----------------------------------------------------------------------------------------

def region_unit(code: str) -> str:
    """Return the unit key of a region (province, city or county)."""
    return f"region:{code}"


def school_unit(school_id: int) -> str:
    """Return the unit key of a school."""
    return f"school:{int(school_id)}"


def _t(name: str):
    return db.metadata.tables[name]


def chains(school_ids) -> dict[int, list[str]]:
    """Return school id → its units from the school up: school, county, city, province, "all"."""
    ids = sorted({int(i) for i in school_ids if i is not None})
    if not ids:
        return {}
    schools, regions = _t("schools"), _t("regions")
    county_of = {}
    for chunk in _chunks(ids, 500):
        county_of.update(db.session.execute(select(schools.c.id, schools.c.county_code)
                                            .where(schools.c.id.in_(chunk))).all())
    parent: dict[str, str | None] = {}
    wanted = {c for c in county_of.values() if c}
    for _ in range(6):  # province → city → county: three levels, a few spare
        wanted -= parent.keys()
        if not wanted:
            break
        rows = db.session.execute(select(regions.c.code, regions.c.parent_code)
                                  .where(regions.c.code.in_(sorted(wanted)))).all()
        parent.update(rows)
        for code in wanted - {code for code, _ in rows}:
            parent[code] = None
        wanted = {p for _, p in rows if p}
    result = {}
    for school_id in ids:
        units = [school_unit(school_id)]
        code = county_of.get(school_id)
        while code and len(units) < 8:
            units.append(region_unit(code))
            code = parent.get(code)
        units.append(ALL)
        result[school_id] = units
    return result


def units_of_school(school_id: int | None) -> list[str]:
    """Return the units an event at *school_id* counts in, from the school up to "all"."""
    if school_id is None:
        return [ALL]
    return chains([school_id]).get(int(school_id), [ALL])


def _chain(chain_map, school_id) -> list[str]:
    return chain_map.get(school_id, [ALL]) if school_id is not None else [ALL]


def _chunks(items, size):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i:i + size]


# --- periods --------------------------------------------------------------------------------------

def local_day(at: datetime) -> date:
    """Return the Asia/Shanghai calendar day of an aware (or UTC-naive) datetime."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(CHINA).date()


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


# --- reads (the contract the statistics pages build on) ------------------------------------------

@dataclass(frozen=True)
class Totals:
    """Rostered and activated people of a unit now."""

    rostered: int = 0
    activated: int = 0

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


def _role_filter(column, role):
    if role is None:
        return column.in_(ROLES)
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    return column == role


def totals(units, role: str | None = None) -> dict[str, Totals]:
    """Return unit → Totals(rostered, activated) now, for every unit asked (zeros when none)."""
    settle()
    units = list(dict.fromkeys(units))
    found: dict[str, list[int]] = {u: [0, 0] for u in units}
    for chunk in _chunks(units, 500):
        rows = db.session.execute(
            select(RollupTotal.unit, func.sum(RollupTotal.rostered), func.sum(RollupTotal.activated))
            .where(RollupTotal.unit.in_(chunk), _role_filter(RollupTotal.role, role))
            .group_by(RollupTotal.unit))
        for unit, rostered, activated in rows:
            found[unit] = [int(rostered or 0), int(activated or 0)]
    return {u: Totals(*v) for u, v in found.items()}


def daily(unit: str, start: date, end: date, role: str | None = None) -> list[DayFigures]:
    """Return one DayFigures per day from *start* to *end* inclusive (zeros filled), oldest first."""
    settle()
    rows = db.session.execute(
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


def new_activations(units, start: date, end: date, role: str | None = None) -> dict[str, int]:
    """Return unit → spaces newly activated from *start* to *end* inclusive, for every unit asked."""
    settle()
    units = list(dict.fromkeys(units))
    found = dict.fromkeys(units, 0)
    for chunk in _chunks(units, 500):
        rows = db.session.execute(
            select(RollupDay.unit, func.sum(RollupDay.new_activations))
            .where(RollupDay.unit.in_(chunk), _role_filter(RollupDay.role, role),
                   RollupDay.day >= start, RollupDay.day <= end)
            .group_by(RollupDay.unit))
        found.update({unit: int(n or 0) for unit, n in rows})
    return found


def period_active(unit: str, period: str, start: date, end: date,
                  role: str | None = None) -> list[tuple[date, int]]:
    """Return (period start, active spaces) for every "day"/"week"/"month" overlapping *start*..*end*."""
    settle()
    first = period_start(period, start)
    if period == "day":
        found = {d.day: d.active for d in daily(unit, start, end, role)}
    else:
        rows = db.session.execute(
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
    settle()
    start = period_start(period, day)
    units = list(dict.fromkeys(units))
    found = dict.fromkeys(units, 0)
    for chunk in _chunks(units, 500):
        if period == "day":
            stmt = (select(RollupDay.unit, func.sum(RollupDay.active))
                    .where(RollupDay.unit.in_(chunk), _role_filter(RollupDay.role, role), RollupDay.day == start)
                    .group_by(RollupDay.unit))
        else:
            stmt = (select(RollupPeriod.unit, func.sum(RollupPeriod.active))
                    .where(RollupPeriod.unit.in_(chunk), _role_filter(RollupPeriod.role, role),
                           RollupPeriod.period == period, RollupPeriod.start == start)
                    .group_by(RollupPeriod.unit))
        found.update({unit: int(n or 0) for unit, n in db.session.execute(stmt)})
    return found


# --- writing helpers ------------------------------------------------------------------------------

def _add_days(deltas: dict[tuple[str, str, date], tuple[int, int]]) -> None:
    """Add (new_activations, active) to rollup_days rows, creating them; rows in sorted order."""
    rows = [dict(unit=u, role=r, day=d, new_activations=n, active=a)
            for (u, r, d), (n, a) in sorted(deltas.items()) if n or a]
    if not rows:
        return
    table = RollupDay.__table__
    stmt = conflict_insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit", "role", "day"],
        set_={"new_activations": table.c.new_activations + stmt.excluded.new_activations,
              "active": table.c.active + stmt.excluded.active})
    db.session.execute(stmt)


def _add_periods(deltas: dict[tuple[str, str, str, date], int]) -> None:
    """Add active counts to rollup_periods rows, creating them; rows in sorted order."""
    rows = [dict(unit=u, role=r, period=p, start=s, active=a)
            for (u, r, p, s), a in sorted(deltas.items()) if a]
    if not rows:
        return
    table = RollupPeriod.__table__
    stmt = conflict_insert(table).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=["unit", "role", "period", "start"],
        set_={"active": table.c.active + stmt.excluded.active})
    db.session.execute(stmt)


def _count_marks(marks, sign: int) -> None:
    """Add *sign* for each (period, start, school_id, role) mark to the counters of its units."""
    if not marks:
        return
    chain_map = chains(m[2] for m in marks)
    days: dict = defaultdict(lambda: (0, 0))
    periods: Counter = Counter()
    for period, start, school_id, role in marks:
        for unit in _chain(chain_map, school_id):
            if period == "day":
                n, a = days[(unit, role, start)]
                days[(unit, role, start)] = (n, a + sign)
            else:
                periods[(unit, role, period, start)] += sign
    _add_days(days)
    _add_periods(periods)


def _insert_marks(user_id: int, role: str, marks: list[tuple[str, date, int | None]]) -> None:
    """Insert (period, start, school) marks of a person; count the ones that were not there yet."""
    if not marks:
        return
    table = ActiveMark.__table__
    stmt = (conflict_insert(table)
            .values([dict(user_id=user_id, period=p, start=s, school_id=school, role=role)
                     for p, s, school in marks])
            .on_conflict_do_nothing(index_elements=["user_id", "period", "start"])
            .returning(table.c.period, table.c.start, table.c.school_id))
    inserted = db.session.execute(stmt).all()
    _count_marks([(p, s, school, role) for p, s, school in inserted], +1)


def _lock_users(session: Session, user_ids) -> list[tuple[int, int | None]]:
    """Lock people's rows (FOR NO KEY UPDATE on PostgreSQL) and return (id, latest school id).

    Serialises the roll-up work of one person: an activation and a concurrent first action, or two
    concurrent transfers, then see each other's committed rows instead of both missing them.
    """
    ids = sorted({int(i) for i in user_ids if i is not None})
    if not ids:
        return []
    users = _t("users")
    stmt = select(users.c.id, users.c.school_id).where(users.c.id.in_(ids)).order_by(users.c.id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(key_share=True)
    return [tuple(r) for r in session.execute(stmt)]


def _has_space(user_id: int) -> bool:
    spaces = _t("spaces")
    return db.session.scalar(select(spaces.c.id).where(spaces.c.owner_id == user_id)) is not None


# --- hooks called by activity.record and spaces.activate ------------------------------------------

def activity_recorded(user, day: date) -> None:
    """Count *user* active on *day* and in its week and month, once each; call after the ActivityDay upsert."""
    if user.role not in ROLES:
        return
    _lock_users(db.session, [user.id])
    if not _has_space(user.id):
        return
    _insert_marks(user.id, user.role, [(p, period_start(p, day), user.school_id) for p in ("day", "week", "month")])


def space_activated(user_id: int, activated_dt: datetime, school_id: int | None) -> None:
    """Count a new space in its day at *school_id*; count activity the owner had before it existed.

    Called for every inserted space by the after_flush listener below, whichever code inserted it.
    """
    _lock_users(db.session, [user_id])
    role = db.session.scalar(select(_t("users").c.role).where(_t("users").c.id == user_id))
    if role not in ROLES:
        return
    day = local_day(activated_dt)
    _add_days({(unit, role, day): (1, 0) for unit in units_of_school(school_id)})
    rows = db.session.execute(select(ActivityDay.day, ActivityDay.school_id)
                              .where(ActivityDay.user_id == user_id).order_by(ActivityDay.id)).all()
    first: dict[tuple[str, date], int | None] = {}
    for row_day, row_school in rows:
        for p in ("day", "week", "month"):
            first.setdefault((p, period_start(p, row_day)), row_school)
    _insert_marks(user_id, role, [(p, s, school) for (p, s), school in first.items()])


def _forget_users(session: Session, user_ids) -> None:
    """Take deleted people's (or deleted spaces') activations and marks out of the day/period counters."""
    if not user_ids:
        return
    users, spaces = _t("users"), _t("spaces")
    marks = ActiveMark.__table__
    with session.no_autoflush:
        for chunk in _chunks(sorted(user_ids), 500):
            rows = session.execute(select(marks.c.period, marks.c.start, marks.c.school_id, marks.c.role)
                                   .where(marks.c.user_id.in_(chunk))).all()
            _count_marks([tuple(r) for r in rows], -1)
            session.execute(delete(marks).where(marks.c.user_id.in_(chunk)))
            spaced = session.execute(
                select(spaces.c.activated_dt, spaces.c.activated_school_id, users.c.role)
                .join(users, users.c.id == spaces.c.owner_id)
                .where(spaces.c.owner_id.in_(chunk), users.c.role.in_(ROLES))).all()
            chain_map = chains(r[1] for r in spaced)
            days: dict = defaultdict(lambda: (0, 0))
            for activated_dt, school_id, role in spaced:
                day = local_day(activated_dt if isinstance(activated_dt, datetime)
                                else datetime.fromisoformat(str(activated_dt)))
                for unit in _chain(chain_map, school_id):
                    n, a = days[(unit, role, day)]
                    days[(unit, role, day)] = (n - 1, a)
            _add_days(days)


# --- totals: noting touched schools and recounting them -------------------------------------------

def _tracked(session: Session) -> bool:
    """Only the application's session keeps roll-ups (scripts with their own sessions run rebuild())."""
    return has_app_context() and session is db.session.registry()


def _note(session: Session, key: str, values) -> None:
    session.info.setdefault(key, set()).update(v for v in values if v is not None)


@event.listens_for(Session, "before_flush")
def _before_flush(session, flush_context, instances):
    from sqlalchemy import inspect

    if not _tracked(session):
        return
    schools, owners, forget, moved = set(), set(), set(), set()
    for obj in session.new:
        name = getattr(obj, "__tablename__", None)
        if name == "users":
            schools.add(obj.school_id)
        elif name == "spaces":
            owners.add(obj.owner_id)
    for obj in session.deleted:
        name = getattr(obj, "__tablename__", None)
        if name == "users":
            state = inspect(obj)
            schools.add(state.committed_state.get("school_id", obj.school_id))
            schools.add(obj.school_id)
            forget.add(obj.id)
        elif name == "spaces":
            owners.add(obj.owner_id)
            forget.add(obj.owner_id)
    for obj in session.dirty:
        name = getattr(obj, "__tablename__", None)
        if name == "users":
            state = inspect(obj)
            changed = False
            for attr in ("school_id", "role", "is_disabled"):
                history = state.attrs[attr].history
                if history.added or history.deleted:
                    changed = True
                    if attr == "school_id":
                        schools.update(history.added)
                        schools.update(history.deleted)
            if changed:
                moved.add(obj.id)
                schools.add(obj.school_id)
                if "school_id" in state.committed_state:
                    schools.add(state.committed_state["school_id"])
        elif name == "spaces":
            state = inspect(obj)
            history = state.attrs["owner_id"].history
            owners.update(history.added)
            owners.update(history.deleted)
    # The school a concurrent transaction just moved the person to is not in our history: read it locked.
    schools.update(school for _, school in _lock_users(session, moved))
    _note(session, _SCHOOLS, schools)
    _note(session, _OWNERS, owners)
    _forget_users(session, {i for i in forget if i is not None})


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context):
    if not _tracked(session):
        return
    for obj in list(session.new):  # still the objects this flush inserted
        if getattr(obj, "__tablename__", None) == "spaces":
            space_activated(obj.owner_id, obj.activated_dt, obj.activated_school_id)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state):
    """Note schools touched by Core/bulk statements on users or spaces that bypass the flush."""
    if not (state.is_insert or state.is_update or state.is_delete) or not _tracked(state.session):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name not in ("users", "spaces"):
        return
    params = state.parameters
    rows = params if isinstance(params, list) else [params] if params else []
    if state.is_insert and rows and all(isinstance(r, dict) for r in rows):
        column = "school_id" if name == "users" else "owner_id"
        if all(column in r for r in rows):
            _note(state.session, _SCHOOLS if name == "users" else _OWNERS, (r[column] for r in rows))
            return
    # An UPDATE/DELETE with a WHERE clause (or an INSERT without the column): who knows which schools.
    state.session.info[_FULL] = True


@event.listens_for(Session, "before_commit")
def _before_commit(session):
    if _tracked(session):
        settle(session)


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session, transaction):
    # Only when the whole transaction ends: a rolled-back savepoint (activate's lost race) keeps the notes.
    if transaction.parent is None:
        for key in (_SCHOOLS, _OWNERS, _FULL):
            session.info.pop(key, None)


def settle(session: Session | None = None) -> None:
    """Recount the totals of every school touched in this transaction (runs before commit and reads)."""
    session = session if session is not None else db.session()
    info = session.info
    session.flush()  # pending changes note their schools in before_flush
    if not (info.get(_SCHOOLS) or info.get(_OWNERS) or info.get(_FULL)):
        return
    schools = set(info.pop(_SCHOOLS, ()))
    owners = info.pop(_OWNERS, set())
    full = info.pop(_FULL, False)
    for chunk in _chunks(sorted(owners), 500):
        schools.update(school for _, school in _lock_users(session, chunk))
    if full:
        schools.update(session.scalars(select(_t("schools").c.id)))
        schools.update(int(u.split(":")[1]) for u in session.scalars(
            select(RollupTotal.unit).where(RollupTotal.unit.like("school:%"))))
    schools.discard(None)
    if schools:
        _recount(session, sorted(schools))


def _counts_by_school(session, school_ids=None) -> dict[tuple[int, str], tuple[int, int]]:
    """Return (school id, role) → (rostered, activated) from users and spaces with COUNT(*)."""
    users, spaces = _t("users"), _t("spaces")
    stmt = (select(users.c.school_id, users.c.role, func.count(), func.count(spaces.c.id))
            .select_from(users.outerjoin(spaces, spaces.c.owner_id == users.c.id))
            .where(users.c.role.in_(ROLES), users.c.is_disabled == false(), users.c.school_id.is_not(None))
            .group_by(users.c.school_id, users.c.role))
    if school_ids is not None:
        stmt = stmt.where(users.c.school_id.in_(school_ids))
    return {(s, r): (int(n), int(a)) for s, r, n, a in session.execute(stmt)}


def _recount(session: Session, school_ids: list[int]) -> None:
    table = RollupTotal.__table__
    postgres = session.get_bind().dialect.name == "postgresql"
    chain_map = chains(school_ids)
    ancestors: Counter = Counter()
    for chunk in _chunks(school_ids, 500):
        units = {school_unit(s): s for s in chunk}
        # Make sure the rows exist, then lock them: a concurrent recount of the same school waits here
        # and then counts with our committed changes included (READ COMMITTED reads anew per statement).
        session.execute(conflict_insert(table).values([dict(unit=u, role=r, rostered=0, activated=0)
                                               for u in sorted(units) for r in ROLES])
                        .on_conflict_do_nothing(index_elements=["unit", "role"]))
        lock = (select(table.c.unit, table.c.role, table.c.rostered, table.c.activated)
                .where(table.c.unit.in_(sorted(units))).order_by(table.c.unit, table.c.role))
        if postgres:
            lock = lock.with_for_update()
        stored = {(units[u], r): (n, a) for u, r, n, a in session.execute(lock)}
        counted = _counts_by_school(session, chunk)
        for (school_id, role), (old_n, old_a) in sorted(stored.items()):
            new_n, new_a = counted.get((school_id, role), (0, 0))
            if (new_n, new_a) == (old_n, old_a):
                continue
            session.execute(table.update()
                            .where(table.c.unit == school_unit(school_id), table.c.role == role)
                            .values(rostered=new_n, activated=new_a))
            for unit in _chain(chain_map, school_id)[1:]:
                ancestors[(unit, role, "n")] += new_n - old_n
                ancestors[(unit, role, "a")] += new_a - old_a
    keys = sorted({(u, r) for u, r, _ in ancestors})
    rows = [dict(unit=u, role=r, rostered=ancestors[(u, r, "n")], activated=ancestors[(u, r, "a")])
            for u, r in keys if ancestors[(u, r, "n")] or ancestors[(u, r, "a")]]
    if rows:
        stmt = conflict_insert(table).values(rows)
        session.execute(stmt.on_conflict_do_update(
            index_elements=["unit", "role"],
            set_={"rostered": table.c.rostered + stmt.excluded.rostered,
                  "activated": table.c.activated + stmt.excluded.activated}))


# --- ground truth and rebuild ---------------------------------------------------------------------

@dataclass
class Rollups:
    """Every roll-up row (zero rows left out), for comparing the kept tables with the ground truth."""

    totals: dict          # (unit, role) → (rostered, activated)
    days: dict            # (unit, role, day) → (new_activations, active)
    periods: dict         # (unit, role, period, start) → active
    marks: set            # (user_id, period, start, school_id, role)


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _local_day_sql(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")  # China has kept UTC+8 without daylight saving since 1991


def _period_start_sql(period: str, column):
    if period == "day":
        return column
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date(func.date_trunc(period, column))
    if period == "week":
        return func.date(column, "-6 days", "weekday 1")
    return func.date(column, "start of month")


def _first_actions(period: str):
    """Select (user_id, start, school_id, role) of each space owner's first counted action per period."""
    users, spaces = _t("users"), _t("spaces")
    ad = ActivityDay.__table__
    start = _period_start_sql(period, ad.c.day).label("start")
    first = (select(ad.c.user_id, start, func.min(ad.c.id).label("first_id"))
             .group_by(ad.c.user_id, start).subquery())
    return (select(first.c.user_id, first.c.start, ad.c.school_id, users.c.role)
            .select_from(first)
            .join(ad, ad.c.id == first.c.first_id)
            .join(users, users.c.id == first.c.user_id)
            .join(spaces, spaces.c.owner_id == first.c.user_id)
            .where(users.c.role.in_(ROLES)))


def ground_truth(with_marks: bool = True) -> Rollups:
    """Compute every roll-up from users, spaces, schools and activity_days with COUNT(*)."""
    session = db.session
    session.flush()
    users, spaces = _t("users"), _t("spaces")
    by_school = _counts_by_school(session)
    activated_day = _local_day_sql(spaces.c.activated_dt).label("activated_day")
    new_rows = session.execute(
        select(spaces.c.activated_school_id, users.c.role, activated_day, func.count())
        .join(users, users.c.id == spaces.c.owner_id).where(users.c.role.in_(ROLES))
        .group_by(spaces.c.activated_school_id, users.c.role, activated_day)).all()
    active = {}
    for period in ("day", "week", "month"):
        q = _first_actions(period).subquery()
        active[period] = session.execute(select(q.c.school_id, q.c.role, q.c.start, func.count())
                                         .group_by(q.c.school_id, q.c.role, q.c.start)).all()
    chain_map = chains({s for s, _ in by_school} | {r[0] for r in new_rows}
                       | {r[0] for p in active.values() for r in p})
    totals_: Counter = Counter()
    for (school_id, role), (n, a) in by_school.items():
        for unit in _chain(chain_map, school_id):
            totals_[(unit, role, 0)] += n
            totals_[(unit, role, 1)] += a
    days: dict = defaultdict(lambda: [0, 0])
    for school_id, role, day, n in new_rows:
        for unit in _chain(chain_map, school_id):
            days[(unit, role, _as_date(day))][0] += n
    for school_id, role, day, n in active["day"]:
        for unit in _chain(chain_map, school_id):
            days[(unit, role, _as_date(day))][1] += n
    periods: Counter = Counter()
    for period in PERIODS:
        for school_id, role, start, n in active[period]:
            for unit in _chain(chain_map, school_id):
                periods[(unit, role, period, _as_date(start))] += n
    marks = set()
    if with_marks:
        for period in ("day", "week", "month"):
            for user_id, start, school_id, role in session.execute(_first_actions(period)):
                marks.add((user_id, period, _as_date(start), school_id, role))
    return Rollups(
        totals={(u, r): (totals_[(u, r, 0)], totals_[(u, r, 1)])
                for u, r in {(u, r) for u, r, _ in totals_} if totals_[(u, r, 0)] or totals_[(u, r, 1)]},
        days={k: tuple(v) for k, v in days.items() if any(v)},
        periods={k: v for k, v in periods.items() if v},
        marks=marks)


def stored() -> Rollups:
    """Read every kept roll-up row (zero rows left out), in the shape of ground_truth()."""
    settle()
    session = db.session
    return Rollups(
        totals={(u, r): (n, a) for u, r, n, a in session.execute(
            select(RollupTotal.unit, RollupTotal.role, RollupTotal.rostered, RollupTotal.activated)) if n or a},
        days={(u, r, _as_date(d)): (n, a) for u, r, d, n, a in session.execute(
            select(RollupDay.unit, RollupDay.role, RollupDay.day, RollupDay.new_activations, RollupDay.active))
            if n or a},
        periods={(u, r, p, _as_date(s)): a for u, r, p, s, a in session.execute(
            select(RollupPeriod.unit, RollupPeriod.role, RollupPeriod.period, RollupPeriod.start,
                   RollupPeriod.active)) if a},
        marks={(m.user_id, m.period, _as_date(m.start), m.school_id, m.role)
               for m in session.execute(select(ActiveMark.user_id, ActiveMark.period, ActiveMark.start,
                                               ActiveMark.school_id, ActiveMark.role))})


def rebuild(progress=None) -> dict[str, int]:
    """Replace every roll-up with the ground truth using set-based SQL; idempotent.

    Same definitions as ground_truth() (the tests compare the two), but computed inside the database:
    marks first (each space owner's first counted action per day, week and month), then every counter
    summed from the marks, the spaces and the per-school counts over a temporary school → unit table.
    *progress(done, total)* follows its steps.
    """
    session = db.session
    session.flush()
    for key in (_SCHOOLS, _OWNERS, _FULL):
        session.info.pop(key, None)
    if session.get_bind().dialect.name == "postgresql":
        # Writers of the base tables wait while the roll-ups are rebuilt, so nothing is counted twice or missed.
        session.execute(text("LOCK TABLE users, spaces, activity_days IN SHARE MODE"))
        session.execute(text("LOCK TABLE rollup_totals, rollup_days, rollup_periods, active_marks "
                             "IN EXCLUSIVE MODE"))
    for model in (RollupTotal, RollupDay, RollupPeriod, ActiveMark):
        session.execute(delete(model.__table__))
    _step(progress, 1)

    marks = ActiveMark.__table__
    for period in ("day", "week", "month"):
        q = _first_actions(period).subquery()
        session.execute(marks.insert().from_select(
            ["user_id", "period", "start", "school_id", "role"],
            select(q.c.user_id, literal(period), q.c.start, q.c.school_id, q.c.role)))
    _step(progress, 2)

    # school id → unit, for every school (0 stands for "no school", which counts in "all" only).
    chain = Table("rollup_rebuild_chain", MetaData(), Column("school_id", Integer, nullable=False),
                  Column("unit", String(24), nullable=False), prefixes=["TEMPORARY"])
    chain.drop(session.connection(), checkfirst=True)
    chain.create(session.connection())
    school_ids = list(session.scalars(select(_t("schools").c.id)))
    rows = [dict(school_id=0, unit=ALL)]
    for school_id, units in chains(school_ids).items():
        rows.extend(dict(school_id=school_id, unit=u) for u in units)
    for chunk in _chunks(rows, 5000):
        session.execute(chain.insert(), chunk)
    _step(progress, 3)

    users, spaces = _t("users"), _t("spaces")
    counts = (select(users.c.school_id, users.c.role, func.count().label("n"), func.count(spaces.c.id).label("a"))
              .select_from(users.outerjoin(spaces, spaces.c.owner_id == users.c.id))
              .where(users.c.role.in_(ROLES), users.c.is_disabled == false(), users.c.school_id.is_not(None))
              .group_by(users.c.school_id, users.c.role).subquery())
    session.execute(RollupTotal.__table__.insert().from_select(
        ["unit", "role", "rostered", "activated"],
        select(chain.c.unit, counts.c.role, func.sum(counts.c.n), func.sum(counts.c.a))
        .join(chain, chain.c.school_id == counts.c.school_id)
        .group_by(chain.c.unit, counts.c.role)))
    _step(progress, 4)

    activated_day = _local_day_sql(spaces.c.activated_dt).label("day")
    new = (select(func.coalesce(spaces.c.activated_school_id, 0).label("school_id"), users.c.role,
                  activated_day, func.count().label("n"), literal(0).label("a"))
           .join(users, users.c.id == spaces.c.owner_id).where(users.c.role.in_(ROLES))
           .group_by(spaces.c.activated_school_id, users.c.role, activated_day))
    active = (select(func.coalesce(marks.c.school_id, 0).label("school_id"), marks.c.role,
                     marks.c.start.label("day"), literal(0).label("n"), func.count().label("a"))
              .where(marks.c.period == "day").group_by(marks.c.school_id, marks.c.role, marks.c.start))
    both = new.union_all(active).subquery()
    session.execute(RollupDay.__table__.insert().from_select(
        ["unit", "role", "day", "new_activations", "active"],
        select(chain.c.unit, both.c.role, both.c.day, func.sum(both.c.n), func.sum(both.c.a))
        .join(chain, chain.c.school_id == both.c.school_id)
        .group_by(chain.c.unit, both.c.role, both.c.day)))
    _step(progress, 5)

    per = (select(func.coalesce(marks.c.school_id, 0).label("school_id"), marks.c.role, marks.c.period,
                  marks.c.start, func.count().label("a"))
           .where(marks.c.period.in_(PERIODS))
           .group_by(marks.c.school_id, marks.c.role, marks.c.period, marks.c.start).subquery())
    session.execute(RollupPeriod.__table__.insert().from_select(
        ["unit", "role", "period", "start", "active"],
        select(chain.c.unit, per.c.role, per.c.period, per.c.start, func.sum(per.c.a))
        .join(chain, chain.c.school_id == per.c.school_id)
        .group_by(chain.c.unit, per.c.role, per.c.period, per.c.start)))
    chain.drop(session.connection())
    _step(progress, 6)

    def count(model):
        return session.scalar(select(func.count()).select_from(model.__table__))

    # Rows whose figures are all zero are not kept (ground_truth() leaves them out too).
    session.execute(delete(RollupTotal.__table__).where(RollupTotal.rostered == 0, RollupTotal.activated == 0))
    return {"totals": count(RollupTotal), "days": count(RollupDay), "periods": count(RollupPeriod),
            "marks": count(ActiveMark)}


def _step(progress, done: int) -> None:
    if progress is not None:
        progress(done, 6)
