"""Verbs of the accounts domain: people, passwords, sessions, transfers (activation and reset codes: codes.py)."""
from __future__ import annotations

import hashlib
import logging
import re
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..audit import operations as audit
from ..db import utcnow
from ..errors import NotFound, PermissionDenied, RateLimited, ValidationError
from ..extensions import db
from ..orgs.models import School
from . import idcard, passwords, throttle
from .models import ROLES, SchoolTransfer, User, UserSession
from .passwords import check_password_strength, set_password  # noqa: F401  (public entry points; policy in passwords.py)
from .scope import require_person

log = logging.getLogger(__name__)

LOGIN_NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{3,64}$")


def settings():
    return current_app.config["LEARNSPACE"]


# --- people ----------------------------------------------------------------

def get_user(user_id: int) -> User:
    """Load a person or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("找不到该用户")
    return user


def create_admin(login_name: str, real_name: str, password: str | None, role: str = "platform_admin",
                 school: School | None = None, region_code: str | None = None) -> User:
    """Create an administrator (or demo account); without a password it cannot sign in until one is set."""
    if role not in ROLES:
        raise ValidationError(f"角色“{role}”无效")
    if not LOGIN_NAME_RE.match(login_name or ""):
        raise ValidationError("用户名应为 3–64 位字母、数字或 _.@-")
    if db.session.scalar(select(User.id).where(or_(User.login_name == login_name, User.student_number == login_name,
                                                   User.teacher_number == login_name))):
        raise ValidationError(f"用户名“{login_name}”已被使用")
    if role == "school_admin" and school is None:
        raise ValidationError("学校管理员必须指定学校")
    if role == "region_admin" and not region_code:
        raise ValidationError("区域管理员必须指定行政区划")
    user = User(login_name=login_name, real_name=real_name.strip(), role=role,
                school_id=school.id if school else None, region_code=region_code)
    if password is not None:
        set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def set_id_card(user: User, raw: str | None) -> None:
    """Validate, encrypt and store an ID-card number (None or empty clears it)."""
    if not raw or not raw.strip():
        user.id_card_encrypted = user.id_card_hash = user.id_card_masked = None
        return
    number = idcard.validate(raw)
    digest = idcard.lookup_hash(number)
    if user.id_card_hash == digest:
        return
    user.id_card_hash = digest
    user.id_card_encrypted = idcard.encrypt(number)
    user.id_card_masked = idcard.mask(number)


def reveal_id_card(user: User) -> str | None:
    """Return the full ID-card number and audit that it was seen."""
    if not user.id_card_encrypted:
        return None
    audit.record("idcard.reveal", target=f"user:{user.id}")
    return idcard.decrypt(user.id_card_encrypted)


def disable_user(user: User, by: User | None = None) -> None:
    """Disable an account and end all of its sessions; never one's own, never the last platform admin."""
    if by is not None and by.id == user.id:
        raise PermissionDenied("不能停用自己的账号；如需停用，请联系其他管理员")
    if user.role == "platform_admin" and not user.is_disabled and not db.session.scalar(
            select(User.id).where(User.role == "platform_admin", User.is_disabled.is_(False),
                                  User.id != user.id).limit(1)):
        raise ValidationError("这是最后一个可用的平台管理员账号，不能停用；请先设立另一位平台管理员")
    user.is_disabled = True
    revoke_sessions(user)
    audit.record("user.disable", target=f"user:{user.id}")


def enable_user(user: User) -> None:
    """Re-enable a disabled account; its old sessions stay ended, so the person signs in again."""
    if not user.is_disabled:
        raise ValidationError("该账号未停用，无需重新启用")
    user.is_disabled = False
    audit.record("user.enable", target=f"user:{user.id}")


