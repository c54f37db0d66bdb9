"""``GET /metrics`` for Prometheus: request latency and responses by route, upload bytes, and the queues' state.

Counted as the app works (learnspace/meters.py): request latency by route endpoint,
responses by status class, upload bytes. Read from the database at scrape time, with
bounded queries (learnspace/jobs and the search outbox, both indexed; 2 s statement
timeout on PostgreSQL): jobs by kind and state, retrying jobs, the wait of the
oldest due job, live workers, the search outbox's backlog and age.

Only loopback, ``LEARNSPACE_METRICS_NETWORKS`` or a request carrying
``Authorization: Bearer $LEARNSPACE_METRICS_TOKEN`` may read it: the figures tell
an outsider when the platform is busy and which pages are slow.
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from datetime import timedelta

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import case, func, select, text

from . import logs, meters
from .db import utcnow
from .extensions import db
from .jobs import HANDLERS
from .jobs import operations as jobs
from .jobs.models import Job
from .metrics_dir import ENV as MULTIPROC_ENV
from .search import writer
from .search.models import SearchOutbox

bp = Blueprint("metrics", __name__)
log = logging.getLogger(__name__)

#: the states counted (done jobs are many and say nothing about trouble; the worker prunes them)
COUNTED_STATES = ("queued", "running", "failed")
#: a worker counts as alive when its heartbeat (every 10 s) is this recent, as on the admin job page
WORKER_ALIVE = timedelta(seconds=60)
REFUSED = ("拒绝访问：/metrics 只对本机、LEARNSPACE_METRICS_NETWORKS 中的网络，"
           "或带有 Authorization: Bearer <LEARNSPACE_METRICS_TOKEN> 的请求开放。\n")


def _client_allowed() -> bool:
    settings = current_app.config["LEARNSPACE"]
    token = settings.metrics_token
    sent = request.headers.get("Authorization", "")
    if token and sent.startswith("Bearer ") and hmac.compare_digest(sent[7:].encode(), token.encode()):
        return True
    if "X-Forwarded-For" in request.headers and not settings.trusted_proxies:
        # Relayed by a proxy the app does not see through: the loopback peer is the proxy, not the client.
        return False
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return address.is_loopback or any(address in network for network in settings.metrics_networks)


class DatabaseCollector:
    """Gauges read from the database when Prometheus scrapes."""

    def collect(self):
        """Yield the job queue's and the search outbox's gauges (a source that fails reports up=0)."""
        up = GaugeMetricFamily("learnspace_metrics_source_up", "1 when the source's figures could be read.",
                               labels=["source"])
        for source, read in (("jobs", self._jobs), ("search_outbox", self._outbox)):
            try:
                if db.engine.dialect.name == "postgresql":
                    db.session.execute(text("SET LOCAL statement_timeout = 2000"))  # a slow scrape must not pile up
                families = list(read())
            except Exception as exc:  # any database error: report the source down, keep the rest
                db.session.rollback()
                log.warning("metrics: reading %s failed: %s", source, type(exc).__name__)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        db.session.rollback()
        yield up

    def _jobs(self):
        now = utcnow()
        rows = db.session.execute(
            select(Job.kind, Job.state, func.count(), func.sum(case((Job.attempts > 0, 1), else_=0)),
                   func.min(case((Job.run_after_dt <= now, Job.run_after_dt))))
            .where(Job.state.in_(COUNTED_STATES)).group_by(Job.kind, Job.state)
        ).all()
        found = {(kind, state): (count, retried, oldest) for kind, state, count, retried, oldest in rows}
        kinds = sorted(set(HANDLERS) | {kind for kind, _ in found})
        depth = GaugeMetricFamily("learnspace_jobs", "Jobs by kind and state (queued, running, failed).",
                                  labels=["kind", "state"])
        retrying = GaugeMetricFamily("learnspace_jobs_retrying",
                                     "Queued jobs whose earlier attempts failed (waiting for their retry).",
                                     labels=["kind"])
        waiting = GaugeMetricFamily("learnspace_jobs_oldest_due_seconds",
                                    "How long the oldest due queued job has waited (0: none due).", labels=["kind"])
        for kind in kinds:
            for state in COUNTED_STATES:
                depth.add_metric([kind, state], found.get((kind, state), (0,))[0])
            _, retried, oldest = found.get((kind, "queued"), (0, 0, None))
            retrying.add_metric([kind], retried or 0)
            waiting.add_metric([kind], max((now - oldest).total_seconds(), 0.0) if oldest else 0.0)
        workers = GaugeMetricFamily("learnspace_job_workers", "Workers whose heartbeat is under a minute old.",
                                    value=len(jobs.workers_seen(WORKER_ALIVE)))
        return depth, retrying, waiting, workers

    def _outbox(self):
        # The oldest row first (primary key order): how far behind the indexer is, in seconds.
        oldest = db.session.scalar(select(SearchOutbox.created_dt).order_by(SearchOutbox.id).limit(1))
        age = max((utcnow() - oldest).total_seconds(), 0.0) if oldest else 0.0
        pending = writer.pending()  # ends the read transaction; keep it last
        return (
            GaugeMetricFamily("learnspace_search_outbox_pending", "Search changes the indexer has not applied.",
                              value=pending),
            GaugeMetricFamily("learnspace_search_outbox_oldest_seconds",
                              "Age of the oldest change waiting for the indexer (0: none).", value=age),
        )


class _Sources:
    """What one scrape reads: the process's (or all gunicorn workers') counters, then the database."""

    def __init__(self, *sources):
        self.sources = sources

    def collect(self):
        for source in self.sources:
            yield from source.collect()


def _counters():
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # adds up every worker's files, live and exited
        return registry
    return REGISTRY


@bp.get("/metrics")
def metrics():
    if not _client_allowed():
        return Response(REFUSED, status=403, mimetype="text/plain")
    encode, content_type = choose_encoder(request.headers.get("Accept", ""))  # text format, or OpenMetrics if asked
    try:
        body = encode(_Sources(_counters(), DatabaseCollector()))
    except FileNotFoundError:  # an exited worker's file was folded into the archive while being read: read again
        body = encode(_Sources(_counters(), DatabaseCollector()))
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})


def _count_request(response):
    seconds = logs.request_seconds()
    if seconds is not None:
        meters.observe_request(logs.route_name(), request.method, response.status_code, seconds)
    return response


def init_app(app: Flask) -> None:
    """Serve /metrics and count every request's latency and status."""
    app.register_blueprint(bp)
    app.after_request(_count_request)
