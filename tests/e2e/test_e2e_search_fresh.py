"""The index is current from the first moment: after ``init`` + ``demo`` (what scripts/run --demo runs before
serving) the search page answers with the demo's lessons at first load, on a phone too; a county admin renames a
school on its page and the search finds the school's lessons by the new name, not the old one."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.fixtures.search import index_now, publish_lesson
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


def test_the_demo_search_page_answers_with_lessons_at_first_load(app, open_browser):
    from learnspace.accounts.models import User
    from learnspace.cli import main
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson

    runner = app.test_cli_runner()
    for command in (["init"], ["demo"]):  # nobody drains the outbox after this: no worker runs periodic tasks here
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output
    with app.app_context():
        title, teacher = db.session.execute(
            select(Lesson.title, User.real_name).join(User, User.id == Lesson.teacher_id)
            .where(Lesson.status == "published", Lesson.visibility == "public").order_by(Lesson.id)).first()
        db.session.remove()

    for visit in (open_browser(), open_browser(PHONE)):
        page = visit.page
        page.goto(f"/search?q={title}")
        hits = page.locator(".hit-title")
        expect(hits.first).to_be_visible()
        expect(page.locator(".hit-title", has_text=title).first).to_be_visible()
        expect(page.locator(".results-count")).to_contain_text(re.compile(r"共找到 \d+ 节课程"))
        visit.shot("demo-title")
        page.goto(f"/search?q={teacher}")
        expect(page.locator(".hit").first).to_contain_text(teacher)
        visit.shot("demo-teacher")


def test_a_county_admin_renames_a_school_and_search_follows(app, world, open_browser):
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild(procs=1)
        publish_lesson(world.people["teacher_a1"], "认识钟表")
        index_now()

    visit = open_browser()
    page = sign_in(visit, world.admins["county_a"], PASSWORD)
    page.goto("/admin/schools/4301020001")
    page.get_by_text("修改学校名称").click()
    box = page.get_by_label("新的学校名称")
    expect(box).to_have_value("芙蓉区第一小学")
    box.fill("星河湾实验小学")
    visit.shot("rename-form")
    with page.expect_navigation():
        page.get_by_role("button", name="保存新名称").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("星河湾实验小学")
    expect(page.locator(".flash").first).to_contain_text("改名为“星河湾实验小学”")
    visit.shot("renamed")

    phone = open_browser(PHONE)
    phone.page.goto("/search?q=星河湾")
    expect(phone.page.locator(".hit-title").first).to_have_text("认识钟表")
    expect(phone.page.locator(".hit").first).to_contain_text("星河湾实验小学")
    phone.shot("new-name")
    phone.page.goto("/search?q=芙蓉区")
    expect(phone.page.locator(".hit-title")).to_have_count(0)
    phone.shot("old-name")
