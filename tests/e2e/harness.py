"""Pieces the browser tests share: a person's browser (``Visit``), screenshots, page helpers."""
from __future__ import annotations

import csv
import io
import re
import threading
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "tests" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage",
    "--disable-default-apps", "--disable-extensions", "--lang=zh-CN",
]
ROSTER_HEADER = ["姓名", "角色", "学校标识码", "学籍号", "教师编号", "身份证号", "年级", "班级"]
#: Playwright waits this long (ms) for an element or a navigation before failing.
TIMEOUT_MS = 10_000


class JobRunner:
    """A daemon thread that runs the app's due background jobs every *interval* seconds until stopped.

    The same ``Worker`` that ``learnspace worker`` runs (claims, leases, backoff), in a thread of the test
    server's process. A test can hold it (``with runner.held():``) to see a file wait in a state, run one
    job itself (``run_one``), and skip the backoff pause of a job that failed (``make_due``).
    """

    def __init__(self, app, interval: float = 0.2):
        from learnspace.jobs.worker import Worker

        self.app = app
        self.interval = interval
        # No periodic tasks and no heartbeat row: the tests drain search after requests, and a write
        # from another thread every few seconds would spoil tests/fixtures/snapshots.py's recordings.
        self.worker = Worker(app, name="e2e-worker", poll_seconds=interval, periodic_tasks=False, beat_seconds=None)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()  # held while a batch of jobs runs, and while a test holds the runner
        self._thread = threading.Thread(target=self._loop, name="e2e-jobs", daemon=True)

    def _run(self, limit: int | None = None) -> int:
        return self.worker.run_due(limit)

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                try:
                    self._run()
                except Exception as exc:  # noqa: BLE001 - recorded for the test to report, the loop goes on
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(self.interval)

    @contextmanager
    def held(self):
        """Run no job in the background inside this block (jobs queue up; ``run_one`` runs one)."""
        with self._lock:
            yield self

    def run_one(self) -> int:
        """Run one due job now, in this thread (inside ``held()``); return how many ran (0 or 1)."""
        return self._run(1)

    def make_due(self) -> None:
        """Let the jobs waiting out a backoff pause run now (as if the pause had passed)."""
        from sqlalchemy import update

        from learnspace.db import utcnow
        from learnspace.extensions import db
        from learnspace.jobs.models import Job

        with self.app.app_context():
            db.session.execute(update(Job).where(Job.state == "queued").values(run_after_dt=utcnow()))
            db.session.commit()
            db.session.remove()

    def start(self) -> "JobRunner":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def start_job_runner(app, interval: float = 0.2) -> JobRunner:
    """Start running *app*'s background jobs in a thread (``runner.stop()`` ends it)."""
    return JobRunner(app, interval).start()


