"""Administrative regions (province → city → county) and schools."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db

REGION_LEVELS = ("province", "city", "county")
REGION_LEVEL_NAMES = {"province": "省", "city": "市", "county": "区县"}
SCHOOL_STAGES = ("小学", "初中", "高中", "九年一贯制", "完全中学", "十二年一贯制", "中职", "特殊教育")


class Region(db.Model):
    __tablename__ = "regions"

    #: 6-digit GB/T 2260 division code, e.g. 430000 (province), 430100 (city), 430102 (county)
    code: Mapped[str] = mapped_column(String(6), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    #: one of REGION_LEVELS
    level: Mapped[str] = mapped_column(String(10))
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Region | None] = relationship(remote_side=[code])

    __table_args__ = (CheckConstraint("level IN ('province', 'city', 'county')", name="level"),)

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.level}>"


class School(db.Model):
    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: 10-digit national school identifier (学校标识码)
    code: Mapped[str] = mapped_column(String(10), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    #: 学段 such as 小学, 初中, 完全中学 (SCHOOL_STAGES)
    stage: Mapped[str] = mapped_column(String(16))
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    county: Mapped[Region] = relationship()

    def __repr__(self) -> str:
        return f"<School {self.code}>"
