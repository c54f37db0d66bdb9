"""The queue's verbs: enqueue, claim, finish, fail with backoff, retry, and what the admin page lists.

Like every operations module these never commit: the caller's transaction (a
request, a command, or the worker's unit of work) does. Times come from the
application's clock (``utcnow``), so nodes sharing a PostgreSQL need NTP.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import String, case, cast, delete, func, literal, or_, select, update

from ..db import UTCDateTime, utcnow
from ..errors import Conflict, NotFound
from ..extensions import db
from ..transactions import conflict_insert
from .models import LIVE_STATES, Job, JobWorker
from .registry import HANDLERS

#: first retry after this many seconds, doubling each attempt, at most BACKOFF_CAP
BACKOFF_BASE = 15
BACKOFF_CAP = 3600
#: error text kept on the row (a traceback's last line, a handler's message)
ERROR_CHARS = 2000


@dataclass(frozen=True)
class JobState:
    """What callers see of a job (``state_of``): a snapshot, not a live row."""

    id: int
    kind: str
    payload: dict
    dedupe_key: str | None
    state: str
    attempts: int
    last_error: str | None
    run_after: datetime


@dataclass(frozen=True)
class Claimed:
    """A job a worker has taken: (id, worker, attempts) fences every later write, so a stale worker writes nothing."""

    id: int
    kind: str
    payload: dict
    attempts: int
    max_attempts: int
    worker: str
    lease_seconds: int


def backoff_seconds(attempts: int) -> int:
    """Return the wait before the next try after *attempts* failed tries: 15 s, 30 s, 60 s, … at most an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def enqueue(kind: str, payload: dict, *, run_after: datetime | None = None, dedupe_key: str | None = None) -> None:
    """Add a job to the caller's transaction (it exists once that commits); a live job with *dedupe_key* wins."""
    spec = HANDLERS.get(kind)
    if spec is None:
        raise KeyError(f"no handler for job kind {kind!r}")
    now = utcnow()
    values = {"kind": kind, "payload": dict(payload), "state": "queued", "attempts": 0,
              "max_attempts": spec.max_attempts, "run_after_dt": run_after or now, "dedupe_key": dedupe_key,
              "created_dt": now}
    stmt = conflict_insert(Job.__table__).values(**values)
    if dedupe_key is not None:
        # The partial unique index decides, so two transactions enqueueing the same key at once add one job.
        stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"],
                                           index_where=Job.__table__.c.state.in_(LIVE_STATES))
    db.session.execute(stmt)


def _snapshot(job: Job) -> JobState:
    return JobState(job.id, job.kind, dict(job.payload or {}), job.dedupe_key, job.state, job.attempts,
                    job.last_error, job.run_after_dt)


def state_of(dedupe_key: str) -> JobState | None:
    """Return the newest job with this dedupe key, or None."""
    job = db.session.scalars(select(Job).where(Job.dedupe_key == dedupe_key).order_by(Job.id.desc()).limit(1)).first()
    return _snapshot(job) if job is not None else None


