"""The one personal learning space of each person."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..db import UTCDateTime, utcnow
from ..extensions import db

ACTIVATION_METHODS = ("code", "oidc", "admin", "demo")


class Space(db.Model):
    __tablename__ = "spaces"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: unique: one person, one space, for life
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: when the space was activated (开通)
    activated_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: the school the person belonged to at activation; statistics count the activation there
    activated_school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id"), index=True)
    #: how it was activated: code, oidc, admin or demo
    activation_method: Mapped[str] = mapped_column(String(10))
    title: Mapped[str | None] = mapped_column(String(100))
    #: storage quota in bytes; None means the configured default (LEARNSPACE_SPACE_QUOTA_BYTES)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)

    owner: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Space {self.id} owner={self.owner_id}>"
