"""Two app nodes: a county admin renames a school through node A; a pupil searching on node B finds the school's
lessons by the new name within seconds, because node B's own worker applies the change to node B's own index."""
from __future__ import annotations

import base64
import threading
import time
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from tests.fixtures.search import index_now, publish_lesson
from tests.fixtures.worker import start_worker_thread
from tests.fixtures.world import PASSWORD

from .harness import PHONE, Visit, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def node_b(app, make_app, tmp_path):
    """A second node served over HTTP: own var dir, search index and node id; its worker runs the search drain."""
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args, **kwargs):
            pass

    settings = app.config["LEARNSPACE"]
    var = tmp_path / "node-b"
    b = make_app(env={"LEARNSPACE_VAR_DIR": str(var), "LEARNSPACE_SEARCH_DIR": str(var / "search"),
                      "LEARNSPACE_NODE_ID": "node-b", "LEARNSPACE_SECRET_KEY": settings.secret_key,
                      "LEARNSPACE_DATA_KEY": base64.urlsafe_b64encode(settings.data_key).decode(),
                      "LEARNSPACE_SEARCH_DRAIN_AFTER_REQUEST": "0"})
    server = make_server("127.0.0.1", 0, b, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="e2e-node-b", daemon=True)
    thread.start()
    stop_worker = start_worker_thread(b, name="node-b-worker", periodic_tasks=True)
    yield SimpleNamespace(app=b, url=f"http://127.0.0.1:{server.server_port}")
    stop_worker()
    server.shutdown()
    thread.join(10)


def _search_until(page, q: str, count: int, seconds: float = 10) -> float:
    """Search *q* on the page's node until it shows *count* hits; return how long it took."""
    started = time.monotonic()
    while True:
        page.goto(f"/search?q={q}")
        if page.locator(".hit-title").count() == count:
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, f"node b still does not show {count} hits for {q}"
        time.sleep(0.3)


def test_a_rename_through_node_a_is_found_through_node_b(app, world, open_browser, browser, shots, node_b):
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild(procs=1)
        publish_lesson(world.people["teacher_a1"], "认识钟表")
        index_now()

    pupil = Visit(browser, node_b.url, shots, PHONE, "node-b-phone")
    try:
        _search_until(pupil.page, "芙蓉区", 1)  # node b's worker built its own index from the database
        expect(pupil.page.locator(".hit").first).to_contain_text("芙蓉区第一小学")
        pupil.shot("before")

        admin = open_browser()
        page = sign_in(admin, world.admins["county_a"], PASSWORD)
        page.goto("/admin/schools/4301020001")
        page.get_by_text("修改学校名称").click()
        page.get_by_label("新的学校名称").fill("星河湾实验小学")
        with page.expect_navigation():
            page.get_by_role("button", name="保存新名称").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("星河湾实验小学")
        admin.shot("renamed-on-node-a")

        assert _search_until(pupil.page, "星河湾", 1) < 10
        expect(pupil.page.locator(".hit-title").first).to_have_text("认识钟表")
        expect(pupil.page.locator(".hit").first).to_contain_text("星河湾实验小学")
        pupil.shot("new-name-on-node-b")
        pupil.page.goto("/search?q=芙蓉区")
        expect(pupil.page.locator(".hit-title")).to_have_count(0)
        pupil.shot("old-name-on-node-b")
        problems = list(pupil.problems)
    finally:
        pupil.close()
    assert not problems, "\n".join(problems)
