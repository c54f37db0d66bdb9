"""Log format (readable text or JSON lines), request ids, and one structured line per request.

``LEARNSPACE_LOG_FORMAT=json`` makes the app and ``learnspace worker`` write one JSON
object per line to stderr (``ts``, ``level``, ``logger``, ``msg``, ``request_id``
and, for the request line, ``method``, ``route``, ``status``, ``duration_ms``).
A request is named by its route's endpoint (``lessons.show``), never by its path or
query string: paths carry ids and query strings carry what pupils type (names of
classmates included), which stay out of logs. No user, login name or IP is logged.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, current_app, g, has_request_context, request

#: the header a proxy (nginx's $request_id) or a client may send; echoed in every response
REQUEST_ID_HEADER = "X-Request-ID"
#: what a well-formed id looks like; anything else (too long, spaces, control characters) is replaced
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: the logger of the per-request line (JSON mode only: in text mode the server's access log has it)
request_log = logging.getLogger("learnspace.request")
#: LogRecord attributes that are not extra fields
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "request_id"}
#: fields every record of the current unit of work carries (the worker's job id and kind)
_context: contextvars.ContextVar[dict] = contextvars.ContextVar("learnspace_log_context", default={})


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Stamp every record with the current request's id and the fields of push_context() (the worker's job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = g.get("request_id")
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def push_context(**fields) -> contextvars.Token:
    """Add *fields* (say ``job_id=42, job_kind="lessons.verify_upload"``) to every record from now on; see pop."""
    return _context.set({**_context.get(), **fields})


def pop_context(token: contextvars.Token) -> None:
    """Undo the push_context() that returned *token*."""
    _context.reset(token)


def _our_handler() -> logging.Handler | None:
    return next((h for h in logging.getLogger().handlers if getattr(h, "_learnspace", False)), None)


def configure(app: Flask) -> None:
    """Send the root logger's records to stderr in the configured format (unless logging is set up elsewhere)."""
    json_mode = app.config["LEARNSPACE"].log_format == "json"
    root = logging.getLogger()
    handler = _our_handler()
    if handler is None and not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler._learnspace = True  # later apps in the same process (tests, CLI) reconfigure this one only
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
        root.setLevel(logging.INFO)
    if handler is not None:
        handler.setFormatter(JsonFormatter() if json_mode else logging.Formatter(_TEXT_FORMAT))
    if json_mode:
        # The request line below replaces the development server's access line (a path with its ids).
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app.extensions["learnspace.log_requests"] = json_mode


def request_id() -> str | None:
    """Return the current request's id (None outside a request)."""
    return g.get("request_id") if has_request_context() else None


def _start_request() -> None:
    sent = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = sent if _WELL_FORMED.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def request_seconds() -> float | None:
    """Return how long the current request has taken so far (None if it never started)."""
    started = g.get("request_started")
    return None if started is None else time.perf_counter() - started


def route_name() -> str:
    """Return the matched route's endpoint, the label requests are counted and logged by ("unmatched": none)."""
    rule = request.url_rule
    return rule.endpoint if rule is not None else "unmatched"


def _finish_request(response):
    rid = g.get("request_id")
    if rid:
        response.headers[REQUEST_ID_HEADER] = rid
    if g.get("request_started") is not None and _log_requests():
        seconds = request_seconds()
        level = logging.WARNING if response.status_code >= 500 else logging.INFO
        request_log.log(level, "request", extra={
            "method": request.method, "route": route_name(), "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
        })
    return response


def _log_requests() -> bool:
    return bool(current_app.extensions.get("learnspace.log_requests"))


def init_app(app: Flask) -> None:
    """Give every request an id (X-Request-ID when well-formed), echo it, and log one line per request (JSON)."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)  # before login checks and the rest
    app.after_request(_finish_request)
