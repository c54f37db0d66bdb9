"""``GET /metrics``: who may read it, what it counts (by route, never by path), the queues' gauges, gunicorn workers."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.fixtures.helpers import free_port
from tests.fixtures.serving import gunicorn_serving

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "t" * 40


def samples(body: str) -> dict:
    """Return {(name, sorted label pairs): value} of an exposition text."""
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body) for s in family.samples}


def scrape(app, **kwargs) -> dict:
    response = app.test_client().get("/metrics", **kwargs)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"].startswith("text/plain; version=")  # Prometheus's text format
    return samples(response.get_data(as_text=True))


def requests_counted(route: str, status_class: str) -> float:
    return REGISTRY.get_sample_value("learnspace_http_responses_total",
                                     {"route": route, "status_class": status_class}) or 0.0


# --- who may read it ------------------------------------------------------------------------------------------

def test_loopback_reads_metrics_and_another_address_is_refused(app):
    """Prometheus on the same machine scrapes; a visitor from the internet gets 403 with the way in, in Chinese."""
    assert app.test_client().get("/metrics").status_code == 200
    refused = app.test_client().get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.7"})
    assert refused.status_code == 403
    assert "LEARNSPACE_METRICS_TOKEN" in refused.get_data(as_text=True) and "拒绝访问" in refused.get_data(as_text=True)
    assert b"learnspace_" not in refused.data


def test_a_request_relayed_by_an_untrusted_proxy_is_not_loopback(app):
    """Behind nginx without LEARNSPACE_TRUSTED_PROXIES the peer is nginx on 127.0.0.1: not enough."""
    relayed = app.test_client().get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})
    assert relayed.status_code == 403


def test_metrics_networks_let_prometheus_in_and_no_other_network(make_app):
    """LEARNSPACE_METRICS_NETWORKS admits the monitoring network only (also behind a trusted proxy)."""
    app = make_app(env={"LEARNSPACE_METRICS_NETWORKS": "10.8.0.0/16", "LEARNSPACE_TRUSTED_PROXIES": "1"})
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.8.3.4"}).status_code == 200
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.9.3.4"}).status_code == 403
    via_nginx = client.get("/metrics", headers={"X-Forwarded-For": "10.8.3.4"})
    assert via_nginx.status_code == 200
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 403


def test_bearer_token_lets_a_remote_scraper_in_and_a_wrong_one_is_refused(make_app):
    app = make_app(env={"LEARNSPACE_METRICS_TOKEN": TOKEN})
    remote = {"REMOTE_ADDR": "198.51.100.20"}
    client = app.test_client()
    ok = client.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {TOKEN}"})
    assert ok.status_code == 200 and b"learnspace_jobs" in ok.data
    assert client.get("/metrics", environ_base=remote, headers={"Authorization": f"Bearer {TOKEN[:-1]}x"}
                      ).status_code == 403
    assert client.get("/metrics", environ_base=remote).status_code == 403


def test_a_short_metrics_token_is_refused_at_start(make_app):
    from learnspace.config import ConfigError

    with pytest.raises(ConfigError, match="LEARNSPACE_METRICS_TOKEN"):
        make_app(env={"LEARNSPACE_METRICS_TOKEN": "secret"})


# --- what it counts -------------------------------------------------------------------------------------------

def test_requests_are_counted_by_route_endpoint_never_by_path(app):
    """Two lesson pages with different ids are one series (lessons.show); unknown URLs are 'unmatched'."""
    before_show = requests_counted("lessons.show", "4xx")
    before_unmatched = requests_counted("unmatched", "4xx")
    client = app.test_client()
    client.get("/lessons/987654?q=张三")
    client.get("/lessons/987655")
    client.get("/no/such/page/4242")
    assert requests_counted("lessons.show", "4xx") == before_show + 2
    assert requests_counted("unmatched", "4xx") == before_unmatched + 1
    body = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'learnspace_http_request_duration_seconds_bucket{le="0.1",method="GET",route="lessons.show"}' in body
    assert "987654" not in body and "4242" not in body and "张三" not in body


def test_job_gauges_show_depth_retries_and_the_oldest_due_wait(app):
    """Queued, retrying, running and failed jobs appear by kind; every registered kind has a series."""
    from learnspace.db import utcnow
    from learnspace.extensions import db
    from learnspace.jobs import HANDLERS
    from learnspace.jobs.models import Job

    kind = "lessons.verify_upload"
    now = utcnow()
    with app.app_context():
        db.session.add_all([
            Job(kind=kind, payload={}, state="queued", run_after_dt=now - timedelta(seconds=300)),
            Job(kind=kind, payload={}, state="queued", attempts=2, run_after_dt=now + timedelta(minutes=5)),
            Job(kind=kind, payload={}, state="failed", attempts=5),
            Job(kind="metrics.unregistered", payload={}, state="running", attempts=1,
                locked_until_dt=now + timedelta(minutes=1)),
        ])
        db.session.commit()
    got = scrape(app)
    assert got[("learnspace_jobs", (("kind", kind), ("state", "queued")))] == 2
    assert got[("learnspace_jobs", (("kind", kind), ("state", "failed")))] == 1
    assert got[("learnspace_jobs", (("kind", kind), ("state", "running")))] == 0
    assert got[("learnspace_jobs", (("kind", "metrics.unregistered"), ("state", "running")))] == 1
    assert got[("learnspace_jobs_retrying", (("kind", kind),))] == 1
    assert 300 <= got[("learnspace_jobs_oldest_due_seconds", (("kind", kind),))] < 400
    for other in set(HANDLERS) - {kind}:
        assert got[("learnspace_jobs", (("kind", other), ("state", "queued")))] == 0
    assert got[("learnspace_metrics_source_up", (("source", "jobs"),))] == 1
    assert ("learnspace_job_workers", ()) in got


def test_outbox_gauges_show_the_backlog_and_its_age(app):
    """Changes the indexer has not applied: how many, and how old the oldest is."""
    from learnspace.db import utcnow
    from learnspace.extensions import db
    from learnspace.search.models import SearchOutbox

    assert scrape(app)[("learnspace_search_outbox_pending", ())] == 0
    with app.app_context():
        db.session.add_all([SearchOutbox(doc_type="lesson", doc_id=n, created_dt=utcnow() - timedelta(seconds=90 - n))
                            for n in range(3)])
        db.session.commit()
    got = scrape(app)
    assert got[("learnspace_search_outbox_pending", ())] == 3
    assert 90 <= got[("learnspace_search_outbox_oldest_seconds", ())] < 150
    assert got[("learnspace_metrics_source_up", (("source", "search_outbox"),))] == 1


def test_database_down_still_answers_with_the_sources_marked_down(make_app):
    """PostgreSQL unreachable: the request counters are served and the queue gauges say they could not be read."""
    app = make_app(env={"LEARNSPACE_DATABASE_URL": f"postgresql+psycopg://nobody:x@127.0.0.1:{free_port()}/none"})
    got = scrape(app)
    assert got[("learnspace_metrics_source_up", (("source", "jobs"),))] == 0
    assert got[("learnspace_metrics_source_up", (("source", "search_outbox"),))] == 0
    assert ("learnspace_jobs", (("kind", "lessons.verify_upload"), ("state", "queued"))) not in got


# --- several processes ----------------------------------------------------------------------------------------

COUNT_IN_A_PROCESS = """
import os, sys
from learnspace import meters
meters.upload_completed("recording", int(sys.argv[1]))
meters.observe_request("lessons.show", "GET", 200, 0.02)
print(os.getpid())
"""


def test_the_multiprocess_collector_adds_up_two_processes_counters(tmp_path, monkeypatch):
    """Two processes count into PROMETHEUS_MULTIPROC_DIR; a scrape sees their sum, also once they exited and were
    folded into the archive; a new start empties the directory."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from learnspace import metrics_dir

    folder = tmp_path / "metrics"
    env = {**os.environ, "PYTHONPATH": str(ROOT), metrics_dir.ENV: str(folder)}
    folder.mkdir()
    pids = [int(subprocess.run([sys.executable, "-c", COUNT_IN_A_PROCESS, str(size)], env=env, check=True,
                               timeout=60, capture_output=True, text=True).stdout) for size in (1000, 234)]
    assert sorted(p.name for p in folder.glob("counter_*.db")) == sorted(f"counter_{pid}.db" for pid in pids)

    def scraped() -> dict:
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(folder))
        got = samples(generate_latest(registry).decode())
        return {key: got[key] for key in (
            ("learnspace_upload_bytes_total", (("kind", "recording"),)),
            ("learnspace_uploads_completed_total", (("kind", "recording"),)),
            ("learnspace_http_request_duration_seconds_count", (("method", "GET"), ("route", "lessons.show"))),
            ("learnspace_http_request_duration_seconds_bucket",
             (("le", "0.025"), ("method", "GET"), ("route", "lessons.show"))))}

    expected = scraped()
    assert list(expected.values()) == [1234, 2, 2, 2]
    # gunicorn's child_exit folds each exited worker into one archive file per type: the sums stay.
    monkeypatch.setenv(metrics_dir.ENV, str(folder))
    for pid in pids:
        metrics_dir.child_exit(None, SimpleNamespace(pid=pid))
        assert scraped() == expected
    assert sorted(p.name for p in folder.iterdir()) == ["counter_archive.db", "histogram_archive.db"]

    metrics_dir.on_starting(None)  # a new start: nothing of the previous run is added
    assert folder.is_dir() and list(folder.iterdir()) == []


