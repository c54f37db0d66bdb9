"""gunicorn boots from learnspace/serving/gunicorn_conf.py and serves the app: pages, access log, limits, HUP."""
import re
import signal
from pathlib import Path

import pytest
import requests

from tests.fixtures.serving import gunicorn_serving, wait_for


@pytest.fixture(scope="module")
def gunicorn(app, app_env, tmp_path_factory):
    """One gunicorn master with a single 2-thread worker on a free port; yields (base URL, process, log path)."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn_serving(app_env, log) as (base, proc):
        yield base, proc, log


def _workers(log: Path) -> list[str]:
    return re.findall(r"Booting worker with pid: (\d+)", log.read_text())


def test_pages_answer_and_the_access_log_has_no_query_string_or_address(gunicorn):
    base, _proc, log = gunicorn
    page = requests.get(f"{base}/login", timeout=10)
    assert page.status_code == 200 and "登录" in page.text
    assert requests.get(f"{base}/search", params={"q": "王小明"}, timeout=10).status_code == 200
    line = wait_for(lambda: next((x for x in log.read_text().splitlines() if '"GET /search' in x), None), 10,
                 "the access log line")
    assert re.search(r'"GET /search" 200 \d+ \d+ms$', line), line
    text = log.read_text()
    assert "王小明" not in text and "%E7%8E%8B" not in text and "q=" not in text
    assert "127.0.0.1 " not in text.split("Listening at")[-1]  # no client address in request lines


def test_untrusted_host_and_oversized_request_line_are_refused(gunicorn):
    base, _proc, _log = gunicorn
    refused = requests.get(f"{base}/login/oidc/hunan", headers={"Host": "evil.example"}, timeout=10,
                           allow_redirects=False)
    assert refused.status_code == 400 and "evil.example" not in refused.headers.get("Location", "")
    too_long = requests.get(f"{base}/search?q=" + "a" * 5000, timeout=10)  # limit_request_line 4094
    assert too_long.status_code == 400 and "Request Line is too large" in too_long.text
    # A spoofed X-Forwarded-Proto from loopback is not believed (no trusted proxies configured).
    assert requests.get(f"{base}/login", headers={"X-Forwarded-Proto": "https"}, timeout=10).status_code == 200


def test_hup_replaces_the_worker_without_refusing_requests(gunicorn):
    base, proc, log = gunicorn
    before = _workers(log)
    proc.send_signal(signal.SIGHUP)
    seen_errors = []

    def replaced():
        try:
            status = requests.get(f"{base}/healthz", timeout=10).status_code
            if status != 200:
                seen_errors.append(status)
        except requests.ConnectionError as exc:  # the listening socket must stay open through the reload
            seen_errors.append(exc)
        return len(_workers(log)) > len(before) and f"Worker exiting (pid: {before[-1]})" in log.read_text()

    wait_for(replaced, 60, "a new worker after HUP")
    assert seen_errors == []
    assert requests.get(f"{base}/login", timeout=10).status_code == 200
