"""Reads behind the admin-accounts page: the admin accounts in scope, their state, and what may be chosen."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, exists, func, select

from ..accounts.admins import ROLE_ORDER, region_path, scope_words
from ..accounts.models import Identity, User, UserSession
from ..accounts.scope import account_scope, region_scope, school_scope
from ..extensions import db
from ..orgs.models import Region, School


@dataclass
class AccountRow:
    """One admin account as the page lists it."""

    user: User
    scope: str
    state: str
    last_sign_in: datetime | None


def account_state(user: User, has_identity: bool) -> str:
    """正常, 已停用 or 未设置密码 (no password and no linked provider account: cannot sign in yet)."""
    if user.is_disabled:
        return "已停用"
    if not user.password_hash and not has_identity:
        return "未设置密码"
    return "正常"


def last_sign_in(user: User) -> datetime | None:
    """When *user* last signed in (every sign-in, local or through a provider, opens a session row)."""
    return db.session.scalar(select(func.max(UserSession.created_dt)).where(UserSession.user_id == user.id))


def has_identity(user: User) -> bool:
    """Tell whether *user* has a linked provider account to sign in with."""
    return bool(db.session.scalar(select(exists().where(Identity.user_id == user.id))))


def accounts_in_scope(admin: User) -> list[AccountRow]:
    """List the admin accounts *admin* manages, highest level first, with state and last sign-in."""
    signed_in = select(func.max(UserSession.created_dt)).where(UserSession.user_id == User.id).scalar_subquery()
    linked = exists().where(Identity.user_id == User.id)
    rank = case({role: i for i, role in enumerate(ROLE_ORDER)}, value=User.role)
    query = (select(User, signed_in, linked).outerjoin(School, School.id == User.school_id)
             .where(account_scope(admin))
             .order_by(rank, User.region_code, School.code, User.login_name, User.id))
    return [AccountRow(user, scope_words(user), account_state(user, bool(has)), when)
            for user, when, has in db.session.execute(query)]


def region_choices(admin: User) -> list[tuple[str, str]]:
    """(code, words) of the regions *admin* may give a region admin: all of them, or those strictly below."""
    query = select(Region).where(region_scope(admin)).order_by(Region.code)
    return [(r.code, f"{region_path(r)}（{r.code}）") for r in db.session.scalars(query)
            if r.code != admin.region_code]


def school_choices(admin: User) -> list[tuple[str, str]]:
    """(code, words) of the schools *admin* may give a school admin."""
    query = select(School).where(school_scope(admin)).order_by(School.county_code, School.code)
    return [(s.code, f"{s.name}（{s.code}）") for s in db.session.scalars(query)]
