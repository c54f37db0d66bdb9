"""Admin scope: which schools and regions an administrator manages.

The one place where scope is decided; admin pages, CLI commands and the
lessons domain all ask these functions, and nothing decides scope elsewhere.
"""
from __future__ import annotations

from sqlalchemy import false, true

from ..orgs.models import Region, School
from ..orgs.operations import region_prefix
from .models import User


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
