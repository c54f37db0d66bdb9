"""The definitions: the day and period a moment counts in (Python and SQL side by side, so they agree),
and each figure as COUNT(*) over the base tables per school (what recounts and the ground truth both run)."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, false, func, select
from sqlalchemy.dialects.postgresql import distinct_on

from ...china_time import utc_bounds
from ...extensions import db
from ..models import ActivityDay
from . import sources
from .sources import PUBLISHED, ROLES

#: the periods of rollup_periods (days are in rollup_days)
PERIODS = ("week", "month")


def is_postgres(session) -> bool:
    """Tell whether *session* talks to PostgreSQL (row locks and a few faster statements are for it only)."""
    return session.get_bind().dialect.name == "postgresql"


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


def local_day_sql(column, session=None):
    """SQL for the Asia/Shanghai day of a UTC timestamp column."""
    if is_postgres(session or db.session):
        return func.date(func.timezone("Asia/Shanghai", column))
    return func.date(column, "+8 hours")  # China has kept UTC+8 without daylight saving since 1991


def period_start_sql(period: str, column, session=None):
    """SQL for the first day of the "day", "week" (Monday) or "month" containing a date column."""
    if period == "day":
        return column
    if is_postgres(session or db.session):
        return func.date(func.date_trunc(period, column))
    if period == "week":
        return func.date(column, "-6 days", "weekday 1")
    return func.date(column, "start of month")


def people_by_school(session, school_ids=None) -> dict[tuple[int, str], tuple[int, int, int]]:
    """Return (school id, role) → (rostered, activated, publishing teachers) at people's current school."""
    users, spaces, lessons = sources.table("users"), sources.table("spaces"), sources.table("lessons")
    publishes = exists().where(lessons.c.teacher_id == users.c.id, lessons.c.status == PUBLISHED)
    stmt = (select(users.c.school_id, users.c.role, func.count(), func.count(spaces.c.id),
                   func.count().filter(and_(users.c.role == "teacher", publishes)))
            .select_from(users.outerjoin(spaces, spaces.c.owner_id == users.c.id))
            .where(users.c.role.in_(ROLES), users.c.is_disabled == false(), users.c.school_id.is_not(None))
            .group_by(users.c.school_id, users.c.role))
    if school_ids is not None:
        stmt = stmt.where(users.c.school_id.in_(school_ids))
    return {(s, r): (int(n), int(a), int(p)) for s, r, n, a, p in session.execute(stmt)}


def views_by_school(session, school_ids=None) -> dict[int, int]:
    """Return school id → views so far of the published lessons made there."""
    lessons = sources.table("lessons")
    stmt = (select(lessons.c.school_id, func.coalesce(func.sum(lessons.c.view_count), 0))
            .where(lessons.c.status == PUBLISHED).group_by(lessons.c.school_id))
    if school_ids is not None:
        stmt = stmt.where(lessons.c.school_id.in_(school_ids))
    return {s: int(v) for s, v in session.execute(stmt)}


def lesson_days(session, pairs=None) -> dict[tuple[int, date], tuple[int, int]]:
    """Return (school id, day) → (lessons created that day, of all lessons published that day, still published).

    With *pairs* (school id, day), only those are counted (and every pair asked is in the answer).
    """
    lessons = sources.table("lessons")
    found: dict[tuple[int, date], list[int]] = {}
    for column, index, condition in ((lessons.c.created_dt, 0, None),
                                     (lessons.c.published_dt, 1, (lessons.c.status == PUBLISHED) & lessons.c.published_dt.is_not(None))):
        day = local_day_sql(column, session).label("day")
        stmt = select(lessons.c.school_id, day, func.count()).group_by(lessons.c.school_id, day)
        if condition is not None:
            stmt = stmt.where(condition)
        if pairs is not None:
            if not pairs:
                return {}
            days = sorted({d for _, d in pairs})
            low, high = utc_bounds(days[0], days[-1])
            stmt = stmt.where(lessons.c.school_id.in_(sorted({s for s, _ in pairs})), column >= low, column < high)
        for school_id, row_day, n in session.execute(stmt):
            key = (school_id, as_date(row_day))
            found.setdefault(key, [0, 0])[index] += int(n)
    if pairs is not None:
        return {p: tuple(found.get(p, (0, 0))) for p in pairs}
    return {k: tuple(v) for k, v in found.items()}


def as_date(value) -> date:
    """A date from what the driver returns for a DATE expression (SQLite gives text)."""
    return value if isinstance(value, date) and not isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def first_actions(period: str, session=None):
    """Select (user_id, start, school_id, role) of each space owner's first counted action per period.

    "First" is the ActivityDay row with the smallest id in the period. On PostgreSQL one sort with
    DISTINCT ON (its rows come out in key order, which also suits inserting them into an index);
    elsewhere the smallest id per group, joined back.
    """
    session = session or db.session
    users, spaces = sources.table("users"), sources.table("spaces")
    ad = ActivityDay.__table__
    start = period_start_sql(period, ad.c.day, session).label("start")
    if is_postgres(session):
        return (select(ad.c.user_id, start, ad.c.school_id, users.c.role)
                .join(users, users.c.id == ad.c.user_id)
                .join(spaces, spaces.c.owner_id == ad.c.user_id)
                .where(users.c.role.in_(ROLES))
                .ext(distinct_on(ad.c.user_id, start))
                .order_by(ad.c.user_id, start, ad.c.id))
    first = (select(ad.c.user_id, start, func.min(ad.c.id).label("first_id"))
             .group_by(ad.c.user_id, start).subquery())
    return (select(first.c.user_id, first.c.start, ad.c.school_id, users.c.role)
            .select_from(first)
            .join(ad, ad.c.id == first.c.first_id)
            .join(users, users.c.id == first.c.user_id)
            .join(spaces, spaces.c.owner_id == first.c.user_id)
            .where(users.c.role.in_(ROLES)))
