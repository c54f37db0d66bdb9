"""Date ranges and periods of the statistics, all in Asia/Shanghai calendar days."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..china_time import today
from ..errors import ValidationError

#: granularity of the time series
GRANULARITIES = {"day": "按日", "week": "按周", "month": "按月"}
#: a range may span at most this many years
MAX_YEARS = 10
#: at most this many days when shown day by day
MAX_DAILY_DAYS = 366
#: the range shown when none is asked for
DEFAULT_DAYS = 90



def week_start(day: date) -> date:
    """Return the Monday of the ISO week containing *day*."""
    return day - timedelta(days=day.weekday())


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of local days and the granularity of its time series."""

    start: date
    end: date
    by: str = "day"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def week(self) -> date:
        """The Monday of the week containing the last day (weekly active spaces are counted there)."""
        return week_start(self.end)

    @property
    def month(self) -> date:
        """The first day of the month containing the last day."""
        return month_start(self.end)

    def buckets(self) -> list[tuple[date, date]]:
        """Return (first, last) local days of each day, week or month of the series, clipped to the range."""
        out = []
        if self.by == "day":
            day = self.start
            while day <= self.end:
                out.append((day, day))
                day += timedelta(days=1)
        elif self.by == "week":
            first = week_start(self.start)
            while first <= self.end:
                out.append((max(first, self.start), min(first + timedelta(days=6), self.end)))
                first += timedelta(days=7)
        else:
            first = month_start(self.start)
            while first <= self.end:
                out.append((max(first, self.start), min(next_month(first) - timedelta(days=1), self.end)))
                first = next_month(first)
        return out

    def period_starts(self) -> list[date]:
        """Return the week (Monday) or month (first day) starts the range touches; days for by=day."""
        if self.by == "day":
            return [first for first, _ in self.buckets()]
        shift = week_start if self.by == "week" else month_start
        return [shift(first) for first, _ in self.buckets()]

    def bucket_label(self, first: date) -> str:
        if self.by == "month":  # the year only where it starts or changes, so the labels stay short
            return f"{first.year}年{first.month}月" if first == self.start or first.month == 1 else f"{first.month}月"
        if self.by == "week":
            return f"{week_start(first):%m-%d}周"
        return f"{first:%m-%d}" if self.start.year == self.end.year else f"{first:%Y-%m-%d}"

    def query(self) -> dict:
        return {"from": self.start.isoformat(), "to": self.end.isoformat(), "by": self.by}

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"


#: dates outside these years are refused (the platform did not exist before; far futures overflow)
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _parse_day(text: str, what: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"{what}“{text[:20]}”无效，请按 YYYY-MM-DD 填写，例如 2026-09-01") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValidationError(f"{what} {day.isoformat()} 超出范围，应在 {FIRST_YEAR} 年到 {LAST_YEAR} 年之间")
    return day


def parse_range(start: str | None, end: str | None, by: str | None = None, now: date | None = None) -> DateRange:
    """Build a range from form text, refusing bad dates, reversed ranges and ranges over ten years."""
    now = now or today()
    start, end, by = (start or "").strip(), (end or "").strip(), (by or "").strip()
    last = _parse_day(end, "结束日期") if end else now
    first = _parse_day(start, "开始日期") if start else last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise ValidationError(f"开始日期 {first.isoformat()} 晚于结束日期 {last.isoformat()}，请对调后重试")
    try:
        limit = last.replace(year=last.year - MAX_YEARS)
    except ValueError:  # 29 February
        limit = last.replace(year=last.year - MAX_YEARS, day=28)
    if first < limit:
        raise ValidationError(f"日期范围不能超过 {MAX_YEARS} 年（{first.isoformat()} 至 {last.isoformat()}）")
    if by and by not in GRANULARITIES:
        raise ValidationError(f"统计粒度“{by[:10]}”无效，可选：按日、按周、按月")
    days = (last - first).days + 1
    if not by:
        by = "day" if days <= 92 else ("week" if days <= 2 * 366 else "month")
    if by == "day" and days > MAX_DAILY_DAYS:
        raise ValidationError(f"按日显示最多 {MAX_DAILY_DAYS} 天，当前范围 {days} 天，请改为按周或按月")
    return DateRange(first, last, by)
