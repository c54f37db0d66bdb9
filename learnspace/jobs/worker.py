"""The worker loop: claim a due job, run its handler in an app context, commit its work and "done" together.

While a handler runs, a heartbeat thread pushes the job's lease ahead (every third
of ``lease_seconds``), so a verification that reads a multi-GB object for minutes is
not taken by another worker; if the worker dies, the lease runs out and another
worker takes the job again. Every write about a claimed job is fenced by
(id, worker, attempt): a worker that lost its job (its lease ran out and someone
else took it) finds nothing to mark done and rolls its handler's work back, so a
job's work is committed once. Other threads record the worker's own heartbeat
(``job_workers``, for the admin page) and run the periodic tasks (the search drain),
so a long job does not hold them up. ``stop`` (SIGTERM in ``learnspace worker``)
is looked at between jobs: the job running then finishes first.
"""
from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from datetime import timedelta

from flask import current_app, has_app_context

from .. import logs
from ..extensions import db
from . import operations
from .registry import HANDLERS, PERIODIC, Permanent, periodic

log = logging.getLogger(__name__)

#: a busy worker looks for jobs whose lease ran out this often (an idle one at every poll)
EXPIRY_CHECK_SECONDS = 5.0
#: done jobs are kept this long (the admin page and state_of() read them), then pruned
KEEP_DONE = timedelta(days=14)


