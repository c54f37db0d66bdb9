"""A pupil on a phone narrows the 课程 list and the search results with the filter sheet: taps 筛选, picks 数学
then 八年级 (the sheet stays open between the two), sees the list narrow and the URL carry both filters,
reloads and keeps them, closes the sheet with Esc; on a desktop the same panel is a sidebar."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.search import add_chinese_lesson, build_search_world
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def fw(app, world):
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        add_chinese_lesson(data)
        db.session.remove()
    data["student"] = give_login(app, world.people["student_a1"])
    return data


def narrow_on_a_phone(visit, start: str, items: str) -> None:
    """Open *start*, pick 数学 and 八年级 in the sheet, check the list (*items* locator), URL and reload."""
    page = visit.page
    page.goto(start)
    expect(page.locator(items)).to_have_count(3)
    sheet = page.get_by_role("dialog", name=re.compile("^筛选"))
    expect(sheet).to_have_count(0)
    expect(page.locator("[data-filter-panel]")).to_be_hidden()  # a sheet, not a section pushing the results down
    button = page.get_by_role("button", name="筛选", exact=True)
    button.click()
    expect(sheet).to_be_visible()
    expect(page.locator("#filters-title")).to_be_focused()
    visit.shot("sheet-open")
    with page.expect_navigation():
        sheet.get_by_role("link", name=re.compile("^数学")).click()
    expect(page).to_have_url(re.compile(r"subject=%E6%95%B0%E5%AD%A6"))
    expect(sheet).to_be_visible()  # reopened after the page reload, ready for the next choice
    with page.expect_navigation():
        sheet.get_by_role("link", name=re.compile("^八年级")).click()
    expect(page).to_have_url(re.compile(r"grade=%E5%85%AB%E5%B9%B4%E7%BA%A7"))
    expect(page).to_have_url(re.compile(r"subject=%E6%95%B0%E5%AD%A6"))
    expect(sheet.locator(".facet-value.is-selected")).to_have_count(2)
    visit.shot("sheet-chosen")
    sheet.get_by_role("link", name="查看 2 节课程").click()
    expect(sheet).to_have_count(0)
    expect(page.locator(items)).to_have_count(2)
    expect(page.locator(".chip")).to_have_count(2)
    expect(page.get_by_role("button", name="筛选 (2)")).to_be_focused()
    url = page.url
    page.reload()
    assert page.url == url
    expect(page.locator(items)).to_have_count(2)
    expect(page.get_by_role("button", name="筛选 (2)")).to_be_visible()
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    visit.shot("narrowed")
    # Keyboard: Esc closes the sheet and gives focus back to the button; Tab stays inside the sheet.
    page.get_by_role("button", name="筛选 (2)").focus()
    page.keyboard.press("Enter")
    expect(sheet).to_be_visible()
    for _ in range(40):
        page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.closest('[data-filter-panel]') !== null")
    page.keyboard.press("Escape")
    expect(sheet).to_have_count(0)
    expect(page.get_by_role("button", name="筛选 (2)")).to_be_focused()
    # A chip removes its filter.
    with page.expect_navigation():
        page.locator(".chip", has_text="年级：八年级").click()
    expect(page.locator(".chip")).to_have_count(1)
    expect(page).not_to_have_url(re.compile("grade="))


def test_phone_lesson_list_filter_sheet(fw, open_browser):
    narrow_on_a_phone(open_browser(viewport=PHONE), "/lessons", ".lesson-item")


def test_phone_search_filter_sheet(fw, open_browser):
    narrow_on_a_phone(open_browser(viewport=PHONE), "/search", ".hit")


def test_desktop_keeps_the_side_panel_and_the_catalogue_filters(fw, open_browser):
    visit = open_browser()
    page = visit.page
    page.goto("/lessons")
    panel = page.locator("[data-filter-panel]")
    expect(panel).to_be_visible()
    expect(page.locator(".filter-open")).to_be_hidden()
    with page.expect_navigation():
        panel.get_by_role("link", name=re.compile("^语文")).click()
    expect(page.locator(".lesson-item")).to_have_count(1)
    visit.shot("lessons-filtered")
    page = sign_in(visit, fw["student"], PASSWORD)
    page.goto(f"/catalog/{fw['nodes']['chapter']}")
    expect(page.locator(".lesson-item")).to_have_count(2)
    with page.expect_navigation():
        page.locator("[data-filter-panel]").get_by_role("link", name=re.compile("^复习课")).click()
    expect(page.locator(".lesson-item")).to_have_count(1)
    expect(page.locator(".chip")).to_contain_text("课型：复习课")
    visit.shot("catalogue-filtered")


def test_phone_catalogue_filter_sheet(fw, open_browser):
    visit = open_browser(viewport=PHONE)
    page = sign_in(visit, fw["student"], PASSWORD)
    page.goto("/catalog")
    page.get_by_role("button", name="筛选", exact=True).click()
    sheet = page.get_by_role("dialog", name=re.compile("^筛选"))
    with page.expect_navigation():
        sheet.get_by_role("link", name=re.compile("^语文")).click()
    expect(sheet).to_be_visible()
    expect(sheet.get_by_role("link", name="查看 1 节课程")).to_be_visible()
    visit.shot("catalogue-sheet")
    sheet.get_by_role("button", name="关闭筛选").click()
    expect(page.get_by_role("button", name="筛选 (1)")).to_be_focused()
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    visit.shot("catalogue")
