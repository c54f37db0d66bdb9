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

Also: ``periodic(name, every_seconds=)`` registers a function every worker calls
that often (the search outbox drain is one). On SQLite every open transaction holds
the database's write lock (BEGIN IMMEDIATE, learnspace.db), so a handler that does
slow I/O (reading a multi-GB object back) should read what it needs, end that
transaction (``db.session.rollback()``), do the slow part, then write.

The queue is the ``jobs`` table (models.py), claimed with ``SELECT … FOR UPDATE
SKIP LOCKED`` on PostgreSQL and under SQLite's single writer (operations.claim);
the loop, leases and heartbeats are in worker.py, ``learnspace worker`` in cli.py.

Why our own few hundred lines and not a library: the candidates either need a broker
(Celery, RQ, Dramatiq, Huey: Redis or RabbitMQ; Huey's SQLite store is SQLite
only) or are PostgreSQL only (procrastinate, pgqueuer, PGMQ); the embedded
default must run on SQLite with nothing else installed, and production on
PostgreSQL, with the same code and tests.
"""
from __future__ import annotations

from .operations import JobState, enqueue, state_of
from .registry import HANDLERS, Handler, Permanent, handler, periodic
from .worker import run_due

__all__ = ["HANDLERS", "Handler", "JobState", "Permanent", "enqueue", "handler", "periodic", "run_due", "state_of"]
