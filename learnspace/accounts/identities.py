"""Binding identity-provider sign-ins to rostered people."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..audit import operations as audit
from ..db import utcnow
from ..errors import PermissionDenied
from ..extensions import db
from .models import Identity, SchoolClaimReport, User

log = logging.getLogger(__name__)

NOT_ON_ROSTER = ("未在学校名册中找到与您身份信息一致的学生或教师，因此无法开通个人空间。"
                 "请联系您所在学校的管理员（通常是信息中心或教务处老师），确认名册中您的学籍号或教师编号是否正确。")


class NotOnRoster(PermissionDenied):
    """The provider's person matches nobody on a school roster."""


def _find_rostered(student_number: str, teacher_number: str) -> User | None:
    if teacher_number:
        person = db.session.scalar(select(User).where(User.teacher_number == teacher_number,
                                                      User.role == "teacher"))
        if person is not None:
            return person
    if student_number:
        return db.session.scalar(select(User).where(User.student_number == student_number,
                                                    User.role == "student"))
    return None


def _report_school_claim(person: User, provider: str, school_code: str) -> None:
    open_report = db.session.scalar(select(SchoolClaimReport.id).where(
        SchoolClaimReport.user_id == person.id, SchoolClaimReport.provider == provider,
        SchoolClaimReport.asserted_school_code == school_code, SchoolClaimReport.resolved_dt.is_(None)))
    if open_report is None:
        db.session.add(SchoolClaimReport(user_id=person.id, school_id=person.school_id, provider=provider,
                                         asserted_school_code=school_code[:32]))
        audit.record("identity.school_mismatch", target=f"user:{person.id}",
                     detail=f"provider={provider} asserted school:{school_code[:12]}")


ROLE_WORDS = {"teacher": "teacher", "教师": "teacher", "老师": "teacher", "student": "student", "学生": "student"}


def _refuse_first_link(provider: str, subject: str, reason: str) -> None:
    audit.record("auth.oidc", result="failure", detail=f"provider={provider} sub={subject[:60]} {reason}", keep=True)
    raise NotOnRoster(NOT_ON_ROSTER)


def bind_identity(provider: str, subject: str, *, student_number: str = "", teacher_number: str = "",
                  school_code: str = "", real_name: str = "", role: str = "") -> User:
    """Return the rostered person behind (provider, subject), linking them on first sign-in.

    The first link needs the roster's number to match, and the name and role
    too when the provider sends them, so a mistyped number never binds a
    stranger's space.
    """
    identity = db.session.scalar(select(Identity).where(Identity.provider == provider,
                                                        Identity.subject == subject))
    if identity is None:
        person = _find_rostered(student_number, teacher_number)
        if person is None:
            _refuse_first_link(provider, subject, "not on roster")
        if real_name and real_name != person.real_name:
            _refuse_first_link(provider, subject, f"name differs from roster of user:{person.id}")
        if role and ROLE_WORDS.get(role.lower()) not in (None, person.role):
            _refuse_first_link(provider, subject, f"role differs from roster of user:{person.id}")
        identity = Identity(provider=provider, subject=subject, user_id=person.id)
        try:
            with db.session.begin_nested():
                db.session.add(identity)
        except IntegrityError:
            # The same person signed in twice at the same moment; the other request linked first.
            identity = db.session.scalar(select(Identity).where(Identity.provider == provider,
                                                                Identity.subject == subject))
        else:
            audit.record("identity.link", target=f"user:{person.id}", detail=f"provider={provider} sub={subject[:60]}",
                         actor_id=person.id)
    person = identity.user
    if person.is_disabled:
        audit.record("auth.oidc", result="denied", target=f"user:{person.id}",
                     detail=f"provider={provider} sub={subject[:60]} account disabled", keep=True)
        raise PermissionDenied("该账号已停用，请联系学校管理员")
    if school_code and person.school is not None and person.school.code != school_code:
        _report_school_claim(person, provider, school_code)
    identity.last_login_dt = utcnow()
    audit.record("auth.oidc", target=f"user:{person.id}", detail=f"provider={provider} sub={subject[:60]}",
                 actor_id=person.id)
    return person


def identities_of(person: User) -> list[Identity]:
    """List a person's linked provider identities."""
    return list(db.session.scalars(select(Identity).where(Identity.user_id == person.id).order_by(Identity.id)))


def unlink_identity(identity: Identity) -> None:
    """Remove a link between a provider identity and a person."""
    audit.record("identity.unlink", target=f"user:{identity.user_id}",
                 detail=f"provider={identity.provider} sub={identity.subject[:60]}")
    db.session.delete(identity)


def open_school_claim_reports(school_id: int) -> list[SchoolClaimReport]:
    """List unresolved reports about people of one school."""
    return list(db.session.scalars(select(SchoolClaimReport).where(
        SchoolClaimReport.school_id == school_id, SchoolClaimReport.resolved_dt.is_(None))
        .order_by(SchoolClaimReport.reported_dt)))


def resolve_school_claim_report(report: SchoolClaimReport) -> None:
    """Mark a report as handled."""
    report.resolved_dt = utcnow()
    audit.record("identity.school_mismatch_resolved", target=f"user:{report.user_id}")
