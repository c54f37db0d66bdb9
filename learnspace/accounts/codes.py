"""Activation and reset codes, generated in batches: issue, reprint, void, redeem.

A batch is one generation (a class, or one person). Its print page and its XLSX both read the
same codes: each code is kept AES-GCM-encrypted (key derived from the data key) for a short
window (``LEARNSPACE_CODE_REPRINT_HOURS``), after which the worker wipes the plaintext and only
the keyed hash used for redemption stays. Generating again for people who hold live codes voids
those codes, so callers first ask ``live_codes`` and let the admin confirm.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update

from ..audit import operations as audit
from ..db import utcnow
from ..errors import RateLimited, ValidationError
from ..extensions import db
from ..jobs import periodic
from ..orgs.models import School
from . import throttle
from .models import CODE_KINDS, ActivationCode, CodeBatch, User
from .operations import revoke_sessions, set_password, settings

log = logging.getLogger(__name__)

#: no 0/O, 1/I/L: codes are read off paper by children
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10
#: what a wrong, used, voided or expired reset code is told (one message: it reveals nothing)
RESET_REFUSED = "账号、姓名或重置码不正确，或重置码已使用、已作废、已过期。请核对后重试，或请学校管理员重新发放重置码。"


# --- the code itself -------------------------------------------------------------

def normalize_code(raw: str) -> str:
    """Upper-case a typed code and drop spaces and dashes."""
    return re.sub(r"[\s\-]", "", (raw or "")).upper()


def format_code(code: str) -> str:
    """Group a code for printing: ABCD-EFGH-JK."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _code_hash(code: str) -> str:
    # Same derivation as before batches existed, so codes already handed out keep working.
    key = hmac.new(settings().data_key, b"learnspace activation codes", hashlib.sha256).digest()
    return hmac.new(key, code.encode(), hashlib.sha256).hexdigest()


def _slip_key() -> bytes:
    return hmac.new(settings().data_key, b"learnspace code slips", hashlib.sha256).digest()


def _encrypt(code: str, batch_id: int) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_slip_key()).encrypt(nonce, code.encode(), f"batch:{batch_id}".encode())


def _decrypt(blob: bytes, batch_id: int) -> str:
    return AESGCM(_slip_key()).decrypt(blob[:12], blob[12:], f"batch:{batch_id}".encode()).decode()


# --- batches ---------------------------------------------------------------------

def _live(now):
    return (ActivationCode.used_dt.is_(None), ActivationCode.revoked_dt.is_(None), ActivationCode.expires_dt > now)


def live_codes(people: list[User], kind: str) -> list[ActivationCode]:
    """The unused, unvoided, unexpired codes of *kind* the people hold (what generating again would void)."""
    ids = [p.id for p in people]
    if not ids:
        return []
    return list(db.session.scalars(select(ActivationCode).where(
        ActivationCode.user_id.in_(ids), ActivationCode.kind == kind, *_live(utcnow()))
        .order_by(ActivationCode.id)))


def fingerprint(codes: list[ActivationCode]) -> str:
    """A short digest of which codes a confirmation page listed, so a confirmed POST voids exactly those."""
    return hashlib.sha256(",".join(str(c.id) for c in sorted(codes, key=lambda c: c.id)).encode()).hexdigest()[:32]


