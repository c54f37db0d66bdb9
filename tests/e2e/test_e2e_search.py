"""A student searches in the browser: types pinyin into the header box, picks the autocomplete suggestion,
sees highlighted results with facet counts, narrows by lesson type, and opens the lesson; on a phone an
anonymous visitor searches by initials and the page fits the screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.search import build_search_world
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def sw(app, world):
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        db.session.remove()
    data["student"] = give_login(app, world.people["student_a1"])
    return data


def test_student_finds_a_lesson_by_pinyin_narrows_by_facet_and_opens_it(sw, open_browser, minio_server):
    visit = open_browser(allow=(f"http://{minio_server['endpoint']}",))  # the lesson page's presigned video
    page = sign_in(visit, sw["student"], PASSWORD)
    box = page.get_by_role("combobox", name="搜索课程")
    box.fill("gougu")
    suggestions = page.get_by_role("listbox", name="搜索建议")
    expect(suggestions).to_be_visible()
    expect(suggestions.get_by_role("option", name="勾股定理", exact=True)).to_be_visible()
    visit.shot("suggest")
    with page.expect_navigation():
        suggestions.get_by_role("option", name="勾股定理", exact=True).click()
    expect(page).to_have_url(re.compile(r"/search\?q="))
    hits = page.locator(".hit-title")
    expect(hits.first).to_have_text("勾股定理")
    expect(hits.first.locator("mark")).to_have_text("勾股定理")
    expect(page.locator(".results-count")).to_contain_text("共找到 3 节课程")
    visit.shot("results")

    with page.expect_navigation():
        page.locator(".facet[data-facet=lesson_type]").get_by_role("link", name=re.compile("^复习课")).click()
    expect(hits).to_have_count(1)
    expect(hits.first).to_have_text("勾股定理的证明方法")
    expect(page.locator(".chip")).to_contain_text("课型：复习课")
    visit.shot("narrowed")

    with page.expect_navigation():
        hits.first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("勾股定理的证明方法")
    visit.shot("lesson")


def test_phone_search_by_initials_fits_the_screen(sw, open_browser):
    visit = open_browser(viewport=PHONE)
    page = visit.page
    page.goto("/")
    box = page.get_by_role("combobox", name="搜索课程")
    box.fill("ggdl")
    expect(page.get_by_role("option", name="勾股定理", exact=True)).to_be_visible()
    visit.shot("suggest")
    with page.expect_navigation():
        box.press("Enter")
    expect(page.locator(".hit-title").first).to_have_text("勾股定理")
    expect(page.locator(".hit-title mark").first).to_have_text("勾股定理")
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    visit.shot("results")
    page.goto("/search?q=" + "%F0%9F%98%80")
    expect(page.locator(".search-message")).to_contain_text("搜索词中没有可以查找的文字")
    visit.shot("emoji")
