"""Issue 6's journey: a student finds a teacher through the school page, watches part of a lesson, leaves,
comes back (another browser, on a phone) and resumes at the same position, then leaves a comment."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import make_mp4, store_ready_file
from tests.fixtures.people import give_login
from tests.fixtures.world import PASSWORD
from tests.study.people import add_person, birthday_years_ago

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e

TITLE = "认识时间"


@pytest.fixture
def journey(app, world, tmp_path):
    """李老师 of 芙蓉区第一小学 with a published lesson and a real 20-second recording; a 12-year-old student of
    the same school whose guardian's consent is recorded (so the student may comment)."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    video = make_mp4(tmp_path / "lesson.mp4", width=320, height=240, seconds=20)
    give_login(app, world.people["teacher_a1"])
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published",
                                visibility="school")
        store_ready_file(lesson_id, video.read_bytes(), original_name="认识时间-课堂实录.mp4")
        student_id = add_person(world.schools["a1"], name="林小雨", born=birthday_years_ago(12), consent=True)
        login = db.session.get(User, student_id).login_name
    return {"lesson_id": lesson_id, "student_login": login}


def _video_time(page) -> float:
    return page.evaluate("() => document.querySelector('video.player').currentTime")


def test_student_finds_a_teacher_watches_leaves_resumes_and_comments(app, world, journey, open_browser,
                                                                      minio_server):
    from learnspace.extensions import db
    from learnspace.study.models import WatchProgress

    minio = (f"http://{minio_server['endpoint']}",)  # presigned playback URLs point the <video> there
    lesson_path = f"/lessons/{journey['lesson_id']}"

    # --- find the teacher through the school page ---------------------------------------------------------
    visit = open_browser(allow=minio)
    page = sign_in(visit, journey["student_login"], PASSWORD)
    with page.expect_navigation():
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="浏览空间").click()
    for place in ("湖南省", "长沙市", "芙蓉区"):
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("^" + place)).first.click()
    with page.expect_navigation():
        page.get_by_role("link", name="芙蓉区第一小学").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("芙蓉区第一小学")
    visit.shot("school")
    with page.expect_navigation():
        page.locator("#teachers").get_by_role("link", name=re.compile("李老师")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("李老师")
    visit.shot("teacher-space")

    # --- watch part of a lesson ---------------------------------------------------------------------------
    with page.expect_navigation():
        page.get_by_role("link", name=TITLE).first.click()
    expect(page).to_have_url(re.compile(re.escape(lesson_path) + "$"))
    expect(page.locator("#learning")).to_contain_text("观看进度会自动保存")
    page.wait_for_function("() => document.querySelector('video.player').readyState >= 1", timeout=20_000)
    page.evaluate("() => { const v = document.querySelector('video.player'); v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video.player').currentTime > 6.5", timeout=20_000)
    with page.expect_response(lambda r: r.url.endswith(f"/api/lessons/{journey['lesson_id']}/progress")) as saved:
        page.evaluate("() => document.querySelector('video.player').pause()")
    assert saved.value.status == 200, saved.value.text()
    stopped = _video_time(page)
    assert 6.5 < stopped < 19, stopped
    visit.shot("watching")

    # --- leave: the position is on the server, and the space offers to continue -------------------------------
    with page.expect_navigation():
        page.get_by_role("link", name="我的空间").first.click()
    history = page.locator("#watch-history")
    expect(history).to_contain_text(TITLE)
    expect(history.get_by_role("link", name=re.compile("^从 0:0\\d 继续$"))).to_be_visible()
    expect(page.locator("#week-summary")).to_contain_text("节课程")
    visit.shot("my-space")
    visit.close()
    with app.app_context():
        stored = db.session.scalar(db.select(WatchProgress.position_seconds))
    assert abs(stored - stopped) < 0.6, (stored, stopped)

    # --- come back another day on a phone: resume at the same position --------------------------------------
    phone = open_browser(PHONE, allow=minio)
    ppage = sign_in(phone, journey["student_login"], PASSWORD, shot_name="login-again")
    with ppage.expect_navigation():
        ppage.locator("#watch-history").get_by_role("link", name=re.compile("继续$")).click()
    expect(ppage.locator("#resume-hint")).to_contain_text("上次看到")
    ppage.wait_for_function("() => document.querySelector('video.player').readyState >= 1", timeout=20_000)
    ppage.wait_for_function("() => document.querySelector('video.player').currentTime > 1", timeout=10_000)
    resumed = _video_time(ppage)
    assert abs(resumed - stopped) < 0.6, (resumed, stopped)
    phone.shot("resumed")

    # --- leave a comment ------------------------------------------------------------------------------
    ppage.get_by_label("评论内容").fill("老师，我在 0:0" + str(int(stopped))[-1] + " 这里没听懂秒针和分针的关系。")
    with ppage.expect_navigation():
        ppage.get_by_role("button", name="发布", exact=True).click()
    expect(ppage.locator(".comment-body").filter(has_text="没听懂秒针和分针的关系")).to_be_visible()
    size = phone.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    phone.shot("commented")