def issue_batch(kind: str, people: list[User], *, school: School | None, grade: str | None = None,
                class_name: str | None = None, person: User | None = None, replace: bool = False) -> CodeBatch:
    """Make one batch with a fresh code per person; with *replace*, void their live codes of that kind first."""
    if kind not in CODE_KINDS:
        raise ValidationError(f"无效的类型“{kind}”")
    if not people:
        raise ValidationError("没有需要发放的人员")
    live = live_codes(people, kind)
    if live and not replace:
        raise ValidationError(f"其中 {len(live)} 人已有未使用的{'激活码' if kind == 'activation' else '重置码'}；"
                              "重新生成会使其作废，请先确认")
    now = utcnow()
    s = settings()
    target = f"user:{person.id}" if person is not None else f"school:{school.code}" if school else None
    if live:
        db.session.execute(update(ActivationCode).where(ActivationCode.id.in_([c.id for c in live]))
                           .values(revoked_dt=now, code_encrypted=None))
        audit.record("codes.void", target=target,
                     detail=f"{kind} {len(live)} codes of batches {sorted({c.batch_id or 0 for c in live})}")
    days = s.activation_code_days if kind == "activation" else s.reset_code_days
    batch = CodeBatch(kind=kind, school_id=school.id if school else None, grade=grade or None,
                      class_name=class_name or None, user_id=person.id if person else None,
                      created_by_id=audit.current_actor_id(), created_dt=now, expires_dt=now + timedelta(days=days),
                      reprint_until_dt=now + timedelta(hours=s.code_reprint_hours))
    db.session.add(batch)
    db.session.flush()
    for user in people:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        db.session.add(ActivationCode(user_id=user.id, kind=kind, batch_id=batch.id, code_hash=_code_hash(code),
                                      code_encrypted=_encrypt(code, batch.id), expires_dt=batch.expires_dt,
                                      created_by_id=batch.created_by_id, created_dt=now))
    db.session.flush()
    audit.record("codes.issue", target=target, detail=f"{kind} batch:{batch.id} {len(people)} codes")
    return batch


def get_batch(batch_id: int) -> CodeBatch | None:
    """Load a batch (None if there is none)."""
    return db.session.get(CodeBatch, batch_id)


def reprintable(batch: CodeBatch) -> bool:
    """Tell whether the batch's slips can still be printed or exported."""
    return utcnow() < batch.reprint_until_dt


def batch_slips(batch: CodeBatch) -> list[tuple[User, str]]:
    """The people and (formatted) codes of the batch that can still be used, in print order; [] once wiped."""
    if not reprintable(batch):
        return []
    rows = db.session.execute(
        select(ActivationCode, User).join(User, User.id == ActivationCode.user_id)
        .where(ActivationCode.batch_id == batch.id, ActivationCode.code_encrypted.is_not(None), *_live(utcnow()))
        .order_by(User.role.desc(), User.id)).all()
    return [(user, format_code(_decrypt(code.code_encrypted, batch.id))) for code, user in rows]


@dataclass
class BatchCounts:
    """How a batch's codes stand: issued, then each used, voided, or expired unused (the rest are live)."""

    issued: int = 0
    used: int = 0
    void: int = 0
    expired: int = 0

    @property
    def live(self) -> int:
        return self.issued - self.used - self.void - self.expired


def batch_counts(batch_ids: list[int]) -> dict[int, BatchCounts]:
    """Count each batch's codes: issued, used, voided and expired unused."""
    counts = {i: BatchCounts() for i in batch_ids}
    if not batch_ids:
        return counts
    now = utcnow()
    # A few batches of at most a few hundred codes: counting in Python keeps the SQL the same on both databases.
    rows = db.session.execute(select(ActivationCode.batch_id, ActivationCode.used_dt, ActivationCode.revoked_dt,
                                     ActivationCode.expires_dt).where(ActivationCode.batch_id.in_(batch_ids)))
    for batch_id, used, void, expires in rows:
        c = counts[batch_id]
        c.issued += 1
        if used is not None:
            c.used += 1
        elif void is not None:
            c.void += 1
        elif expires <= now:
            c.expired += 1
    return counts


def recent_batches(school: School, limit: int = 10) -> list[CodeBatch]:
    """The school's newest batches, newest first."""
    return list(db.session.scalars(select(CodeBatch).where(CodeBatch.school_id == school.id)
                                   .order_by(CodeBatch.id.desc()).limit(limit)))


def batches_of_person(person: User, limit: int = 5) -> list[CodeBatch]:
    """The newest one-person batches made for *person*."""
    return list(db.session.scalars(select(CodeBatch).where(CodeBatch.user_id == person.id)
                                   .order_by(CodeBatch.id.desc()).limit(limit)))


def wipe_plaintext() -> int:
    """Forget the plaintext of codes whose batch may no longer be reprinted (and of used or voided codes)."""
    over = select(CodeBatch.id).where(CodeBatch.reprint_until_dt <= utcnow())
    result = db.session.execute(update(ActivationCode).where(
        ActivationCode.code_encrypted.is_not(None), ActivationCode.batch_id.in_(over)).values(code_encrypted=None))
    return result.rowcount or 0


