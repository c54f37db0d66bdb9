"""Template filters and globals: times shown in Asia/Shanghai, role names."""
from __future__ import annotations

from datetime import datetime

from .china_time import CHINA


def local_time(value: datetime | None) -> str:
    """Format a UTC datetime as Beijing time, e.g. 2026-11-29 17:30."""
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if value else ""


def local_date(value: datetime | None) -> str:
    """Format a UTC datetime as a Beijing date such as 2026年12月29日."""
    if not value:
        return ""
    local = value.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日"


def init_templating(app) -> None:
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(local_date, "local_date")
