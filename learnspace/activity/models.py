"""What a person did on which day: the one record of "active use" (人人用空间)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
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


# --- roll-ups (maintained by learnspace.activity.rollups; rebuildable from the tables above and users/spaces) ---
#
# A "unit" is a string: "all" (the platform), "region:<6-digit code>" (province, city or county) or
# "school:<school id>". Every figure is kept per role ("teacher" or "student").


class RollupTotal(db.Model):
    """Rostered and activated people now, per unit and role (rollups.totals reads it)."""

    __tablename__ = "rollup_totals"

    #: "all", "region:<code>" or "school:<id>"
    unit: Mapped[str] = mapped_column(String(24), primary_key=True)
    #: "teacher" or "student"
    role: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: teachers/students of the unit's schools now, not disabled
    rostered: Mapped[int] = mapped_column(Integer, default=0)
    #: of those, the ones with a space
    activated: Mapped[int] = mapped_column(Integer, default=0)
    #: teachers only: of the rostered, the ones with at least one published lesson
    publishing_teachers: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: teachers only: views so far of the published lessons made at the unit's schools (Lesson.school_id)
    views: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<RollupTotal {self.unit} {self.role} {self.activated}/{self.rostered}>"


class RollupDay(db.Model):
    """New activations, active spaces and lessons made per unit, role and Asia/Shanghai day."""

    __tablename__ = "rollup_days"
    # Range sums read many units' days at once: on PostgreSQL this index carries the columns they add up,
    # so the rows need not be fetched one by one (a county's ~250 schools × 90 days at 10M: 157 ms → 22 ms).
    __table_args__ = (Index("ix_rollup_days_unit_day", "unit", "day",
                            postgresql_include=["role", "new_activations", "uploaded", "published"]),)

    unit: Mapped[str] = mapped_column(String(24), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    #: spaces activated that day at a school of the unit (Space.activated_school_id)
    new_activations: Mapped[int] = mapped_column(Integer, default=0)
    #: space owners active that day, counted at their school at their first counted action of the day
    active: Mapped[int] = mapped_column(Integer, default=0)
    #: teachers only: lessons created that day at the unit's schools (Lesson.school_id), still existing
    uploaded: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: teachers only: lessons published that day (Lesson.published_dt) and still published
    published: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    def __repr__(self) -> str:
        return f"<RollupDay {self.unit} {self.role} {self.day} +{self.new_activations} active={self.active}>"


class RollupPeriod(db.Model):
    """Active spaces per unit, role and ISO week (Monday start) or calendar month (1st), Asia/Shanghai."""

    __tablename__ = "rollup_periods"
    __table_args__ = (CheckConstraint("period IN ('week', 'month')", name="period"),)

    unit: Mapped[str] = mapped_column(String(24), primary_key=True)
    role: Mapped[str] = mapped_column(String(10), primary_key=True)
    #: "week" or "month"
    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    #: the Monday of the week or the 1st of the month
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    #: space owners active in the period, counted at their school at their first counted action in it
    active: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<RollupPeriod {self.unit} {self.role} {self.period} {self.start} active={self.active}>"


class ActiveMark(db.Model):
    """One space owner counted active in one day, week or month: inserted once, so counted once."""

    __tablename__ = "active_marks"
    __table_args__ = (CheckConstraint("period IN ('day', 'week', 'month')", name="period"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    #: "day", "week" or "month"
    period: Mapped[str] = mapped_column(String(5), primary_key=True)
    #: the day, the Monday of the week or the 1st of the month
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    #: where the person was counted (school at their first counted action of the period)
    school_id: Mapped[int | None] = mapped_column(Integer)
    #: the person's role when counted
    role: Mapped[str] = mapped_column(String(10))

    def __repr__(self) -> str:
        return f"<ActiveMark user={self.user_id} {self.period} {self.start}>"
