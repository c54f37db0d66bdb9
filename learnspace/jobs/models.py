"""The jobs table (the durable queue) and the workers' heartbeat rows."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from ..db import UTCDateTime, utcnow
from ..extensions import db

#: the states a job goes through; "running" with an expired lease counts as due again
STATES = ("queued", "running", "done", "failed")
#: a queued or running job holds its dedupe key (the partial unique index below)
LIVE_STATES = ("queued", "running")
_LIVE = text("state IN ('queued', 'running')")


class Job(db.Model):
    """One piece of slow work: a handler kind and its JSON payload."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the registered handler, e.g. "lessons.verify_upload"
    kind: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict] = mapped_column(JSON)
    #: queued, running, done or failed
    state: Mapped[str] = mapped_column(String(10), default="queued")
    #: times a worker has started it (a run cut short by a dead worker counts)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    #: not run before this time (the backoff after a failure)
    run_after_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: at most one queued or running job per key (say "upload:42"); state_of() looks jobs up by it
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    #: the worker running it (or that ran it last), and until when its lease lasts (the worker's heartbeat extends it)
    locked_by: Mapped[str | None] = mapped_column(String(120))
    locked_until_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the last failure, shown on the admin job page (a handler's Permanent message, or the exception)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_dt: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_jobs_due", "state", "run_after_dt"),
        Index("ix_jobs_lease", "state", "locked_until_dt"),
        Index("ix_jobs_dedupe_key", "dedupe_key"),  # state_of() reads finished jobs too (pages show their state)
        Index("uq_jobs_live_dedupe_key", "dedupe_key", unique=True, sqlite_where=_LIVE, postgresql_where=_LIVE),
    )

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"


class JobWorker(db.Model):
    """A running ``learnspace worker``: its heartbeat tells the admin page whether jobs are being run."""

    __tablename__ = "job_workers"

    #: host:pid:random, unique per worker process
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    seen_dt: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<JobWorker {self.name}>"
