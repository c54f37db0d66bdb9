"""Verbs of the regions-and-schools domain."""
from __future__ import annotations

import re

from sqlalchemy import select

from ..errors import Conflict, NotFound, ValidationError
from ..exports import unsafe_text
from ..extensions import db
from ..search.outbox import SCHOOL
from ..search.outbox import enqueue as enqueue_for_search
from .models import REGION_LEVELS, SCHOOL_STAGES, Region, School

REGION_CODE_RE = re.compile(r"^\d{6}$")
SCHOOL_CODE_RE = re.compile(r"^\d{10}$")


def check_name(name: str, what: str) -> None:
    """Refuse a name that a spreadsheet would read as a formula, or with markup or control characters."""
    # Names end up in the statistics, ranking and activation-code exports other admins open in Excel.
    if unsafe_text(name):
        raise ValidationError(f"{what}“{name}”不能以 = + - @ 开头，也不能包含 < > 或制表符等控制字符，请修改后重试")


def region_level_of(code: str) -> str:
    """Return the level a GB/T 2260 code denotes (province ends 0000, city 00)."""
    if not REGION_CODE_RE.match(code or ""):
        raise ValidationError(f"行政区划代码“{code}”应为 6 位数字")
    if code.endswith("0000"):
        return "province"
    if code.endswith("00"):
        return "city"
    return "county"


def region_prefix(code: str) -> str:
    """Return the code prefix shared by every region inside *code*."""
    level = region_level_of(code)
    return {"province": code[:2], "city": code[:4], "county": code}[level]


def parent_code_of(code: str) -> str | None:
    """Return the code of the region directly above *code* (None for a province)."""
    level = region_level_of(code)
    if level == "province":
        return None
    if level == "city":
        return code[:2] + "0000"
    return code[:4] + "00"


def get_region(code: str) -> Region:
    """Load a region or raise NotFound."""
    region = db.session.get(Region, code)
    if region is None:
        raise NotFound(f"行政区划代码“{code}”不存在")
    return region


def create_region(code: str, name: str) -> Region:
    """Create a province, city or county; its parent must already exist."""
    name = (name or "").strip()
    level = region_level_of(code)
    if not name or len(name) > 64:
        raise ValidationError("区划名称不能为空，且不超过 64 个字")
    check_name(name, "区划名称")
    if db.session.get(Region, code) is not None:
        raise Conflict(f"行政区划代码“{code}”已存在")
    parent = parent_code_of(code)
    if parent is not None:
        get_region(parent)
    region = Region(code=code, name=name, level=level, parent_code=parent)
    db.session.add(region)
    db.session.flush()
    return region


def get_school_by_code(code: str) -> School:
    """Load a school by its 10-digit code or raise NotFound."""
    school = db.session.scalar(select(School).where(School.code == code))
    if school is None:
        raise NotFound(f"学校标识码“{code}”不存在，请先由区县管理员登记该学校")
    return school


def _check_school_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError("学校名称不能为空，且不超过 100 个字")
    check_name(name, "学校名称")
    return name


def create_school(code: str, name: str, stage: str, county_code: str) -> School:
    """Register a school in a county."""
    if not SCHOOL_CODE_RE.match(code or ""):
        raise ValidationError(f"学校标识码“{code}”应为 10 位数字")
    name = _check_school_name(name)
    if stage not in SCHOOL_STAGES:
        raise ValidationError(f"学段“{stage}”无效，可选：{'、'.join(SCHOOL_STAGES)}")
    county = get_region(county_code)
    if county.level != "county":
        raise ValidationError("学校必须属于一个区县（6 位代码末两位不为 00）")
    if db.session.scalar(select(School.id).where(School.code == code)) is not None:
        raise Conflict(f"学校标识码“{code}”已登记")
    school = School(code=code, name=name, stage=stage, county_code=county_code)
    db.session.add(school)
    db.session.flush()
    return school


def rename_school(school: School, name: str) -> bool:
    """Give *school* a new name (same rule as registering it); its lessons are queued for the search index.

    Returns False when the name is unchanged (nothing written).
    """
    name = _check_school_name(name)
    if name == school.name:
        return False
    school.name = name
    # One outbox row in this transaction; the index writer expands it into the school's lessons.
    enqueue_for_search(SCHOOL, school.id)
    db.session.flush()
    return True


def region_path(region: Region) -> list[Region]:
    """Return the chain of regions from the province down to *region*."""
    chain = [region]
    while chain[0].parent is not None:
        chain.insert(0, chain[0].parent)
    return chain


__all__ = [
    "REGION_LEVELS", "create_region", "create_school", "rename_school", "get_region", "get_school_by_code",
    "region_level_of", "region_prefix", "parent_code_of", "region_path",
]
