"""A person's requests to download or delete their personal data (PIPL arts. 45 and 47)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

KINDS = {"export": "下载个人数据", "delete": "注销并删除个人数据"}
#: pending (delete: in its cooling-off) → running → done; or cancelled / failed
STATES = {"pending": "等待处理", "running": "处理中", "done": "已完成", "cancelled": "已撤销", "failed": "失败",
          "expired": "已过期"}
#: who asked: the person themself, or a school admin for them (a guardian of a pupil under 14)
VIA = {"self": "本人", "admin": "学校管理员代为办理"}


class PrivacyRequest(db.Model):
    """One request; a finished deletion keeps this row without any link to the person (subject_id is NULL)."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: a key of KINDS
    kind: Mapped[str] = mapped_column(String(10))
    #: whose data; NULL once the person is deleted
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: who asked (the person, or the admin acting for a guardian); NULL once that person is deleted
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: a key of VIA
    via: Mapped[str] = mapped_column(String(10))
    #: a key of STATES
    state: Mapped[str] = mapped_column(String(10), default="pending")
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: deletion: not executed before this time (the cooling-off); export: when the job may start
    run_after_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: export: MinIO key of the zip (privacy/exports/<id>/<random>.zip) while it can be downloaded
    object_key: Mapped[str | None] = mapped_column(String(200))
    size: Mapped[int | None] = mapped_column(BigInteger)
    #: export: the zip is removed by the worker at this time
    expires_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: non-personal counts of what was exported or deleted, or a failure reason in Chinese
    detail: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint("kind IN ('export', 'delete')", name="kind"),
        CheckConstraint("via IN ('self', 'admin')", name="via"),
        CheckConstraint("state IN ('pending', 'running', 'done', 'cancelled', 'failed', 'expired')", name="state"),
    )

    #: not a column: operations.requests_of sets it when the request's job failed for good
    job_failed = False

    @property
    def kind_name(self) -> str:
        return KINDS.get(self.kind, self.kind)

    @property
    def state_name(self) -> str:
        return STATES.get(self.state, self.state)

    def __repr__(self) -> str:
        return f"<PrivacyRequest {self.id} {self.kind} {self.state}>"
