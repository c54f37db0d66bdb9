"""Browser test harness: the real app behind a real HTTP server, driven by Debian's Chromium.

The app (``app`` fixture from ``tests/conftest.py``: real MinIO, real test
database) is served by a werkzeug server in a background thread on a free port;
its background jobs (upload verification) run in another thread every 0.2 s
(``job_runner``, a stand-in for ``learnspace worker``; tests may hold it).
Chromium is Debian's ``/usr/bin/chromium`` (``LEARNSPACE_CHROMIUM`` overrides),
launched headless through Playwright with a fresh profile and no network
features; Playwright never downloads a browser.

Every page a test visits is saved as a full-page screenshot under
``tests/screenshots/`` (git-ignored) so a person can look at what users see.
Tests fail when a page throws a JavaScript error, when the server answers 5xx,
or when a local asset (CSS, JS, image) is missing.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .harness import CHROMIUM_ARGS, DESKTOP, SHOTS, Shots, Visit, start_job_runner

# Assertions wait up to 15 s, not Playwright's 5: the suite runs on 2 shared cores, where one slow
# request (a chunk upload, the first jieba load) can take longer than 5 s without anything being wrong.
expect.set_options(timeout=15_000)


def _chromium_path() -> str:
    path = os.environ.get("LEARNSPACE_CHROMIUM") or "/usr/bin/chromium"
    if not os.access(path, os.X_OK):
        pytest.fail(f"Chromium not found at {path}: install Debian's package (apt-get install chromium "
                    "fonts-noto-cjk; scripts/test does it) or set LEARNSPACE_CHROMIUM", pytrace=False)
    return path


def _require_cjk_font() -> None:
    """Without a CJK font every Chinese character in a screenshot is an empty box."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return  # cannot tell; the screenshots will show it
    families = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True).stdout
    if not families.strip():
        pytest.fail("no Chinese font installed: apt-get install fonts-noto-cjk (scripts/test does it)",
                    pytrace=False)


# --- the server ---------------------------------------------------------------

@pytest.fixture(scope="session")
def job_runner(app):
    """The app's background jobs, run every 0.2 s in a thread as ``learnspace worker`` would."""
    runner = start_job_runner(app)
    yield runner
    runner.stop()
    assert not runner.errors, "the e2e job runner failed:\n" + "\n".join(runner.errors)


@pytest.fixture(scope="session")
def live_server(app, job_runner):
    """Serve the test app over real HTTP on 127.0.0.1 and return its base URL."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):  # keep the test output readable
            pass

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-http", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


# --- the browser --------------------------------------------------------------

@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    """The folder for screenshots (each test replaces only its own pictures)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, with a fresh temporary profile."""
    from playwright.sync_api import sync_playwright

    executable = _chromium_path()
    _require_cjk_font()
    # launch() gives Chromium a fresh temporary profile of its own; HOME points at an
    # empty folder too so nothing from (or into) the real home directory leaks in.
    # LANGUAGE picks Chromium's own Chinese strings (file pickers, validation
    # bubbles) when Debian's chromium-l10n is installed, as a teacher's browser would.
    home = tempfile.mkdtemp(prefix="learnspace-e2e-home-")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS,
                                    env={**os.environ, "HOME": home, "LANGUAGE": "zh_CN:zh"}, timeout=60_000)
        try:
            yield browser
        finally:
            browser.close()
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def shots(request, screenshot_dir) -> Shots:
    return Shots(screenshot_dir, request.node.name)


@pytest.fixture
def open_browser(browser, live_server, shots):
    """Open a fresh browser context: ``open_browser(viewport=PHONE, label='phone')``.

    Each call is a different person's browser (own cookies). ``allow`` lists
    other servers of the test (base URLs, e.g. an identity provider) that its
    pages may visit; any other host is a failure. At the end of the
    test every context is closed and any JavaScript error, 5xx answer or missing
    asset seen on its pages fails the test.
    """
    visits: list[Visit] = []

    def _open(viewport: dict = DESKTOP, label: str | None = None, allow: tuple[str, ...] = ()) -> Visit:
        visit = Visit(browser, live_server, shots, viewport,
                      label or ("phone" if viewport["width"] < 600 else "desktop"), tuple(allow))
        visits.append(visit)
        return visit

    yield _open
    problems = [p for v in visits for p in v.problems]
    for visit in visits:
        visit.close()
    assert not problems, "\n".join(problems)
