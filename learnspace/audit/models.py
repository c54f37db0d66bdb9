"""The append-only audit log."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: user id of who acted; no foreign key so the log outlives deleted accounts
    actor_id: Mapped[int | None] = mapped_column(index=True)
    ip: Mapped[str | None] = mapped_column(String(45))
    #: dotted verb such as auth.login, roster.import, idcard.reveal
    action: Mapped[str] = mapped_column(String(64), index=True)
    #: what was acted on, as "kind:id" (never a name or an ID-card number)
    target: Mapped[str | None] = mapped_column(String(128))
    #: success, failure or denied
    result: Mapped[str] = mapped_column(String(16))
    #: short non-personal detail such as a failure reason or counts
    detail: Mapped[str | None] = mapped_column(String(500))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.action} {self.result}>"
