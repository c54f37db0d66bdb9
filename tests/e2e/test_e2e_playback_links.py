"""A recording keeps playing across the expiry of its short-lived MinIO link, and stops once the lesson is withdrawn.

The served app's links live 3 seconds here (60 in production). After that, seeking into a part of the video
the browser has not fetched yet needs a new request, which MinIO refuses; static/js/player.js asks the app for
a fresh link and the video plays on from the same time. Once the lesson is withdrawn, the app refuses the
renewal and the player says so.
"""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import _ffmpeg, store_ready_file
from tests.fixtures.people import give_login

from .harness import sign_in

pytestmark = pytest.mark.e2e

LIFETIME = 3
VIDEO = "document.querySelector('video.player')"


def long_recording(path):
    """A 2-minute 320×240 H.264 MP4 of about 15 MB at 5 frames a second (quick to make): more than Chromium
    fetches ahead, so a far seek needs a new request."""
    _ffmpeg("-f", "lavfi", "-i", "testsrc2=size=320x240:rate=5:duration=120", "-vf", "noise=alls=30:allf=t",
            "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-b:v", "1M", "-maxrate", "1M",
            "-bufsize", "1M", "-an", "-movflags", "+faststart", str(path))
    return path.read_bytes()


@pytest.fixture
def short_links(app, monkeypatch):
    """The served app's presigned links live LIFETIME seconds for this test."""
    monkeypatch.setattr(app.config["LEARNSPACE"], "presign_seconds", LIFETIME)


def test_the_video_plays_on_across_a_link_expiry_and_stops_after_withdrawal(app, world, short_links, open_browser,
                                                                            minio_server, tmp_path):
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson

    data = long_recording(tmp_path / "lesson.mp4")
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published",
                                visibility="school")
        file_id = store_ready_file(lesson_id, data, original_name="认识时间-课堂实录.mp4")
    login = give_login(app, world.people["student_a1"])

    visit = open_browser(allow=(f"http://{minio_server['endpoint']}",))
    page = sign_in(visit, login, "Passw0rd-test")
    renewals: list[int] = []
    page.on("response", lambda r: renewals.append(r.status) if r.url.endswith(f"/files/{file_id}/play-url") else None)
    page.goto(f"/lessons/{lesson_id}")
    loaded = time.monotonic()
    page.wait_for_function(f"() => {VIDEO}.readyState >= 1", timeout=10_000)
    assert page.evaluate(f"() => {VIDEO}.currentSrc").endswith(f"/files/{file_id}/play")  # redirected to MinIO
    page.evaluate(f"() => {{ const v = {VIDEO}; v.muted = true; return v.play(); }}")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 0.5", timeout=10_000)

    # --- the link expires while it plays; a seek to a part not fetched yet needs a new one ------------------
    time.sleep(max(0.0, LIFETIME + 0.5 - (time.monotonic() - loaded)))
    page.evaluate(f"() => {{ {VIDEO}.currentTime = 100; }}")
    page.wait_for_function(f"() => {VIDEO}.currentTime > 101 && !{VIDEO}.paused", timeout=10_000)
    assert renewals and set(renewals) == {200}
    assert "X-Amz-Expires=3&" in page.evaluate(f"() => {VIDEO}.currentSrc")  # the fresh link, straight to MinIO
    expect(page.locator(".player-note")).to_have_count(0)
    visit.shot("playing-on-a-renewed-link")

    # --- withdrawn: the renewal is refused and the viewer is told ------------------------------------------
    with app.app_context():
        operations.withdraw(db.session.get(Lesson, lesson_id))
        db.session.commit()
    time.sleep(LIFETIME + 0.5)
    page.evaluate(f"() => {{ {VIDEO}.currentTime = 60; }}")
    expect(page.locator(".player-note")).to_have_text("这节课已撤回或不再对您开放，无法继续播放。", timeout=10_000)
    assert renewals[-1] == 404
    assert page.evaluate(f"() => {VIDEO}.paused")
    visit.shot("withdrawn-while-watching")
    page.close()  # its last progress report (pagehide) goes out while the lesson still exists
