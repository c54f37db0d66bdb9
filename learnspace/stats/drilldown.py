"""The dashboard's units and how an administrator moves between them: resolve, drill down, breadcrumbs.

A unit (``Unit``) is the platform ("all"), a province, city or county (by region code) or a school
(by school code); resolve() turns a request's codes into one, refusing codes outside the admin's scope
(decided by accounts.scope, as everywhere: an admin sees their own unit and the units under it, never a
sibling's or a parent's); children(), descendants() and parents() walk the tree. ``Unit.key`` names the
unit's roll-up rows (activity.rollups.chains).
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ..accounts.models import User
from ..accounts.scope import can_manage_region, can_manage_school
from ..audit import operations as audit
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..orgs.models import REGION_LEVEL_NAMES, Region, School
from ..orgs.operations import REGION_CODE_RE, SCHOOL_CODE_RE, region_prefix

#: the level below each unit kind
CHILD_KIND = {"all": "province", "province": "city", "city": "county", "county": "school", "school": "class"}
KIND_NAMES = {"all": "全平台", **REGION_LEVEL_NAMES, "school": "学校", "class": "班级"}
CHILD_NAMES = {"province": "省", "city": "市", "county": "区县", "school": "学校", "class": "年级/班级"}


@dataclass(frozen=True)
class Unit:
    """A place figures are counted for: kind is all, province, city, county or school."""

    kind: str
    #: "all", the region code or the school code
    code: str
    name: str
    school_id: int | None = None

    @property
    def key(self) -> str:
        """The roll-up unit: "all", "region:<code>" or "school:<id>" (see activity.models)."""
        if self.kind == "school":
            return f"school:{self.school_id}"
        return "all" if self.kind == "all" else f"region:{self.code}"

    @property
    def child_kind(self) -> str:
        return CHILD_KIND[self.kind]

    @property
    def label(self) -> str:
        return "全平台" if self.kind == "all" else f"{self.name}（{self.code}）"

    def query(self) -> dict:
        """URL parameters that name this unit (for links and exports)."""
        if self.kind == "all":
            return {"region": "all"}
        if self.kind == "school":
            return {"school": self.code}
        return {"region": self.code}


PLATFORM = Unit("all", "all", "全平台")


def region_unit(region: Region) -> Unit:
    return Unit(region.level, region.code, region.name)


def school_unit(school: School) -> Unit:
    return Unit("school", school.code, school.name, school.id)


def home_unit(admin: User) -> Unit:
    """Return the unit an administrator starts at: the platform, their region or their school."""
    if admin.role == "platform_admin":
        return PLATFORM
    if admin.role == "region_admin" and admin.region_code:
        return region_unit(db.session.get(Region, admin.region_code))
    if admin.role == "school_admin" and admin.school_id:
        return school_unit(db.session.get(School, admin.school_id))
    raise PermissionDenied("统计页面仅限管理员使用")


def resolve(admin: User | None, region: str | None = None, school: str | None = None) -> Unit:
    """Return the unit asked for, refusing unknown codes and units outside *admin*'s scope.

    *admin* None means the server operator (CLI without --admin): everything is in scope.
    """
    region = (region or "").strip()
    school = (school or "").strip()
    if region and school:
        raise ValidationError("请只指定一个单位：行政区划代码或学校标识码")
    if school:
        if not SCHOOL_CODE_RE.match(school):
            raise ValidationError(f"学校标识码“{school[:20]}”应为 10 位数字")
        found = db.session.scalar(select(School).where(School.code == school))
        if found is None:
            raise NotFound(f"学校标识码“{school}”不存在")
        if admin is not None and not can_manage_school(admin, found):
            audit.record_denied("stats.scope", target=f"school:{found.code}")
            raise PermissionDenied(f"您无权查看“{found.name}”的统计数据（不在您的管辖范围内）")
        return school_unit(found)
    if not region:
        if admin is None:
            return PLATFORM
        return home_unit(admin)
    if region == "all":
        if admin is not None and admin.role != "platform_admin":
            audit.record_denied("stats.scope", target="region:all")
            raise PermissionDenied("只有平台管理员可以查看全平台的统计数据")
        return PLATFORM
    if not REGION_CODE_RE.match(region):
        raise ValidationError(f"行政区划代码“{region[:20]}”应为 6 位数字")
    found = db.session.get(Region, region)
    if found is None:
        raise NotFound(f"行政区划代码“{region}”不存在")
    if admin is not None and not can_manage_region(admin, region):
        audit.record_denied("stats.scope", target=f"region:{region}")
        raise PermissionDenied(f"您无权查看“{found.name}（{region}）”的统计数据（不在您的管辖范围内）")
    return region_unit(found)


def children(unit: Unit) -> list[Unit]:
    """Return the units directly under *unit* (provinces, cities, counties or schools), by code."""
    if unit.kind == "all":
        regions = db.session.scalars(select(Region).where(Region.level == "province").order_by(Region.code))
        return [region_unit(r) for r in regions]
    if unit.kind in ("province", "city"):
        regions = db.session.scalars(select(Region).where(Region.parent_code == unit.code).order_by(Region.code))
        return [region_unit(r) for r in regions]
    if unit.kind == "county":
        schools = db.session.scalars(select(School).where(School.county_code == unit.code).order_by(School.code))
        return [school_unit(s) for s in schools]
    return []


def descendants(unit: Unit, kind: str) -> list[Unit]:
    """Return every unit of *kind* (city, county or school) inside *unit*, by code."""
    if kind == "school":
        stmt = select(School).order_by(School.code)
        if unit.kind == "school":
            stmt = stmt.where(School.id == unit.school_id)
        elif unit.kind != "all":
            stmt = stmt.where(School.county_code.startswith(region_prefix(unit.code), autoescape=True))
        return [school_unit(s) for s in db.session.scalars(stmt)]
    stmt = select(Region).where(Region.level == kind).order_by(Region.code)
    if unit.kind != "all":
        stmt = stmt.where(Region.code.startswith(region_prefix(unit.code), autoescape=True))
    return [region_unit(r) for r in db.session.scalars(stmt)]


def parents(unit: Unit, admin: User | None) -> list[Unit]:
    """Return the units above *unit* that *admin* may see, from the top (for breadcrumbs)."""
    chain: list[Unit] = []
    if unit.kind == "all":
        return chain
    if unit.kind == "school":
        region = db.session.get(School, unit.school_id).county
    else:
        region = db.session.get(Region, unit.code).parent
    while region is not None:
        chain.insert(0, region_unit(region))
        region = region.parent
    chain.insert(0, PLATFORM)
    if admin is None:
        return chain
    return [u for u in chain if (u.kind == "all" and admin.role == "platform_admin")
            or (u.kind != "all" and can_manage_region(admin, u.code))]
