"""The app served over a real socket for the benchmarks: werkzeug's threaded server (as `learnspace run`) in a subprocess.

    from served_app import start_app
    proc, base = start_app(env)   # env: LEARNSPACE_* settings of the run; base: http://127.0.0.1:<port>

Run as a script (``served_app.py PORT``), it is that subprocess.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def start_app(env: dict, timeout: float = 60) -> tuple[subprocess.Popen, str]:
    """Start the app with *env* on a free port and return (process, base URL) once it answers."""
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.helpers import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, str(port)], env={**os.environ, **env}, cwd=str(ROOT))
    base = f"http://127.0.0.1:{port}"
    _wait_for(base, proc, timeout)
    return proc, base


def _wait_for(base: str, proc: subprocess.Popen, timeout: float) -> None:
    import requests

    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the app server exited; see the messages above")
        try:
            if requests.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the app server did not answer within {timeout:.0f} s")


def _serve(port: int) -> None:
    import logging

    from werkzeug.serving import run_simple

    sys.path.insert(0, str(ROOT))
    from learnspace import create_app

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple("127.0.0.1", port, create_app(), threaded=True)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
