"""gunicorn settings for LearnSpace: ``gunicorn -c python:learnspace.serving.gunicorn_conf learnspace.wsgi:app``.

Plain module-level settings, read by gunicorn's master before it forks. Importing it loads no part of the app.
Environment overrides: LEARNSPACE_BIND, LEARNSPACE_WEB_WORKERS, LEARNSPACE_WEB_THREADS, LEARNSPACE_WEB_TIMEOUT.
"""
from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # what this process may use (containers, taskset)
    except AttributeError:
        return os.cpu_count() or 1


# Files the master and workers write (logs, secrets on first start, search index) are for this user only.
os.umask(0o077)

bind = os.environ.get("LEARNSPACE_BIND", "127.0.0.1:8000")

# Threads overlap waits on PostgreSQL and MinIO; processes give CPU-bound work (search ranking, Jinja) more
# than one core under the GIL. cores + 1 processes of 4 threads each: measured with scripts/bench/load.py at 50
# users on 2 cores (PostgreSQL and MinIO on the same machine), 2 × cores + 1 processes had a p95 of 163 ms on the
# space page and 118 ms on a lesson page, cores + 1 had 96 and 74 ms at the same throughput: more processes than
# cores only take turns on them. Measure again before changing it on a machine of another shape.
worker_class = "learnspace.serving.workers.ThreadWorker"  # gthread without its stop-time resets
workers = _int("LEARNSPACE_WEB_WORKERS", _cores() + 1)
threads = _int("LEARNSPACE_WEB_THREADS", 4)

# No request carries a large body through the app: upload parts go from the browser straight to MinIO on
# presigned URLs (storage/part_urls.py), so /api/uploads/* only exchange small JSON. The largest body is a
# roster file (LEARNSPACE_MAX_ROSTER_BYTES, 64 MiB by default), parsed in a few seconds. With gthread the
# timeout is the worker's heartbeat, not a per-request limit: a long proxied video stream keeps a thread
# busy but does not get its worker killed; a worker stuck this long (a C call holding the GIL) is restarted.
timeout = _int("LEARNSPACE_WEB_TIMEOUT", 60)
# On HUP or TERM, requests in flight get this long to finish before their worker is stopped.
graceful_timeout = 30
keepalive = 5

# preload_app stays False: each worker imports and builds the app itself. Preloading would share the
# import's memory copy-on-write, but create_app starts the search warm-up thread and opens database and
# MinIO pools that must not cross a fork, and `kill -HUP <master>` would not pick up new code.
preload_app = False
# No periodic recycling (max_requests): every worker restart is a graceful stop, and gthread's still has a
# small window for a reset connection (a connection accepted but not yet read when the loop ends).
max_requests = 0

# Request line and headers: gunicorn's defaults made explicit. A search URL with 400 Chinese characters
# still fits in the line; bodies are limited by the app (MAX_CONTENT_LENGTH, see config.py).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# X-Forwarded-* are honoured by the app's ProxyFix only when LEARNSPACE_TRUSTED_PROXIES says so; gunicorn
# must not trust them on its own (by default it believes X-Forwarded-Proto from 127.0.0.1).
forwarded_allow_ips = ""

# Access log without query strings (%(U)s is the path only: search boxes hold pupils' names), without
# client address, referrer or user agent: method, path, status, bytes, milliseconds.
# With LEARNSPACE_LOG_FORMAT=json the app writes one JSON line per request itself (learnspace/logs.py): no
# second, plain-text line from gunicorn.
accesslog = None if os.environ.get("LEARNSPACE_LOG_FORMAT") == "json" else os.environ.get("LEARNSPACE_ACCESS_LOG", "-")
access_log_format = '"%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
loglevel = "info"
proc_name = "learnspace"

# /metrics under several worker processes: prometheus_client decides at import whether to keep its counters in
# files, so the directory ($VAR_DIR/metrics) is set here, before any worker imports the app; the master empties it
# once per start and folds each exited worker's counters into one archive (learnspace/metrics_dir.py).
from learnspace import metrics_dir  # noqa: E402  (after the settings above: umask first)

metrics_dir.use_dir()
on_starting = metrics_dir.on_starting
child_exit = metrics_dir.child_exit
