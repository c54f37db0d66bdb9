"""What a person did on which day: the one record of "active use" (人人用空间)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class ActivityDay(db.Model):
    """One row per person, day (Asia/Shanghai) and kind of action, with how often it happened."""

    __tablename__ = "activity_days"
    __table_args__ = (UniqueConstraint("user_id", "day", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: the calendar day in China (Asia/Shanghai), not UTC: "active this week" is a local week
    day: Mapped[date] = mapped_column(Date, index=True)
    #: one of learnspace.activity.operations.KINDS
    kind: Mapped[str] = mapped_column(String(16))
    #: the person's school when the first action of the day happened (statistics count it there)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<ActivityDay user={self.user_id} {self.day} {self.kind}×{self.count}>"
