"""China time (Asia/Shanghai): the one zone LearnSpace shows and counts days in; everything is stored in UTC."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


def local_day(at: datetime | None = None) -> date:
    """Return the China calendar day of an aware (or UTC-naive) datetime, default now."""
    if at is None:
        at = datetime.now(timezone.utc)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(CHINA).date()


def today() -> date:
    """Return today's date in China."""
    return local_day()


def utc_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """Return the UTC instants of China midnight at *first* and after *last* (half-open)."""
    low = datetime.combine(first, time(), CHINA).astimezone(timezone.utc)
    high = datetime.combine(last + timedelta(days=1), time(), CHINA).astimezone(timezone.utc)
    return low, high


def at_china(day: date, clock: time = time()) -> datetime:
    """Return the UTC instant of *clock* China time on *day*."""
    return datetime.combine(day, clock, CHINA).astimezone(timezone.utc)