def _take(worker: str, kinds: list[str], now: datetime, *conditions, order_by) -> Claimed | None:
    """Mark the first job matching *conditions* running for *worker*, in one UPDATE … RETURNING."""
    # PostgreSQL: FOR UPDATE SKIP LOCKED passes over a row another worker is claiming instead of waiting for
    # it. SQLite has no row locks (SQLAlchemy leaves the clause out); BEGIN IMMEDIATE (learnspace.db) makes
    # the whole statement single-writer instead.
    pick = (select(Job.id).where(Job.kind.in_(kinds), *conditions).order_by(order_by).limit(1)
            .with_for_update(skip_locked=True).scalar_subquery())
    lease_until = case({k: literal(now + timedelta(seconds=HANDLERS[k].lease_seconds), UTCDateTime) for k in kinds},
                       value=Job.kind)
    row = db.session.execute(
        update(Job).where(Job.id == pick)
        .values(state="running", attempts=Job.attempts + 1, locked_by=worker, locked_until_dt=lease_until,
                started_dt=now)
        .returning(Job.id, Job.kind, Job.payload, Job.attempts, Job.max_attempts)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return None
    return Claimed(row.id, row.kind, dict(row.payload or {}), row.attempts, row.max_attempts, worker,
                   HANDLERS[row.kind].lease_seconds)


def any_due(kinds) -> bool:
    """Tell whether a job of *kinds* is due (queued and due, or its lease ran out), by reading only.

    An idle worker asks this before claiming, so polling writes nothing.
    """
    kinds = sorted(kinds)
    if not kinds:
        return False
    now = utcnow()
    queued = select(Job.id).where(Job.state == "queued", Job.run_after_dt <= now, Job.kind.in_(kinds))
    expired = select(Job.id).where(Job.state == "running", Job.locked_until_dt < now, Job.kind.in_(kinds))
    return bool(db.session.scalar(select(or_(queued.exists(), expired.exists()))))


def claim(worker: str, kinds, *, expired_first: bool = True) -> Claimed | None:
    """Take the next due job of *kinds* for *worker*: a queued one, or one whose worker's lease ran out.

    *expired_first*: look for expired leases before queued jobs (a busy worker does this every few
    seconds, not for every job: leases rarely run out). The caller commits at once.
    """
    kinds = sorted(kinds)
    if not kinds:
        return None
    now = utcnow()

    def queued():
        return _take(worker, kinds, now, Job.state == "queued", Job.run_after_dt <= now, order_by=Job.run_after_dt)

    def expired():
        # A job whose worker died on every try (killed, out of memory) would only do it again: it fails.
        db.session.execute(update(Job).where(
            Job.state == "running", Job.locked_until_dt < now, Job.attempts >= Job.max_attempts,
            Job.kind.in_(kinds)).values(
            state="failed", locked_until_dt=None, finished_dt=now,
            last_error="工作进程在运行中中断（已尝试 " + cast(Job.attempts, String) + " 次），不再自动重试")
            .execution_options(synchronize_session=False))
        return _take(worker, kinds, now, Job.state == "running", Job.locked_until_dt < now,
                     order_by=Job.locked_until_dt)

    if expired_first:
        return expired() or queued()
    return queued()


def _fenced(claimed: Claimed):
    return update(Job).where(Job.id == claimed.id, Job.state == "running", Job.locked_by == claimed.worker,
                             Job.attempts == claimed.attempts)


def extend_lease(claimed: Claimed) -> bool:
    """Push the lease of a job this worker still holds *lease_seconds* ahead; False when it lost the job."""
    result = db.session.execute(_fenced(claimed).values(
        locked_until_dt=utcnow() + timedelta(seconds=claimed.lease_seconds)))
    return result.rowcount == 1


def finish(claimed: Claimed) -> bool:
    """Mark the job done in the handler's transaction; False (roll back!) when another worker has taken it over."""
    # locked_by stays: which worker ran it (the job page, the tests of several workers)
    result = db.session.execute(_fenced(claimed).values(
        state="done", locked_until_dt=None, finished_dt=utcnow(), last_error=None))
    return result.rowcount == 1


def fail(claimed: Claimed, error: str, *, permanent: bool = False) -> str | None:
    """Record a failed try: queued again after the backoff, or failed for good; return the new state (None if lost)."""
    now = utcnow()
    final = permanent or claimed.attempts >= claimed.max_attempts
    values = {"state": "failed" if final else "queued", "locked_until_dt": None, "last_error": error[:ERROR_CHARS]}
    if final:
        values["finished_dt"] = now
    else:
        values["run_after_dt"] = now + timedelta(seconds=backoff_seconds(claimed.attempts))
    result = db.session.execute(_fenced(claimed).values(**values))
    return values["state"] if result.rowcount == 1 else None


def retry(job_id: int) -> Job:
    """Queue a failed job again, now, with a fresh count of attempts."""
    job = db.session.get(Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound("没有找到这个任务")
    if job.state != "failed":
        raise Conflict("只有失败的任务可以重试")
    if job.dedupe_key and db.session.scalar(select(Job.id).where(
            Job.dedupe_key == job.dedupe_key, Job.state.in_(LIVE_STATES))):
        raise Conflict("同一对象已有一个排队中或运行中的任务，无需重试")
    job.state, job.attempts, job.run_after_dt, job.finished_dt = "queued", 0, utcnow(), None
    return job


def list_jobs(states=("queued", "running", "failed"), limit: int = 200) -> list[Job]:
    """Return jobs in *states*, newest first."""
    return list(db.session.scalars(select(Job).where(Job.state.in_(states)).order_by(Job.id.desc()).limit(limit)))


def counts() -> dict[str, int]:
    """Return how many jobs are in each state."""
    found = dict(db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    return {state: found.get(state, 0) for state in ("queued", "running", "done", "failed")}


def prune(older_than: timedelta) -> int:
    """Delete done jobs finished, and heartbeat rows of workers last seen, longer ago than *older_than*.

    Returns how many jobs. (A killed worker leaves its heartbeat row behind.)
    """
    cutoff = utcnow() - older_than
    db.session.execute(delete(JobWorker).where(JobWorker.seen_dt < cutoff))
    return db.session.execute(delete(Job).where(Job.state == "done", Job.finished_dt < cutoff)).rowcount


def beat(worker: str) -> None:
    """Record that *worker* is alive now."""
    now = utcnow()
    stmt = conflict_insert(JobWorker.__table__).values(name=worker, started_dt=now, seen_dt=now)
    db.session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"seen_dt": now}))


def forget_worker(worker: str) -> None:
    """Remove a worker's heartbeat row (it stops)."""
    db.session.execute(delete(JobWorker).where(JobWorker.name == worker))


def workers_seen(within: timedelta) -> list[JobWorker]:
    """Return the workers that beat within *within*, the most recent first."""
    return list(db.session.scalars(select(JobWorker).where(JobWorker.seen_dt >= utcnow() - within)
                                   .order_by(JobWorker.seen_dt.desc())))
