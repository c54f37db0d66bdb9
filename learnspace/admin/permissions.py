"""Refusing admins outside their scope (the scope itself is decided in accounts.scope)."""
from __future__ import annotations

from ..accounts.models import ADMIN_ROLES, User
from ..accounts.scope import can_manage_region, can_manage_school, region_scope, school_scope
from ..audit import operations as audit
from ..errors import PermissionDenied
from ..orgs.models import School

__all__ = ["can_manage_region", "can_manage_school", "region_scope", "school_scope",
           "require_admin", "require_person", "require_school"]


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