def transfer_school(user: User, new_school: School) -> SchoolTransfer:
    """Move a person to another school; the space stays theirs and the move is kept."""
    if user.role not in ("student", "teacher"):
        raise ValidationError("只有学生和教师可以转学或调动")
    if user.school_id == new_school.id:
        raise ValidationError("该用户已在这所学校")
    move = SchoolTransfer(user_id=user.id, from_school_id=user.school_id, to_school_id=new_school.id,
                          actor_id=audit.current_actor_id())
    user.school_id = new_school.id
    db.session.add(move)
    audit.record("user.transfer", target=f"user:{user.id}", detail=f"to school:{new_school.code}")
    db.session.flush()
    return move


# --- local sign-in -----------------------------------------------------------

def authenticate(login_name: str, password: str, ip: str) -> User:
    """Check a local password; failures delay further tries per account+IP, per account and per IP."""
    login_name = (login_name or "").strip()
    wait = throttle.login_wait(login_name, ip) if throttle.hold_account(login_name) else 1
    if wait:
        audit.record("auth.login", result="denied", detail=f"throttled {wait}s", keep=True)
        raise RateLimited(throttle.wait_message(wait))
    user = db.session.scalar(select(User).where(User.login_name == login_name)) if login_name else None
    if not passwords.password_matches(user, password or ""):
        throttle.login_failed(login_name, ip)
        audit.record("auth.login", result="failure", target=f"user:{user.id}" if user else None,
                     detail="wrong password" if user else "unknown account", keep=True)
        raise ValidationError("账号或密码不正确")
    if user.is_disabled:
        audit.record("auth.login", result="denied", target=f"user:{user.id}", detail="account disabled", keep=True)
        raise PermissionDenied("该账号已停用，请联系学校管理员")
    throttle.login_succeeded(login_name, ip)
    passwords.rehash_if_needed(user, password)
    audit.record("auth.login", target=f"user:{user.id}", actor_id=user.id)
    return user


def lockout_failures(user: User) -> int:
    """How many failed sign-ins are still counted against the person (0: nothing to clear)."""
    return throttle.account_failures(user.login_name or "")


def clear_lockout(user: User, by: User | None = None) -> int:
    """Forget the person's failed sign-ins from every address, so they can sign in at once; audited."""
    if by is not None:
        require_person(by, user)
    removed = throttle.clear_account(user.login_name) if user.login_name else 0
    audit.record("user.unlock", target=f"user:{user.id}", detail=f"{removed} failure records cleared")
    return removed


# --- server-side sessions ----------------------------------------------------

def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> tuple[str, UserSession]:
    """Open a new server-side session; returns its secret token (for the cookie) and row."""
    token = secrets.token_urlsafe(32)
    row = UserSession(token_hash=_token_hash(token), user_id=user.id)
    db.session.add(row)
    db.session.flush()
    return token, row


def load_session(token: str) -> UserSession | None:
    """Return the live session for *token*, expiring it when idle or too old."""
    row = db.session.scalar(select(UserSession).where(UserSession.token_hash == _token_hash(token)))
    if row is None or row.revoked_dt is not None or row.user.is_disabled:
        return None
    s, now = settings(), utcnow()
    if (now - row.last_seen_dt > timedelta(minutes=s.session_idle_minutes)
            or now - row.created_dt > timedelta(hours=s.session_absolute_hours)):
        row.revoked_dt = now
        return None
    if now - row.last_seen_dt > timedelta(minutes=1):  # avoid a write on every request
        row.last_seen_dt = now
    return row


def end_session(token: str) -> None:
    """Revoke one session (sign-out)."""
    db.session.execute(update(UserSession).where(UserSession.token_hash == _token_hash(token),
                                                 UserSession.revoked_dt.is_(None))
                       .values(revoked_dt=utcnow()))


def revoke_sessions(user: User) -> None:
    """Revoke every open session of a person."""
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.revoked_dt.is_(None))
                       .values(revoked_dt=utcnow()))


def password_confirms(user: User, password: str) -> bool:
    """Tell whether *password* is the person's current one (a re-confirmation, e.g. before deleting data)."""
    return bool(password) and passwords.password_matches(user, password)
