"""Record active use of a space, defined in one place.

A space counts as *active* on a day when its owner did at least one of ``KINDS`` that
day. Reading a page does not count: only actions that show the space is used for
teaching or learning. Each call upserts one ``ActivityDay`` row (person, local day,
kind), so the table is both the record and the daily roll-up that statistics count;
repeated actions raise ``count`` and never add rows.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import func, select

from ..china_time import local_day
from ..extensions import db
from ..transactions import conflict_insert
from . import rollups
from .models import ActivityDay

#: the actions that count as active use, with their Chinese names (documented for the statistics)
KINDS = {
    "sign_in": "登录",
    "upload": "上传课程文件",
    "publish": "发布课程",
    "watch": "观看课程",
    "comment": "发表评论",
    "note": "记笔记",
    "announce": "发布公告",
}


def record(user, kind: str, at: datetime | None = None) -> None:
    """Count one *kind* action of *user* on the local day of *at*; safe under concurrent calls."""
    if kind not in KINDS:
        raise ValueError(f"unknown activity kind {kind!r}")
    at = at or datetime.now(timezone.utc)
    values = dict(user_id=user.id, day=local_day(at), kind=kind, school_id=user.school_id, count=1,
                  first_dt=at, last_dt=at)
    stmt = conflict_insert(ActivityDay).values(**values)
    # One statement, so two requests of the same person never race to insert the same row.
    stmt = stmt.on_conflict_do_update(
        index_elements=["user_id", "day", "kind"],
        set_={"count": ActivityDay.count + 1, "last_dt": stmt.excluded.last_dt})
    db.session.execute(stmt)
    rollups.activity_recorded(user, values["day"])


def last_active(user_ids) -> dict[int, datetime]:
    """Return user id → time of their latest counted action, for the given people."""
    ids = list(user_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(ActivityDay.user_id, func.max(ActivityDay.last_dt))
                              .where(ActivityDay.user_id.in_(ids)).group_by(ActivityDay.user_id))
    return {user_id: dt for user_id, dt in rows}


def days_active(user_id: int, since: date) -> list[date]:
    """Return the local days since *since* on which *user_id* did something that counts."""
    return list(db.session.scalars(select(ActivityDay.day).distinct()
                                   .where(ActivityDay.user_id == user_id, ActivityDay.day >= since)
                                   .order_by(ActivityDay.day)))


def keep_counts_of_deleted(user_id: int) -> None:
    """Keep the anonymous roll-up counts a person made when they are deleted in this transaction (PIPL erasure)."""
    rollups.keep_history([user_id])
