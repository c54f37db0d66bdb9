"""What administrators set for the statistics: yearly targets and the ranking weights."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class StatsTarget(db.Model):
    """A yearly target of new spaces for the platform or one region, set by its administrator."""

    __tablename__ = "stats_targets"
    __table_args__ = (UniqueConstraint("unit", "year"),
                      CheckConstraint("new_spaces > 0", name="new_spaces_positive"))

    id: Mapped[int] = mapped_column(primary_key=True)
    #: "all" for the platform, else a 6-digit region code
    unit: Mapped[str] = mapped_column(String(6))
    #: calendar year in China (Asia/Shanghai)
    year: Mapped[int] = mapped_column(Integer)
    #: spaces to be newly activated in the unit during the year
    new_spaces: Mapped[int] = mapped_column(Integer)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<StatsTarget {self.unit} {self.year} {self.new_spaces}>"


class RankingWeights(db.Model):
    """The platform administrator's weights of the ranking score (one row, id 1)."""

    __tablename__ = "stats_ranking_weights"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: weight of the activation rate (activated / rostered)
    activation_rate: Mapped[float] = mapped_column(Float)
    #: weight of the weekly active rate (active spaces in the week / activated)
    weekly_active_rate: Mapped[float] = mapped_column(Float)
    #: weight of the monthly active rate (active spaces in the month / activated)
    monthly_active_rate: Mapped[float] = mapped_column(Float)
    #: weight of the share of rostered teachers with at least one published lesson
    teacher_publish_share: Mapped[float] = mapped_column(Float)
    #: weight of lessons published in the range per teacher, relative to the best candidate
    lessons_per_teacher: Mapped[float] = mapped_column(Float)
    #: candidates with fewer rostered people are listed but not ranked
    min_rostered: Mapped[int] = mapped_column(Integer)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<RankingWeights {self.id}>"