@periodic("codes.wipe_plaintext", every_seconds=600)
def _wipe_plaintext() -> None:
    wiped = wipe_plaintext()
    if wiped:
        log.info("codes: wiped the plaintext of %s codes past their reprint window", wiped)


# --- redeeming -------------------------------------------------------------------

def _throttled(row: ActivationCode | None, ip: str, action: str) -> str | None:
    """Refuse while this address (or the code's person) must wait; returns the throttle target."""
    target = row and f"user:{row.user_id}"
    if wait := throttle.code_wait(ip, target):
        audit.record(action, result="denied", detail=f"throttled {wait}s", keep=True)
        raise RateLimited(throttle.wait_message(wait))
    return target


def _find(raw_code: str, kind: str) -> ActivationCode | None:
    code = normalize_code(raw_code)
    if len(code) != CODE_LENGTH:
        return None
    # Locked: of two requests racing with one code, the second waits and then sees it used.
    return db.session.scalar(select(ActivationCode).where(ActivationCode.code_hash == _code_hash(code),
                                                          ActivationCode.kind == kind).with_for_update())


def _refusal(row: ActivationCode | None, now) -> str:
    return ("unknown code" if row is None else "used" if row.used_dt else "revoked" if row.revoked_dt
            else "expired" if row.expires_dt <= now else "person mismatch")


def _usable(row: ActivationCode | None, now) -> bool:
    return (row is not None and row.used_dt is None and row.revoked_dt is None and row.expires_dt > now
            and not row.user.is_disabled)


def _give_login_name(user: User) -> None:
    if user.login_name:
        return
    wanted = user.teacher_number or user.student_number
    if db.session.scalar(select(User.id).where(User.login_name == wanted, User.id != user.id)):
        raise ValidationError(f"账号“{wanted}”已被其他用户占用，请联系学校管理员处理")
    user.login_name = wanted


def redeem_activation_code(real_name: str, raw_code: str, password: str, ip: str) -> User:
    """Check name and activation code, set the password and mark the code used; returns the person."""
    row = _find(raw_code, "activation")
    target = _throttled(row, ip, "activation.redeem")
    now = utcnow()
    if not (_usable(row, now) and row.user.real_name == (real_name or "").strip()):
        throttle.code_failed(ip, target)
        audit.record("activation.redeem", result="failure", target=row and f"user:{row.user_id}",
                     detail=_refusal(row, now), keep=True)
        raise ValidationError("姓名或激活码不正确，或激活码已使用、已过期。请核对后重试，或请老师重新打印激活码。")
    user = row.user
    _give_login_name(user)
    set_password(user, password)  # a refused password raises before the code is marked used
    row.used_dt = now
    row.code_encrypted = None
    audit.record("activation.redeem", target=f"user:{user.id}", actor_id=user.id)
    return user


def _number_matches(user: User, typed: str) -> bool:
    typed = (typed or "").strip()
    if not typed:
        return False
    known = [v for v in (user.student_number, user.teacher_number, user.login_name) if v]
    return any(hmac.compare_digest(v.upper(), typed.upper()) for v in known)


def redeem_reset_code(number: str, real_name: str, raw_code: str, password: str, ip: str) -> User:
    """Check number, name and reset code, set the new password, end every session; returns the person."""
    row = _find(raw_code, "reset")
    target = _throttled(row, ip, "password.reset")
    now = utcnow()
    if not (_usable(row, now) and row.user.real_name == (real_name or "").strip()
            and _number_matches(row.user, number)):
        throttle.code_failed(ip, target)
        audit.record("password.reset", result="failure", target=row and f"user:{row.user_id}",
                     detail=_refusal(row, now), keep=True)
        raise ValidationError(RESET_REFUSED)
    user = row.user
    _give_login_name(user)
    set_password(user, password)  # a refused password raises before the code is marked used
    row.used_dt = now
    row.code_encrypted = None
    revoke_sessions(user)
    # The forgotten password may have locked the account: the new one must work at once.
    throttle.clear_account(user.login_name)
    audit.record("password.reset", target=f"user:{user.id}", actor_id=user.id)
    return user