def test_under_gunicorn_any_worker_answers_with_every_workers_counts(app_env, app, tmp_path, monkeypatch):
    """The repository's gunicorn config, two workers: /metrics (from whichever worker) counts all 24 requests, also
    after one worker exits (its hooks empty the directory at start and fold an exited worker's counts)."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    folder = Path(app_env["LEARNSPACE_VAR_DIR"]) / "metrics"
    folder.mkdir(exist_ok=True)
    (folder / "counter_99999.db").write_bytes(b"stale")  # a previous run's file: removed at start
    with gunicorn_serving(app_env, tmp_path / "gunicorn.log", workers=2, threads=2) as (base, server):
        deadline = time.monotonic() + 60

        def logins_counted() -> float:
            got = samples(urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode())
            return got.get(("learnspace_http_responses_total", (("route", "accounts.login"), ("status_class", "2xx"))))

        def workers_that_answered_logins() -> set[str]:
            # A worker's file exists from its start; only one holding a login count shows it answered one.
            return {path.stem for path in folder.glob("counter_*.db")
                    if any("accounts.login" in key and value > 0
                           for key, value, _ts, _pos in MmapedDict.read_all_values_from_file(str(path)))}

        before = logins_counted() or 0.0
        sent = 0
        # Concurrent batches until both workers have answered some (which one accepts is the kernel's choice).
        while len(workers_that_answered_logins()) < 2:
            assert time.monotonic() < deadline, "only one worker ever answered"
            with ThreadPoolExecutor(12) as pool:
                list(pool.map(lambda _: urllib.request.urlopen(f"{base}/login", timeout=30).read(), range(24)))
            sent += 24
        # Answered by either worker: every worker's requests, each time.
        assert {logins_counted() - before for _ in range(4)} == {float(sent)}
        assert not (folder / "counter_99999.db").exists()
        pids = {int(p.stem.split("_")[1]) for p in folder.glob("counter_*.db")}
        assert len(pids) == 2, pids  # both workers wrote their own files
        # A worker exits (a crash, a reload): gunicorn starts another, its counts stay counted.
        os.kill(min(pids), signal.SIGTERM)
        while not (folder / "counter_archive.db").exists():
            assert time.monotonic() < deadline + 60, "child_exit did not fold the exited worker"
            time.sleep(0.1)
        assert {logins_counted() - before for _ in range(4)} == {float(sent)}
        assert not (folder / f"counter_{min(pids)}.db").exists()
        server.send_signal(signal.SIGINT)  # quick shutdown: the replacement worker may still be booting
