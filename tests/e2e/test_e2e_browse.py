"""A student browses province → city → county → school, sees the school's teachers' spaces, newest lessons and
recently updated spaces, opens a teacher's space, then reads lesson counts on the textbook catalogue; on a phone
the same pages fit the screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.browse import build_browse_world, days_ago
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def bw(app, world):
    from learnspace.accounts.models import User
    from learnspace.activity import operations as activity
    from learnspace.extensions import db

    data = build_browse_world(app, world)
    with app.app_context():
        for key, kind, ago in (("teacher_a1", "publish", 2), ("teacher_a1b", "announce", 0.1),
                               ("teacher_a2", "upload", 5)):
            activity.record(db.session.get(User, world.people[key]), kind, at=days_ago(ago))
        db.session.commit()
    return data


def _fits(visit) -> None:
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"


def test_student_browses_to_a_school_and_a_teachers_space_then_reads_catalogue_counts(bw, world, open_browser):
    visit = open_browser()
    page = sign_in(visit, bw.logins["student_a1"], PASSWORD)
    with page.expect_navigation():
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="浏览空间").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("浏览空间")
    visit.shot("index")
    for place in ("湖南省", "长沙市", "芙蓉区"):
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("^" + place)).first.click()
        expect(page.get_by_role("heading", level=1)).to_have_text(place)
    visit.shot("county")
    with page.expect_navigation():
        page.get_by_role("link", name="芙蓉区第一小学").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("芙蓉区第一小学")
    teachers = page.locator("#teachers")
    expect(teachers.get_by_role("heading")).to_have_text("教师空间（2）")
    expect(teachers.locator(".dir-teacher")).to_have_count(2)
    expect(teachers.locator(".dir-teacher").first).to_contain_text("李老师")
    expect(teachers.locator(".dir-teacher").first).to_contain_text("3 节课程")
    expect(page.locator("#lessons .lesson-item")).to_have_count(6)
    expect(page.locator("#lessons")).not_to_contain_text("李-draft")
    recent = page.locator("#recent li")
    expect(recent).to_have_count(2)
    expect(recent.first).to_contain_text("周老师")
    expect(recent.first).to_contain_text("发布公告")
    visit.shot("school")

    with page.expect_navigation():
        teachers.get_by_role("link", name=re.compile("周老师")).click()
    expect(page).to_have_url(re.compile(r"/spaces/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("周老师")

    page.goto(f"/catalog/{bw.nodes['volume']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("8 节课")
    chapter = page.locator("section.card").filter(has=page.get_by_role("link", name="第一单元 时、分、秒"))
    expect(chapter.locator("h2 .lesson-count")).to_have_text("6 节课")
    visit.shot("catalogue-volume")
    with page.expect_navigation():
        page.get_by_role("link", name="第一单元 时、分、秒").click()
    expect(page.locator("#lessons .lesson-item")).to_have_count(6)
    visit.shot("catalogue-chapter")


def test_school_page_and_catalogue_counts_fit_a_phone(bw, world, open_browser):
    visit = open_browser(viewport=PHONE)
    page = sign_in(visit, bw.logins["student_b1"], PASSWORD)
    page.goto(f"/browse/schools/{world.schools['a1']}")
    expect(page.locator("#teachers .dir-teacher")).to_have_count(2)
    expect(page.locator("#lessons .lesson-item")).to_have_count(4)  # only the public ones for another county
    _fits(visit)
    visit.shot("school")
    page.goto("/browse/regions/430000")
    expect(page.locator("a.card.dir-node").first).to_contain_text("4 节课程")
    _fits(visit)
    visit.shot("province")
    page.goto(f"/catalog/{bw.nodes['volume']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("6 节课")
    _fits(visit)
    visit.shot("catalogue-volume")
