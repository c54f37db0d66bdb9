"""Admin scope: which schools and regions an administrator manages, and refusing those outside it.

The one place where scope is decided; admin pages, CLI commands and every domain
above accounts ask these functions, and nothing decides scope elsewhere.
"""
from __future__ import annotations

from sqlalchemy import false, true

from ..audit import operations as audit
from ..errors import PermissionDenied
from ..orgs.models import Region, School
from ..orgs.operations import region_prefix
from .models import ADMIN_ROLES, User


def school_scope(admin: User):
    """Return a SQL condition on School selecting the schools *admin* manages."""
    if admin.role == "platform_admin":
        return true()
    if admin.role == "region_admin" and admin.region_code:
        return School.county_code.startswith(region_prefix(admin.region_code), autoescape=True)
    if admin.role == "school_admin" and admin.school_id:
        return School.id == admin.school_id
    return false()


def region_scope(admin: User):
    """Return a SQL condition on Region selecting the regions *admin* may see."""
    if admin.role == "platform_admin":
        return true()
    if admin.role == "region_admin" and admin.region_code:
        return Region.code.startswith(region_prefix(admin.region_code), autoescape=True)
    return false()


def can_manage_school(admin: User, school: School) -> bool:
    """Tell whether *school* lies inside *admin*'s region or is their school."""
    if admin.role == "platform_admin":
        return True
    if admin.role == "region_admin" and admin.region_code:
        return school.county_code.startswith(region_prefix(admin.region_code))
    return admin.role == "school_admin" and admin.school_id == school.id


def can_manage_region(admin: User, region_code: str) -> bool:
    """Tell whether a region lies inside *admin*'s region."""
    if admin.role == "platform_admin":
        return True
    return admin.role == "region_admin" and bool(admin.region_code) and region_code.startswith(
        region_prefix(admin.region_code))


def require_admin(user: User) -> None:
    """Refuse anyone who is not an administrator."""
    if getattr(user, "role", None) not in ADMIN_ROLES:
        raise PermissionDenied("此页面仅限管理员使用")


def require_school(admin: User, school: School) -> None:
    """Refuse, and audit the attempt, when *school* is outside *admin*'s scope."""
    require_admin(admin)
    if not can_manage_school(admin, school):
        audit.record_denied("admin.scope", target=f"school:{school.code}")
        raise PermissionDenied(f"您无权管理学校“{school.name}”（不在您的管辖范围内）")


def require_person(admin: User, person: User) -> None:
    """Refuse when the person's school is outside *admin*'s scope."""
    require_admin(admin)
    if person.school is None or not can_manage_school(admin, person.school):
        audit.record_denied("admin.scope", target=f"user:{person.id}")
        raise PermissionDenied("您无权查看或管理该用户（不在您的管辖范围内）")


def require_account(admin: User, person: User) -> None:
    """Like require_person, but also for administrators who belong to no school (platform and region admins).

    A platform admin manages every such account; a region admin the region admins strictly below their region.
    """
    if person.school is not None:
        require_person(admin, person)
        return
    require_admin(admin)
    allowed = admin.role == "platform_admin" or (
        admin.role == "region_admin" and person.role == "region_admin" and bool(person.region_code)
        and person.region_code != admin.region_code and can_manage_region(admin, person.region_code))
    if not allowed:
        audit.record_denied("admin.scope", target=f"user:{person.id}")
        raise PermissionDenied("您无权查看或管理该用户（不在您的管辖范围内）")
