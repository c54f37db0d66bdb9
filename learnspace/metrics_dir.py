"""Prometheus's multiprocess directory (``var/metrics``) and the gunicorn hooks that keep it right.

Under gunicorn each worker process keeps its counters in memory-mapped files in
``PROMETHEUS_MULTIPROC_DIR``; whichever worker answers ``/metrics`` adds them up.
prometheus_client decides at import whether to use files, so the variable must be
set before any worker imports the app: this module never imports prometheus_client
at top level, and the gunicorn config calls ``use_dir()`` when it is read::

    from learnspace import metrics_dir
    metrics_dir.use_dir()
    on_starting = metrics_dir.on_starting   # empties the directory once per master start
    child_exit = metrics_dir.child_exit     # folds an exited worker's counters into one archive file

Why fold: prometheus_client keeps an exited process's files (its counts must stay
counted), and a scrape reads every file, so with workers recycled (gunicorn's
``max_requests``, reloads) scrapes slowed by ~13 ms per exited worker here (100
routes touched each). Folding keeps the directory at one file per live worker
and type, plus one archive per type.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from .config import REPO_ROOT

ENV = "PROMETHEUS_MULTIPROC_DIR"
#: the kinds of files whose values a scrape adds up across processes (gauges are per process)
SUMMED = ("counter", "histogram", "summary")
#: the file-name part that stands for every exited worker
ARCHIVE = "archive"


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
    """gunicorn ``child_exit`` hook (master): drop an exited worker's live gauges, fold its counts into the archive."""
    from prometheus_client import multiprocess  # only here: importing it at top would fix the mode too early

    multiprocess.mark_process_dead(worker.pid)
    folder = Path(os.environ.get(ENV) or default_dir())
    for kind in SUMMED:
        fold(folder, kind, worker.pid)


def fold(folder: Path, kind: str, pid: int) -> None:
    """Add an exited process's *kind* file into ``<kind>_archive.db`` and remove it (the master calls it, one at a time).

    The new archive is written beside the old one (a name a scrape does not read) and
    renamed over it, then the process's file goes: a scrape sees either the old
    archive and the file, or the new archive (a scrape that lists the file and then
    misses it is retried, learnspace/metrics.py).
    """
    from prometheus_client.mmap_dict import MmapedDict

    exited = folder / f"{kind}_{pid}.db"
    if not exited.exists():
        return
    archive = folder / f"{kind}_{ARCHIVE}.db"
    totals: dict[str, float] = {}
    for source in (archive, exited):
        if source.exists():
            for key, value, _timestamp, _position in MmapedDict.read_all_values_from_file(str(source)):
                totals[key] = totals.get(key, 0.0) + value
    scratch = folder / f"{kind}_{ARCHIVE}.db.new"
    scratch.unlink(missing_ok=True)
    merged = MmapedDict(str(scratch))
    try:
        for key, value in totals.items():
            merged.write_value(key, value, 0.0)
    finally:
        merged.close()
    os.replace(scratch, archive)
    exited.unlink()
