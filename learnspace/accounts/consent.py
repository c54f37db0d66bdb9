"""Guardian consent for students under 14: age from the ID card, consent recorded by school admins.

A student under 14 (or whose birth date is unknown: no ID card on the roster) needs a
guardian's consent to the current privacy notice before the space leaves restricted mode
(see learnspace.spaces.permissions for what restricted means). Consent counts only for
the notice version in force: publishing a new notice means asking the guardians again.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timezone

from sqlalchemy import select

from ..audit import operations as audit
from ..china_time import CHINA, today
from ..db import utcnow
from ..errors import Conflict, ValidationError
from ..extensions import db
from . import idcard
from .models import GUARDIAN_RELATIONS, GuardianConsent, User

#: students younger than this need a guardian's consent
CONSENT_AGE = 14
#: the privacy notice guardians are shown; consent to an older version no longer counts
NOTICE_VERSION = "2026-11"


def birth_date_of(user: User) -> date | None:
    """Return the birth date from the person's ID card, or None when no (readable) number is on file."""
    if not user.id_card_encrypted:
        return None
    try:
        return idcard.birth_date(idcard.decrypt(user.id_card_encrypted))
    except Exception:  # a number under a rotated key or a damaged blob: treat as unknown, never crash a page
        return None


def age_of(user: User, on: date | None = None) -> int | None:
    """Return the person's age in whole years on *on* (default today in China), or None when unknown."""
    born = birth_date_of(user)
    if born is None:
        return None
    on = on or today()
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def needs_consent(user: User, on: date | None = None) -> bool:
    """Tell whether *user* is a student under 14, or a student whose age is unknown."""
    if user.role != "student":
        return False
    age = age_of(user, on)
    return age is None or age < CONSENT_AGE


def current_consent(user: User) -> GuardianConsent | None:
    """Return the consent that counts now: the newest one, not withdrawn, for the current notice."""
    return db.session.scalar(
        select(GuardianConsent)
        .where(GuardianConsent.student_id == user.id, GuardianConsent.withdrawn_dt.is_(None),
               GuardianConsent.notice_version == NOTICE_VERSION)
        .order_by(GuardianConsent.recorded_dt.desc(), GuardianConsent.id.desc()).limit(1))


def is_restricted(user: User | None) -> bool:
    """Tell whether *user*'s space is in restricted mode: a student needing consent who has none."""
    return user is not None and needs_consent(user) and current_consent(user) is None


def consent_history(user: User) -> list[GuardianConsent]:
    """Return every consent recorded for *user*, newest first."""
    return list(db.session.scalars(select(GuardianConsent).where(GuardianConsent.student_id == user.id)
                                   .order_by(GuardianConsent.recorded_dt.desc(), GuardianConsent.id.desc())))


@dataclass
class ConsentState:
    """What a school admin sees for one student on the consent page (no birth date, only the age band)."""

    student: User
    #: "under14", "over14" or "unknown"
    age_band: str
    consent: GuardianConsent | None

    @property
    def restricted(self) -> bool:
        return self.age_band != "over14" and self.consent is None


def consent_states(students: list[User]) -> list[ConsentState]:
    """Return the age band and current consent of each student, in the given order."""
    on = today()
    ids = [s.id for s in students]
    current: dict[int, GuardianConsent] = {}
    if ids:
        rows = db.session.scalars(
            select(GuardianConsent).where(GuardianConsent.student_id.in_(ids), GuardianConsent.withdrawn_dt.is_(None),
                                          GuardianConsent.notice_version == NOTICE_VERSION)
            .order_by(GuardianConsent.recorded_dt, GuardianConsent.id))
        for row in rows:
            current[row.student_id] = row  # the newest wins
    states = []
    for student in students:
        age = age_of(student, on)
        band = "unknown" if age is None else ("under14" if age < CONSENT_AGE else "over14")
        states.append(ConsentState(student, band, current.get(student.id)))
    return states


def record_consent(student: User, admin: User, guardian_name: str, relation: str, given_on: date,
                   notice_version: str = NOTICE_VERSION) -> GuardianConsent:
    """Record a guardian's consent for *student*, entered by *admin*."""
    if student.role != "student":
        raise ValidationError("只有学生需要记录监护人同意")
    if not needs_consent(student):
        raise ValidationError(f"{student.real_name}已满 {CONSENT_AGE} 周岁，不需要监护人同意")
    name = " ".join((guardian_name or "").split())
    if not name:
        raise ValidationError("请填写监护人姓名")
    if len(name) > 64:
        raise ValidationError("监护人姓名不能超过 64 个字")
    if relation not in GUARDIAN_RELATIONS:
        raise ValidationError("请选择监护人与学生的关系：" + "、".join(GUARDIAN_RELATIONS))
    if notice_version != NOTICE_VERSION:
        raise ValidationError(f"只能记录对现行告知书（{NOTICE_VERSION} 版）的同意")
    if given_on is None:
        raise ValidationError("请填写监护人签署同意的日期")
    if given_on > today():
        raise ValidationError("同意日期不能晚于今天")
    if current_consent(student) is not None:
        raise Conflict(f"{student.real_name}已有有效的监护人同意，如需更换请先撤回")
    # The signing day as noon in China, stored in UTC: the exact hour is not known, the day is.
    given_dt = datetime.combine(given_on, time(12, 0), CHINA).astimezone(timezone.utc)
    consent = GuardianConsent(student_id=student.id, guardian_name=name, relation=relation,
                              notice_version=notice_version, given_dt=given_dt, recorded_by_id=admin.id,
                              recorded_dt=utcnow())
    db.session.add(consent)
    db.session.flush()
    audit.record("consent.record", target=f"user:{student.id}", detail=f"notice {notice_version}")
    return consent


def withdraw_consent(student: User, admin: User) -> GuardianConsent:
    """Mark the student's current consent as withdrawn; the space returns to restricted mode."""
    consent = current_consent(student)
    if consent is None:
        raise Conflict(f"{student.real_name}目前没有有效的监护人同意，无需撤回")
    consent.withdrawn_dt = utcnow()
    consent.withdrawn_by_id = admin.id
    db.session.flush()
    audit.record("consent.withdraw", target=f"user:{student.id}")
    return consent