def default_name() -> str:
    """Return a name unique to this worker process: host:pid:random."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker:
    """Runs jobs for one app; ``run(stop)`` works in a thread as well as in ``learnspace worker``."""

    def __init__(self, app, name: str | None = None, *, poll_seconds: float = 1.0,
                 beat_seconds: float | None = 10.0, periodic_tasks: bool = True, in_caller_context: bool = False):
        """*beat_seconds* None: no heartbeat row (test threads, whose writes would spoil fixture snapshots).

        *in_caller_context*: run jobs in the app context (and session) active when called, as run_due() does;
        otherwise each job and periodic task gets a fresh app context, so no session state leaks between jobs.
        """
        self.app = app
        self.name = name or default_name()
        self.poll_seconds = poll_seconds
        self.beat_seconds = beat_seconds
        self.periodic_tasks = periodic_tasks
        self.in_caller_context = in_caller_context
        self._next_periodic: dict[str, float] = {}
        self._next_expiry_check = 0.0
        #: the last claim found nothing: look (reading only) before claiming again
        self._idle = True

    @contextlib.contextmanager
    def _unit(self):
        """The app context a unit of work runs in: the caller's (run_due in a test), else a fresh one."""
        if self.in_caller_context and has_app_context() and current_app._get_current_object() is self.app:
            yield
            return
        with self.app.app_context():
            try:
                yield
            finally:
                db.session.remove()

    def run(self, stop: threading.Event) -> None:
        """Run jobs and periodic tasks until *stop* is set (the job running then finishes first)."""
        log.info("worker %s started (%s job kinds)", self.name, len(HANDLERS))
        helpers = []
        if self.beat_seconds is not None:
            helpers.append(threading.Thread(target=self._beat_until, args=(stop,), daemon=True,
                                            name=f"job-worker-beat-{self.name}"))
        if self.periodic_tasks:
            # Beside the jobs, not between them: a verification running for minutes must not hold up the
            # search drain (the web process no longer indexes after requests when a worker runs).
            helpers.append(threading.Thread(target=self._periodic_until, args=(stop,), daemon=True,
                                            name=f"job-worker-periodic-{self.name}"))
        for thread in helpers:
            thread.start()
        try:
            while not stop.is_set():
                try:
                    if not self.run_one():
                        stop.wait(self.poll_seconds)
                except Exception:  # the database went away: say so, wait, try again
                    log.exception("worker %s: claiming failed; retrying", self.name)
                    stop.wait(self.poll_seconds * 5)
        finally:
            stop.set()  # also when leaving on an exception (SystemExit in a handler): the helper threads end too
            for thread in helpers:
                thread.join()
            if self.beat_seconds is not None:
                self._forget()
            log.info("worker %s stopped", self.name)

    def _periodic_until(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.run_periodic()
            due = min(self._next_periodic.values(), default=time.monotonic() + 1.0)
            stop.wait(min(max(due - time.monotonic(), 0.05), 1.0))

    def run_due(self, limit: int | None = None) -> int:
        """Run due jobs until none is left (or *limit* ran); return how many ran."""
        ran = 0
        while (limit is None or ran < limit) and self.run_one():
            ran += 1
        return ran

    def run_one(self) -> bool:
        """Claim and run one due job; return False when none was due."""
        with self._unit():
            try:
                if self._idle and not operations.any_due(HANDLERS):
                    db.session.rollback()
                    return False
                # Expired leases are looked for every few seconds, and whenever no queued job is due.
                expired_first = time.monotonic() >= self._next_expiry_check
                claimed = operations.claim(self.name, HANDLERS, expired_first=expired_first)
                if claimed is None and not expired_first:
                    claimed = operations.claim(self.name, HANDLERS, expired_first=True)
                    expired_first = True
                if expired_first:
                    self._next_expiry_check = time.monotonic() + EXPIRY_CHECK_SECONDS
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            self._idle = claimed is None
            if claimed is None:
                return False
            self._execute(claimed)
            return True

    def _execute(self, claimed: operations.Claimed) -> None:
        spec = HANDLERS[claimed.kind]
        done = threading.Event()
        lease = threading.Thread(target=self._keep_lease, args=(claimed, done), daemon=True,
                                 name=f"job-lease-{claimed.id}")
        lease.start()
        started = time.monotonic()
        job_context = logs.push_context(job_id=claimed.id, job_kind=claimed.kind)  # JSON lines name their job
        try:
            try:
                spec.run(claimed.payload)
                if operations.finish(claimed):
                    db.session.commit()
                    took = time.monotonic() - started
                    log.log(logging.INFO if took >= 1 else logging.DEBUG, "job %s %s done in %.1f s (attempt %s)",
                            claimed.id, claimed.kind, took, claimed.attempts)
                else:
                    db.session.rollback()
                    log.warning("job %s %s: another worker took it over (lease ran out); its work is rolled back",
                                claimed.id, claimed.kind)
            except Permanent as exc:
                db.session.rollback()
                self._failed(claimed, str(exc), permanent=True)
            except Exception as exc:  # noqa: BLE001 - any failure of a handler is retried with backoff
                db.session.rollback()
                log.exception("job %s %s failed (attempt %s of %s)", claimed.id, claimed.kind, claimed.attempts,
                              claimed.max_attempts)
                self._failed(claimed, f"{type(exc).__name__}: {exc}")
        finally:
            logs.pop_context(job_context)
            done.set()
            lease.join()

    def _failed(self, claimed: operations.Claimed, error: str, *, permanent: bool = False) -> None:
        try:
            state = operations.fail(claimed, error, permanent=permanent)
            db.session.commit()
        except Exception:  # the lease runs out and the job is tried again
            db.session.rollback()
            log.exception("job %s: could not record its failure", claimed.id)
            return
        log.info("job %s %s: %s", claimed.id, claimed.kind, state or "lost to another worker")

    def _keep_lease(self, claimed: operations.Claimed, done: threading.Event) -> None:
        """Extend the lease every third of its length until the job is over (its own app context and session)."""
        interval = max(claimed.lease_seconds / 3, 0.2)
        while not done.wait(interval):
            with self.app.app_context():
                try:
                    held = operations.extend_lease(claimed)
                    db.session.commit()
                except Exception:  # SQLite busy, a database hiccup: the next beat tries again
                    db.session.rollback()
                    log.warning("job %s: could not extend its lease; retrying", claimed.id, exc_info=True)
                    continue
                finally:
                    db.session.remove()
            if not held:
                return  # finished meanwhile, or lost to another worker: nothing to keep

    def _beat_until(self, stop: threading.Event) -> None:
        while True:
            self._in_own_session(lambda: operations.beat(self.name), "heartbeat failed")
            if stop.wait(self.beat_seconds):
                return

    def _forget(self) -> None:
        self._in_own_session(lambda: operations.forget_worker(self.name), "could not remove its heartbeat row")

    def _in_own_session(self, write, failure: str) -> None:
        """Run and commit one small write in a fresh app context; a failure is logged, not raised."""
        with self.app.app_context():
            try:
                write()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.warning("worker %s: %s", self.name, failure, exc_info=True)
            finally:
                db.session.remove()

    def run_periodic(self, force: bool = False) -> None:
        """Call the periodic tasks that are due (all of them with *force*), each in its own unit of work."""
        now = time.monotonic()
        for task in list(PERIODIC.values()):
            if not force and now < self._next_periodic.get(task.name, 0.0):
                continue
            self._next_periodic[task.name] = now + task.every_seconds
            with self._unit():
                try:
                    task.run()
                    db.session.commit()
                except Exception:
                    db.session.rollback()
                    log.exception("periodic task %s failed; it runs again in %s s", task.name, task.every_seconds)


def run_due(limit: int | None = None) -> int:
    """Run the jobs due now in this process, in the current app context, until none is left; return how many ran."""
    return Worker(current_app._get_current_object(), name=f"{default_name()}:run_due",
                  periodic_tasks=False, beat_seconds=None, in_caller_context=True).run_due(limit)


@periodic("jobs.prune", every_seconds=3600)
def _prune_done_jobs() -> None:
    removed = operations.prune(KEEP_DONE)
    if removed:
        log.info("jobs: pruned %s done jobs older than %s days", removed, KEEP_DONE.days)