def origin(url: str) -> str:
    """``scheme://host:port`` of a URL (so 127.0.0.1:4000 never passes for 127.0.0.1:40001)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class Visit:
    """One browser context (one user's browser) with its page problems and screenshots.

    Pages may only load from the test server and from the origins in *allow*
    (e.g. a test identity provider's loopback port); anything else is a problem.
    """

    def __init__(self, browser, base_url: str, shots: "Shots", viewport: dict, label: str,
                 allow: tuple[str, ...] = ()):
        phone = viewport["width"] < 600
        self.context = browser.new_context(
            base_url=base_url, viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
            is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1,
        )
        self.context.set_default_timeout(TIMEOUT_MS)
        self.base_url = base_url
        self.allowed_origins = {origin(base_url), *(origin(url) for url in allow)}
        self.shots = shots
        self.label = label
        self.problems: list[str] = []
        self.context.on("page", self.watch)
        self.page = self.context.new_page()

    def watch(self, page) -> None:
        page.on("pageerror", lambda exc: self.problems.append(f"JavaScript error on {page.url}: {exc}"))
        page.on("response", self._check_response)

    def _check_response(self, response) -> None:
        url = response.url
        if origin(url) not in self.allowed_origins:
            self.problems.append(f"request left the test server: {url}")
        elif response.status >= 500:
            self.problems.append(f"server error {response.status} on {url}")
        elif response.status == 404 and "/static/" in url:
            self.problems.append(f"missing asset {url}")

    def shot(self, name: str, page=None) -> Path:
        """Save a full-page screenshot of *page* (default: the main page) and return its path."""
        return self.shots.take(page or self.page, f"{name}-{self.label}")

    def overflow(self, page=None) -> dict:
        """Measure whether the page is wider than the window (horizontal scrolling on a phone)."""
        return (page or self.page).evaluate(
            "() => ({scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,"
            " wide: [...document.querySelectorAll('body *')]"
            ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1"
            " && !e.closest('.table-wrap'))"
            ".slice(0, 5).map(e => e.tagName + '.' + e.className)})")

    def close(self) -> None:
        self.context.close()


class Shots:
    """Numbered screenshots named after the test: ``<test>-<nn>-<page>-<viewport>.png``."""

    def __init__(self, folder: Path, test_name: str):
        self.folder = folder
        self.prefix = re.sub(r"[^A-Za-z0-9_-]+", "-", test_name.removeprefix("test_"))[:60]
        self.count = 0
        for old in folder.glob(f"{self.prefix}-[0-9][0-9]-*.png"):  # the previous run of this test
            old.unlink(missing_ok=True)

    def take(self, page, name: str) -> Path:
        self.count += 1
        page.wait_for_load_state("load")
        path = self.folder / f"{self.prefix}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


# --- small page helpers --------------------------------------------------------

def sign_in(visit: Visit, login_name: str, password: str, shot_name: str = "login"):
    """Sign in through the login page like a person would; returns the page after the redirect."""
    page = visit.page
    page.goto("/login")
    visit.shot(shot_name)
    page.get_by_label("账号", exact=True).fill(login_name)
    page.get_by_label("密码", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="登录").click()
    return page


def roster_csv_bytes(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    """Return a roster CSV (Chinese header row first) as bytes."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(ROSTER_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    """Write a roster CSV with the Chinese header row."""
    path.write_bytes(roster_csv_bytes(rows, encoding))
    return path


def import_roster_directly(app, school_code: str, rows: list[list[str]]) -> None:
    """Set up a roster through the same operation the admin page uses, without the browser."""
    from learnspace.accounts.roster import import_roster
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs

    with app.app_context():
        import_roster(io.BytesIO(roster_csv_bytes(rows)), "roster.csv", orgs.get_school_by_code(school_code))
        db.session.commit()
        db.session.remove()


def today_in_shanghai() -> str:
    """Today's date as the pages show it (Beijing time), e.g. 2026-11-29."""
    return datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d")


#: A class of 芙蓉区第一小学 (world fixture) with its class teacher: 三年级 1班.
SCHOOL_A1 = "4301020001"
CLASS_ROSTER = [
    ["陈一鸣", "学生", SCHOOL_A1, "G430102201601010101", "", "", "三年级", "1班"],
    ["刘思雨", "学生", SCHOOL_A1, "G430102201602020202", "", "", "三年级", "1班"],
    ["赵子涵", "学生", SCHOOL_A1, "G430102201603030303", "", "", "三年级", "2班"],
    ["周文静", "教师", SCHOOL_A1, "", "T4301020001101", "", "三年级", "1班"],
]


def print_codes(visit: Visit, grade: str, class_name: str, shot_name: str = "codes-print",
                button: str = "生成激活码"):
    """On a school page, generate the class's activation (or reset) codes; returns the new tab with the slips."""
    page = visit.page
    section = page.locator("#codes")
    expect(section.get_by_role("heading", name="发放激活码")).to_be_visible()
    row = section.locator("tbody tr").filter(
        has=page.locator("td", has_text=re.compile(f"^{re.escape(grade)}$"))).filter(
        has=page.locator("td", has_text=re.compile(f"^{re.escape(class_name)}$")))
    with visit.context.expect_page() as new_tab:
        row.get_by_role("button", name=button).click()
    printed = new_tab.value
    printed.wait_for_load_state()
    visit.shot(shot_name, printed)
    return printed


def code_for(printed, real_name: str) -> str:
    """Read one person's code off the printed slips."""
    slip = printed.locator(".slip").filter(has_text=real_name)
    return slip.locator(".code").inner_text().strip()


def activate(visit: Visit, real_name: str, code: str, password: str) -> None:
    """Fill in and send the activation form (the page must be open)."""
    page = visit.page
    page.get_by_label("姓名").fill(real_name)
    page.get_by_label("激活码").fill(code)
    page.get_by_label("设置密码").fill(password)
    page.get_by_label("确认密码").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="激活并进入我的空间").click()
