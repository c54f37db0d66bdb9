"""Lesson views as visitors make them: reloads count once a day per visitor, counted by the worker's batch.

An anonymous visitor opens a public lesson and reloads it (one view, remembered by a random-id cookie);
a second visitor on a phone opens it too (a second view); the teacher's own visit counts nothing. Until
the batch runs nothing is counted; after it, the search result shows 2 次观看.
"""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.search import index_now, publish_lesson
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


def test_reloads_count_once_and_the_batch_brings_the_views_to_search(app, world, open_browser, minio_server):
    from learnspace.extensions import db
    from learnspace.lessons import view_counts
    from learnspace.lessons.models import Lesson

    with app.app_context():
        lesson_id = publish_lesson(world.people["teacher_a1"], "认识人民币")
        index_now()

    minio = (f"http://{minio_server['endpoint']}",)  # the player's presigned recording URL points there
    desk = open_browser(allow=minio)
    for _ in range(3):
        desk.page.goto(f"/lessons/{lesson_id}")
        expect(desk.page.get_by_role("heading", level=1)).to_contain_text("认识人民币")
    desk.shot("lesson-anonymous")
    cookie = next(c for c in desk.page.context.cookies() if c["name"] == view_counts.VISITOR_COOKIE)
    assert cookie["httpOnly"] and len(cookie["value"]) == 32

    phone = open_browser(PHONE, allow=minio)
    phone.page.goto(f"/lessons/{lesson_id}")
    expect(phone.page.get_by_role("heading", level=1)).to_contain_text("认识人民币")
    phone.shot("lesson-phone")

    teacher = open_browser(label="teacher", allow=minio)
    page = sign_in(teacher, give_login(app, world.people["teacher_a1"]), PASSWORD)
    page.goto(f"/lessons/{lesson_id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("认识人民币")

    with app.app_context():
        assert db.session.get(Lesson, lesson_id).view_count == 0  # recorded, not counted yet
        assert view_counts.pending_count(lesson_id) == 2
        view_counts.count_all()  # what the worker's lessons.count_views does every 10 s
        index_now()
        assert db.session.get(Lesson, lesson_id).view_count == 2
        db.session.remove()

    phone.page.goto("/search?q=认识人民币")
    hit = phone.page.locator(".hit", has_text="认识人民币").first
    expect(hit).to_contain_text("2 次观看")
    phone.shot("search-views")

