"""Admin scope: which schools and regions an administrator manages, and refusing those outside it.

The one place where scope is decided; admin pages, CLI commands and every domain
above accounts ask these functions, and nothing decides scope elsewhere.
"""
from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true

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


def can_hold(admin: User, role: str, region_code: str | None = None, school: School | None = None) -> bool:
    """Tell whether *admin* may create or manage an admin account of *role* for that region or school.

    Platform admins manage every admin account; only they create platform admins. A region admin
    manages the region admins of regions strictly below their own (their own level belongs to the
    level above) and the school admins of schools in their region. School admins manage none.
    """
    if admin.role == "platform_admin":
        return role in ADMIN_ROLES
    if admin.role != "region_admin" or not admin.region_code:
        return False
    if role == "region_admin":
        return bool(region_code) and region_code != admin.region_code and region_code.startswith(
            region_prefix(admin.region_code))
    return role == "school_admin" and school is not None and can_manage_school(admin, school)


def can_manage_account(admin: User, account: User) -> bool:
    """Tell whether *account* is an admin account inside *admin*'s scope."""
    return account.role in ADMIN_ROLES and can_hold(admin, account.role, account.region_code, account.school)


def account_scope(admin: User):
    """Return a SQL condition on User selecting the admin accounts *admin* manages (see can_hold)."""
    if admin.role == "platform_admin":
        return User.role.in_(ADMIN_ROLES)
    if admin.role != "region_admin" or not admin.region_code:
        return false()
    below = and_(User.role == "region_admin", User.region_code != admin.region_code,
                 User.region_code.startswith(region_prefix(admin.region_code), autoescape=True))
    schools = and_(User.role == "school_admin", User.school_id.in_(select(School.id).where(school_scope(admin))))
    return or_(below, schools)


def require_account(admin: User, account: User) -> None:
    """Refuse, and audit the attempt, when *account* is not an admin account in *admin*'s scope."""
    require_admin(admin)
    if not can_manage_account(admin, account):
        audit.record_denied("admin.scope", target=f"user:{account.id}")
        raise PermissionDenied("您无权管理该管理员账号（不在您的管辖范围内）")


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
    """Refuse when the person's school (or, for an admin account, the account) is outside *admin*'s scope."""
    require_admin(admin)
    if person.role in ADMIN_ROLES:
        # Admin accounts follow can_hold; one's own page stays visible (disabling oneself is refused there).
        allowed = person.id == admin.id or can_manage_account(admin, person)
    else:
        allowed = person.school is not None and can_manage_school(admin, person.school)
    if not allowed:
        audit.record_denied("admin.scope", target=f"user:{person.id}")
        raise PermissionDenied("您无权查看或管理该用户（不在您的管辖范围内）")
