"""Admin accounts: creating them within the creator's scope, and naming an admin's scope in words.

The web page (learnspace.admin) and the create-admin command both create admin accounts through
create_admin_account, so the same checks apply however an account is made.
"""
from __future__ import annotations

from ..audit import operations as audit
from ..errors import PermissionDenied, ValidationError
from ..exports import unsafe_text
from ..orgs.models import Region
from ..orgs.operations import get_region, get_school_by_code
from . import operations
from .models import ADMIN_ROLES, ROLE_NAMES, User
from .scope import can_hold

#: the order admin accounts are listed and offered in, highest level first
ROLE_ORDER = ("platform_admin", "region_admin", "school_admin")


def creatable_roles(admin: User | None) -> list[str]:
    """List the admin roles *admin* may create (all of them for the command line without --admin)."""
    if admin is None or admin.role == "platform_admin":
        return list(ROLE_ORDER)
    if admin.role == "region_admin" and admin.region_code:
        return ["region_admin", "school_admin"]
    return []


def create_admin_account(by: User | None, login_name: str, real_name: str, role: str,
                         region_code: str | None = None, school_code: str | None = None,
                         password: str | None = None) -> User:
    """Create an admin account inside *by*'s scope (by=None: the operator at the command line); audited.

    Without a password the account shows as 未设置密码 until a reset code is redeemed.
    """
    if role not in ADMIN_ROLES:
        raise ValidationError(f"角色“{role}”不是管理员角色")
    real_name = (real_name or "").strip()
    if not real_name or len(real_name) > 64:
        raise ValidationError("请填写姓名（不超过 64 个字）")
    if unsafe_text(real_name):
        raise ValidationError(f"姓名“{real_name}”不能以 = + - @ 开头，也不能包含 < > 或控制字符")
    region_code = (region_code or "").strip() or None
    school_code = (school_code or "").strip() or None
    school = None
    if role == "region_admin":
        if not region_code:
            raise ValidationError("区域管理员必须指定行政区划")
        get_region(region_code)
    elif role == "school_admin":
        if not school_code:
            raise ValidationError("学校管理员必须指定学校")
        school = get_school_by_code(school_code)
    # Only the field that goes with the role is kept: a school admin has no region, and so on.
    region_code = region_code if role == "region_admin" else None
    if by is not None and not can_hold(by, role, region_code, school):
        target = f"school:{school.code}" if school else f"region:{region_code}" if region_code else None
        audit.record_denied("admin.create", target=target, detail=role)
        if role == "platform_admin":
            raise PermissionDenied("平台管理员账号只能由平台管理员设立")
        raise PermissionDenied("您只能为自己管辖范围内的下级区域或学校设立管理员账号")
    user = operations.create_admin((login_name or "").strip(), real_name, password, role, school, region_code)
    audit.record("admin.create", target=f"user:{user.id}", detail=role)
    return user


def region_path(region: Region) -> str:
    """Name a region with the regions above it, e.g. 湖南省长沙市岳麓区."""
    names = []
    while region is not None:
        names.append(region.name)
        region = region.parent
    return "".join(reversed(names))


def scope_words(user: User) -> str:
    """Describe what an admin account manages, e.g. 湖南省长沙市岳麓区（430104） or a school's name."""
    if user.role == "platform_admin":
        return "全平台"
    if user.role == "region_admin" and user.region is not None:
        return f"{region_path(user.region)}（{user.region_code}）"
    if user.role == "school_admin" and user.school is not None:
        return f"{user.school.name}（{user.school.code}）"
    return "—"


def role_words(role: str) -> str:
    """Chinese name of a role."""
    return ROLE_NAMES.get(role, role)
