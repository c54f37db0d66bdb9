"""A pupil searches in the browser; every page she gets carries a request id, and the operator's /metrics (read
from the server itself) counts her pages by route, without what she typed."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.search import build_search_world
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e
TYPED = "勾股定理的证明"


def _searches_counted(text: str) -> float:
    found = re.search(r'^learnspace_http_responses_total\{route="search.index",status_class="2xx"\} (\S+)$', text,
                      re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def test_pupil_pages_carry_request_ids_and_metrics_count_them_by_route(app, world, open_browser):
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        build_search_world(world)  # five published lessons, indexed
        db.session.remove()
    student = give_login(app, world.people["student_a1"])
    operator = open_browser(label="operator")
    before = _searches_counted(operator.page.goto("/metrics").text())

    ids = set()
    for visit in (open_browser(), open_browser(viewport=PHONE)):
        page = sign_in(visit, student, PASSWORD)
        box = page.get_by_role("combobox", name="搜索课程")
        box.fill(TYPED)
        with page.expect_response(lambda r: "/search?" in r.url and r.request.resource_type == "document") as got:
            box.press("Enter")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_text("搜索暂时不可用")).to_have_count(0)
        visit.shot("search")
        ids.add(got.value.headers["x-request-id"])
    assert len(ids) == 2 and all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)

    metrics = operator.page.goto("/metrics")
    assert metrics.status == 200 and metrics.headers["x-request-id"] not in ids
    text = metrics.text()
    assert _searches_counted(text) == before + 2
    assert 'route="accounts.login"' in text and "learnspace_jobs{" in text
    assert TYPED not in text and student not in text
    operator.shot("metrics")
