"""Real-name people, their sign-in identities, sessions and activation/reset codes."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import UTCDateTime, utcnow
from ..extensions import db
from ..orgs.models import Region, School

ROLES = ("student", "teacher", "school_admin", "region_admin", "platform_admin", "reviewer")
ROLE_NAMES = {
    "student": "学生",
    "teacher": "教师",
    "school_admin": "学校管理员",
    "region_admin": "区域管理员",
    "platform_admin": "平台管理员",
    "reviewer": "评审专家",
}
ADMIN_ROLES = ("school_admin", "region_admin", "platform_admin")


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    real_name: Mapped[str] = mapped_column(String(64))
    #: one of ROLES
    role: Mapped[str] = mapped_column(String(20))
    #: the school a student, teacher or school admin belongs to now
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    #: the region a region admin manages
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))
    #: 学籍号, national student registration number
    student_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: 教师编号 from the roster
    teacher_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    #: AES-GCM nonce + ciphertext of the 身份证号; the key lives outside the database
    id_card_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: keyed HMAC of the normalised 身份证号, for look-ups and uniqueness
    id_card_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: display form such as 110***********123X
    id_card_masked: Mapped[str | None] = mapped_column(String(18))
    grade: Mapped[str | None] = mapped_column(String(16))
    class_name: Mapped[str | None] = mapped_column(String(32))
    #: local sign-in name: a chosen user name, or the student/teacher number after activation
    login_name: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    #: when the person first appeared on a roster (or was created by an admin)
    rostered_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    school: Mapped[School | None] = relationship()
    region: Mapped[Region | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "role IN ('student', 'teacher', 'school_admin', 'region_admin', 'platform_admin', 'reviewer')",
            name="role",
        ),
    )

    @property
    def role_name(self) -> str:
        return ROLE_NAMES.get(self.role, self.role)

    @property
    def is_admin(self) -> bool:
        return self.role in ADMIN_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class Identity(db.Model):
    """A sign-in identity at an external identity provider, linked to one person."""

    __tablename__ = "identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: configured provider name, e.g. "hunan"
    provider: Mapped[str] = mapped_column(String(64))
    #: the provider's stable subject identifier ("sub" claim)
    subject: Mapped[str] = mapped_column(String(255))
    linked_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (UniqueConstraint("provider", "subject", name="uq_identities_provider_subject"),)

    def __repr__(self) -> str:
        return f"<Identity {self.provider} user={self.user_id}>"


class UserSession(db.Model):
    """A server-side login session; revoking the row ends the session everywhere."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the random token kept in the signed cookie
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<UserSession {self.id} user={self.user_id}>"


#: what a code does: activate a rostered person's space, or set a new password for a person who forgot it
CODE_KINDS = ("activation", "reset")
CODE_KIND_NAMES = {"activation": "激活码", "reset": "重置码"}


class CodeBatch(db.Model):
    """One generation of activation or reset codes (a class, or one person): its print page and XLSX show it."""

    __tablename__ = "code_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: one of CODE_KINDS
    kind: Mapped[str] = mapped_column(String(12))
    #: the school of the people (None for administrators who belong to no school)
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    grade: Mapped[str | None] = mapped_column(String(16))
    class_name: Mapped[str | None] = mapped_column(String(32))
    #: set when the batch was made for one person (a reset from the person's page)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the slips can be printed (and exported) again until then; afterwards the worker wipes the plaintext
    reprint_until_dt: Mapped[datetime] = mapped_column(UTCDateTime)

    school: Mapped[School | None] = relationship()
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    __table_args__ = (CheckConstraint("kind IN ('activation', 'reset')", name="kind"),)

    @property
    def kind_name(self) -> str:
        return CODE_KIND_NAMES[self.kind]

    def __repr__(self) -> str:
        return f"<CodeBatch {self.id} {self.kind}>"


class ActivationCode(db.Model):
    """A one-time code: activates a rostered person's space (kind activation) or resets a password (kind reset)."""

    __tablename__ = "activation_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: keyed hash of the code, what redemption looks up
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: one of CODE_KINDS
    kind: Mapped[str] = mapped_column(String(12), default="activation", server_default="activation")
    #: the generation this code came from (None for codes made before batches existed)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("code_batches.id", ondelete="CASCADE"), index=True)
    #: AES-GCM nonce + ciphertext of the code, kept only while the batch may be reprinted
    code_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    used_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: set when a newer code replaces this one before use
    revoked_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    batch: Mapped[CodeBatch | None] = relationship()

    def __repr__(self) -> str:
        return f"<ActivationCode {self.id} user={self.user_id}>"


class SchoolTransfer(db.Model):
    """History of a person moving from one school to another."""

    __tablename__ = "school_transfers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    from_school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"))
    to_school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"))
    moved_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self) -> str:
        return f"<SchoolTransfer user={self.user_id} {self.from_school_id}->{self.to_school_id}>"


class ThrottleEvent(db.Model):
    """One failed attempt counted against a rate-limit key, shared by all workers."""

    __tablename__ = "throttle_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of "<scope>:<account or IP>", so no login name or address is stored
    key_hash: Mapped[str] = mapped_column(String(64), index=True)
    #: SHA-256 of the account the attempt was for (None for per-address rows), so an admin can clear it
    account_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<ThrottleEvent {self.id}>"


class LoginPrincipal(UserMixin):
    """What Flask-Login holds: the user plus the server-side session behind it."""

    def __init__(self, user: User, token: str):
        self.user = user
        self.token = token

    def get_id(self) -> str:  # Flask-Login keeps this in the cookie: the session token, not the user id
        return self.token

    def __getattr__(self, name):
        return getattr(self.user, name)


class SchoolClaimReport(db.Model):
    """An identity provider said a person belongs to another school than the roster does.

    The person is not moved: their school admin sees the report and decides.
    """

    __tablename__ = "school_claim_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: the school the person is rostered at when the report was made
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id"), index=True)
    provider: Mapped[str] = mapped_column(String(64))
    #: the school code the provider asserted
    asserted_school_code: Mapped[str] = mapped_column(String(32))
    reported_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<SchoolClaimReport user={self.user_id} {self.asserted_school_code}>"


#: who may give consent for a minor (the relation recorded with the guardian's name)
GUARDIAN_RELATIONS = ("父亲", "母亲", "祖父母", "外祖父母", "其他监护人")


class GuardianConsent(db.Model):
    """A guardian's consent for a student under 14 to use the full space, recorded by a school admin.

    Rows are never deleted: withdrawing sets ``withdrawn_dt``, and a new consent is a new row,
    so the history of who agreed to which notice stays visible.
    """

    __tablename__ = "guardian_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    guardian_name: Mapped[str] = mapped_column(String(64))
    #: one of GUARDIAN_RELATIONS
    relation: Mapped[str] = mapped_column(String(16))
    #: version of the privacy notice the guardian read and agreed to (see accounts.consent.NOTICE_VERSION)
    notice_version: Mapped[str] = mapped_column(String(32))
    #: when the guardian gave consent (on paper or in person), as stated by the admin
    given_dt: Mapped[datetime] = mapped_column(UTCDateTime)
    #: the admin who entered it
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: set when the guardian withdrew consent; the row then no longer counts
    withdrawn_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    student: Mapped[User] = relationship(foreign_keys=[student_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    def __repr__(self) -> str:
        return f"<GuardianConsent {self.id} student={self.student_id}>"
