"""The Prometheus counters and histograms the code updates as it works (read at ``/metrics``, learnspace/metrics.py).

Defined once at import, in the process's registry: under gunicorn, prometheus_client's
multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, learnspace/metrics_dir.py) keeps each
worker's values in files that the scraped worker adds up. Labels take few values
(route endpoints, status classes, file kinds), never ids, paths or people.
"""
from __future__ import annotations

from prometheus_client import Counter, Histogram, disable_created_metrics

disable_created_metrics()  # no *_created series: they double the output and Prometheus does not need them

#: web request latency; buckets around the 100 ms target of issue 16
REQUEST_SECONDS = Histogram(
    "learnspace_http_request_duration_seconds", "Time to answer a request, by route endpoint and method.",
    ["route", "method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
RESPONSES = Counter(
    "learnspace_http_responses_total", "Responses sent, by route endpoint and status class (2xx, 4xx, 5xx …).",
    ["route", "status_class"],
)
#: bytes of files whose parts MinIO joined (the browser sends them to MinIO directly; the app sees only the size)
UPLOAD_BYTES = Counter("learnspace_upload_bytes_total", "Bytes of uploaded files completed, by file kind.", ["kind"])
UPLOADS = Counter("learnspace_uploads_completed_total", "Uploads completed (parts joined), by file kind.", ["kind"])

_METHODS = frozenset(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"))


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    REQUEST_SECONDS.labels(route, method if method in _METHODS else "other").observe(seconds)
    RESPONSES.labels(route, f"{status // 100}xx").inc()


def upload_completed(kind: str, size: int) -> None:
    """Count a file whose parts were joined (call after the commit)."""
    UPLOADS.labels(kind).inc()
    UPLOAD_BYTES.labels(kind).inc(size)
