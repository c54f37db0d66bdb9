"""Prometheus's multiprocess directory (``var/metrics``) and the gunicorn hooks that keep it right.

Under gunicorn each worker process keeps its counters in memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``; whichever worker answers ``/metrics`` adds them up.
prometheus_client decides at import whether to use files, so the variable must be
set before any worker imports the app: this module never imports prometheus_client
at top level, and the gunicorn config calls ``use_dir()`` when it is read::

    from learnspace import metrics_dir
    metrics_dir.use_dir()
    on_starting = metrics_dir.on_starting   # empties the directory once per master start
    child_exit = metrics_dir.child_exit     # drops a dead worker's live gauges (its counters stay counted)
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .config import REPO_ROOT

ENV = "PROMETHEUS_MULTIPROC_DIR"


def default_dir() -> Path:
    """Return ``metrics/`` in the var directory (``LEARNSPACE_VAR_DIR``, else the checkout's ``var/``)."""
    return Path(os.environ.get("LEARNSPACE_VAR_DIR") or REPO_ROOT / "var").resolve() / "metrics"


def use_dir() -> Path:
    """Point prometheus_client at the multiprocess directory (kept if already set) and create it; return it."""
    path = Path(os.environ.setdefault(ENV, str(default_dir())))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def clean_dir() -> Path:
    """Empty the multiprocess directory: values of a previous run must not be added to this one's."""
    path = use_dir()
    shutil.rmtree(path)
    path.mkdir(mode=0o700)
    return path


def on_starting(server=None) -> None:
    """gunicorn ``on_starting`` hook (master, before forking workers)."""
    clean_dir()


def child_exit(server, worker) -> None:
    """gunicorn ``child_exit`` hook: forget the live gauges of a worker that exited."""
    from prometheus_client import multiprocess  # only here: importing it at top would fix the mode too early

    multiprocess.mark_process_dead(worker.pid)
