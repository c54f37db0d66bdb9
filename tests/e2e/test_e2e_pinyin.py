"""On a phone a pupil types pinyin and presses 搜索 without picking a suggestion: the search finds what the
suggestions offered; ü typed as u finds 旅; a homophone typo finds the lesson and the page says it searched by pinyin."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.search import add_teacher, build_search_world, index_now, publish_lesson

from .harness import PHONE

pytestmark = pytest.mark.e2e


@pytest.fixture
def sw(app, world):
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        teacher = add_teacher("陈静", world.schools["a2"], "T4301020002099")
        data["travel"] = publish_lesson(teacher, "旅行的意义", description="写一次旅行。", days_ago=5)
        index_now()
        db.session.remove()
    return data


def test_phone_pupil_types_gougu_presses_search_and_finds_the_suggested_lesson(sw, open_browser):
    visit = open_browser(viewport=PHONE)
    page = visit.page
    page.goto("/")
    box = page.get_by_role("combobox", name="搜索课程")
    box.fill("gougu")
    suggested = page.get_by_role("option", name="勾股定理", exact=True)
    expect(suggested).to_be_visible()
    visit.shot("suggest")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").click()  # picks nothing: the typed prefix itself is searched
    hits = page.locator(".hit-title")
    expect(hits.first).to_have_text("勾股定理")
    expect(hits.first.locator("mark")).to_have_text("勾股定理")
    expect(page.locator(".search-by-pinyin")).to_have_count(0)
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    visit.shot("gougu")

    # On the search page itself: ü typed as u.
    form = page.locator("form.search-form")
    query = form.get_by_label("搜索词")
    query.fill("lu")
    with page.expect_navigation():
        form.get_by_role("button", name="搜索").click()
    expect(hits.filter(has_text="旅行的意义")).to_have_count(1)
    visit.shot("lu")

    # A homophone typo: nothing has 勾股定里, its pinyin finds 勾股定理 and the page says so.
    query.fill("勾股定里")
    with page.expect_navigation():
        query.press("Enter")
    expect(page.locator(".search-by-pinyin")).to_have_text("已按拼音为您查找")
    expect(hits.first).to_have_text("勾股定理")
    visit.shot("typo")
