"""A pupil on a phone types 八年级数学 into the header box: the words become chips (数学 ×, 八年级 ×) over the
八年级 数学 lessons; removing 数学 keeps 八年级 and shows every 八年级 lesson; the state is a URL to share."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.search import build_search_world, index_now, publish_lesson

from .harness import PHONE

pytestmark = pytest.mark.e2e


@pytest.fixture
def sw(app, world):
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        # An 八年级 lesson of another subject, so removing 数学 visibly widens the results.
        from tests.fixtures.lessons import node_chain

        chapter = node_chain(("t-junior", "w-junior-chinese", "w-junior-chinese-tb", "w-junior-chinese-tb-g8a",
                              "w-junior-chinese-tb-g8a-u1"), "初中", "语文", "部编版（统编版）", "八年级", "八年级上册",
                             "第一单元 新闻")
        db.session.commit()
        data["lessons"]["news"] = publish_lesson(data["teachers"]["wang"], "消息二则", node=chapter.id, views=80)
        index_now()
        db.session.remove()
    return data


def test_pupil_on_a_phone_types_grade_and_subject_sees_chips_and_removes_one(sw, open_browser):
    visit = open_browser(viewport=PHONE)
    page = visit.page
    page.goto("/")
    box = page.get_by_role("combobox", name="搜索课程")
    box.fill("八年级数学")
    with page.expect_navigation():
        box.press("Enter")
    chips = page.locator(".understood .word-chip")
    expect(chips).to_have_count(2)
    expect(chips.nth(0)).to_contain_text("数学")
    expect(chips.nth(1)).to_contain_text("八年级")
    titles = page.locator(".hit-title")
    # Only words, no text: the 八年级 数学 lessons anyone may see, most watched first.
    expect(titles).to_have_text(["勾股定理", "直角三角形的认识"])
    expect(page.locator(".results-count")).to_contain_text("共找到 2 节课程")
    expect(page.locator(".understood")).to_contain_text("观看多的在前")
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    visit.shot("chips")

    with page.expect_navigation():
        chips.filter(has_text="数学").click()
    expect(page).to_have_url(re.compile(r"/search\?q=%E5%85%AB%E5%B9%B4%E7%BA%A7$"))  # q=八年级
    expect(page.locator("#search-q")).to_have_value("八年级")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("八年级")
    expect(titles).to_have_text(["消息二则", "勾股定理", "直角三角形的认识"])
    visit.shot("one-chip-removed")

    # The URL is the state: opened afresh (as a shared link) it shows the same chips and lessons.
    shared = open_browser(viewport=PHONE, label="shared")
    shared.page.goto(page.url)
    expect(shared.page.locator(".understood .word-chip")).to_have_count(1)
    expect(shared.page.locator(".hit-title")).to_have_count(3)

    # shuxue typed in pinyin is the subject too.
    page.goto("/search?q=shuxue")
    expect(chips).to_have_count(1)
    expect(chips.first).to_contain_text("数学")
    expect(titles).to_have_text(["勾股定理", "直角三角形的认识"])
    visit.shot("pinyin-subject")
