"""Background jobs: slow work runs in ``learnspace worker``, never inside a web request.

THE CONTRACT other packages code against (kept stable while the package grows):

    from ..jobs import handler, enqueue, Permanent, state_of, run_due

    @handler("lessons.verify_upload", max_attempts=5, lease_seconds=300)
    def verify_upload_job(payload: dict) -> None:
        ...   # runs in an app context; must be idempotent (it may run again after a crash);
              # the worker commits db.session after it returns, rolls back if it raises.
              # raise Permanent("中文原因") to fail at once without retrying;
              # any other exception is retried with exponential backoff until max_attempts.

    enqueue("lessons.verify_upload", {"file_id": 42}, dedupe_key="upload:42")
        # adds the job to db.session: it exists only once the caller commits.
        # With dedupe_key, a queued/running job with the same key is not added twice.

    state_of("upload:42") -> JobState | None   # newest job with that key: .state in
        # queued/running/done/failed, .attempts, .last_error, .run_after

    run_due(limit=None) -> int   # run the jobs due now in this process, until none is left
        # (tests and `learnspace worker --once`); returns how many ran.

STAND-IN: this first version keeps jobs in memory and runs them only through
run_due(). It is replaced by the durable, database-backed queue (issue 13);
the names and meanings above stay.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db

log = logging.getLogger(__name__)


class Permanent(Exception):
    """Raised by a handler: the job fails now, with this (Chinese) message, and is not retried."""


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Callable[[dict], None]
    max_attempts: int
    lease_seconds: int


@dataclass
class JobState:
    kind: str
    payload: dict
    dedupe_key: str | None
    state: str = "queued"
    attempts: int = 0
    last_error: str | None = None
    run_after: datetime | None = None
    extra: dict = field(default_factory=dict)


HANDLERS: dict[str, Handler] = {}
_QUEUE: list[JobState] = []
_PENDING = "learnspace.jobs.pending"


def handler(kind: str, *, max_attempts: int = 5, lease_seconds: int = 300):
    """Register the function that runs jobs of *kind*."""
    def register(fn):
        HANDLERS[kind] = Handler(kind, fn, max_attempts, lease_seconds)
        return fn
    return register


def enqueue(kind: str, payload: dict, *, run_after: datetime | None = None, dedupe_key: str | None = None) -> None:
    """Add a job to the caller's transaction (it runs once that commits)."""
    if kind not in HANDLERS:
        raise KeyError(f"no handler for job kind {kind!r}")
    db.session.info.setdefault(_PENDING, []).append(JobState(kind, dict(payload), dedupe_key, run_after=run_after))


@event.listens_for(Session, "after_commit")
def _queue_committed(session) -> None:
    for job in session.info.pop(_PENDING, []):
        if job.dedupe_key and any(j.dedupe_key == job.dedupe_key and j.state in ("queued", "running")
                                  for j in _QUEUE):
            continue
        _QUEUE.append(job)


@event.listens_for(Session, "after_soft_rollback")
def _forget(session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def state_of(dedupe_key: str) -> JobState | None:
    """Return the newest job with this dedupe key, or None."""
    for job in reversed(_QUEUE):
        if job.dedupe_key == dedupe_key:
            return job
    return None


def run_due(limit: int | None = None) -> int:
    """Run queued jobs in this process until none is left (or *limit* ran)."""
    ran = 0
    while limit is None or ran < limit:
        job = next((j for j in _QUEUE if j.state == "queued"), None)
        if job is None:
            return ran
        job.state, job.attempts = "running", job.attempts + 1
        try:
            HANDLERS[job.kind].run(job.payload)
            db.session.commit()
            job.state = "done"
        except Permanent as exc:
            db.session.rollback()
            job.state, job.last_error = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - the stand-in retries at once, up to max_attempts
            db.session.rollback()
            log.exception("job %s failed", job.kind)
            job.last_error = f"{type(exc).__name__}: {exc}"
            job.state = "queued" if job.attempts < HANDLERS[job.kind].max_attempts else "failed"
        ran += 1
    return ran
