"""Watch progress and resume, minutes counted by the server, favourites, notes private by default."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.fixtures.helpers import csrf_token
from tests.fixtures.lessons import make_lesson
from tests.fixtures.people import signed_in
from tests.fixtures.world import PASSWORD
from tests.study.people import add_person, birthday_years_ago, user


@pytest.fixture
def school(app, world):
    """Teacher and two students (one 15, one 10 without consent) at a1; a published school lesson; a draft."""
    with app.app_context():
        a1 = world.schools["a1"]
        ids = {
            "teacher": add_person(a1, "teacher", name="刘老师"),
            "teen": add_person(a1, name="高同学", born=birthday_years_ago(15)),
            "kid": add_person(a1, name="小同学", born=birthday_years_ago(10)),
            "other": add_person(world.schools["b1"], name="外校同学", born=birthday_years_ago(15)),
        }
        ids["lesson"] = make_lesson(ids["teacher"], a1, status="published", visibility="school")
        ids["draft"] = make_lesson(ids["teacher"], a1, status="draft")
        from learnspace.accounts.models import User
        from learnspace.extensions import db
        ids["logins"] = {k: db.session.get(User, v).login_name for k, v in ids.items()
                         if k in ("teacher", "teen", "kid", "other")}
    return ids


def _token(client, lesson_id):
    page = client.get(f"/lessons/{lesson_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html, csrf_token(html)


def _report(client, lesson_id, token, **body):
    return client.post(f"/api/lessons/{lesson_id}/progress", data=json.dumps(body),
                       headers={"Content-Type": "application/json", "X-CSRFToken": token})


def test_progress_is_saved_and_offered_as_resume_point(app, school):
    client = signed_in(app, school["logins"]["teen"], PASSWORD)
    html, token = _token(client, school["lesson"])
    assert 'id="learning"' in html and "data-resume" not in html and "watch-progress.js" in html
    response = _report(client, school["lesson"], token, position=754.2, duration=2400, played=9.8)
    assert response.status_code == 200, response.get_data(as_text=True)
    html, _ = _token(client, school["lesson"])
    assert 'data-resume="754.2"' in html and "上次看到 <b>12:34</b>" in html


def test_progress_without_csrf_token_is_refused_and_nothing_stored(app, school):
    from learnspace.study.models import WatchProgress

    client = signed_in(app, school["logins"]["teen"], PASSWORD)
    response = client.post(f"/api/lessons/{school['lesson']}/progress", json={"position": 10})
    assert response.status_code == 400
    with app.app_context():
        from learnspace.extensions import db
        assert db.session.scalar(select(func.count()).select_from(WatchProgress)) == 0


def test_progress_from_a_beacon_form_is_accepted(app, school):
    client = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(client, school["lesson"])
    response = client.post(f"/api/lessons/{school['lesson']}/progress",
                           data={"position": "61.5", "played": "5", "csrf_token": token})
    assert response.status_code == 200 and response.json["position"] == 61.5


@pytest.mark.parametrize("body, message", [({"position": -3}, "不小于 0"), ({"position": "abc"}, "应为数字"),
                                           ({"position": "nan"}, "不小于 0"), ({}, "缺少播放位置")])
def test_bad_progress_reports_are_refused_in_json(app, school, body, message):
    client = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(client, school["lesson"])
    response = _report(client, school["lesson"], token, **body)
    assert response.status_code == 400 and message in response.json["error"]


def test_progress_on_a_lesson_the_viewer_cannot_see_is_404_and_anonymous_is_refused(app, school):
    from learnspace.study.models import WatchProgress

    teen = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(teen, school["lesson"])
    assert _report(teen, school["draft"], token, position=5).status_code == 404
    other = signed_in(app, school["logins"]["other"], PASSWORD)  # another school: the lesson is school-only
    other_token = csrf_token(other.get("/space").get_data(as_text=True))
    assert _report(other, school["lesson"], other_token, position=5).status_code == 404
    anonymous = app.test_client()
    anon_token = csrf_token(anonymous.get("/login").get_data(as_text=True))
    response = _report(anonymous, school["lesson"], anon_token, position=5)
    assert response.status_code == 403 and "请先登录" in response.json["error"]
    with app.app_context():
        from learnspace.extensions import db
        assert db.session.scalar(select(func.count()).select_from(WatchProgress)) == 0


def test_minutes_are_capped_by_wall_clock_time(ctx, school):
    """A player claiming ten minutes in two reports 10 s apart gets 60 s + 15 s, not 20 minutes."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.study import operations

    teen, lesson = user(school["teen"]), db.session.get(Lesson, school["lesson"])
    start = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)  # a Wednesday, 10:00 in Shanghai
    operations.record_progress(teen, lesson, 600, 2400, played=600, at=start)
    operations.record_progress(teen, lesson, 1200, 2400, played=600, at=start + timedelta(seconds=10))
    db.session.commit()
    summary = operations.weekly_summary(teen, at=start)
    assert summary["lessons"] == 1
    assert summary["minutes"] == round((60 + 15) / 60)
    from learnspace.study.models import WatchDay
    assert db.session.scalar(select(WatchDay.seconds)) == pytest.approx(75)


def test_weekly_summary_uses_shanghai_weeks(ctx, school):
    """Sunday 23:30 in Shanghai (15:30 UTC) belongs to that week; Monday 00:30 (Sunday 16:30 UTC) to the next."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.study import operations

    teen, lesson = user(school["teen"]), db.session.get(Lesson, school["lesson"])
    sunday_late = datetime(2026, 11, 29, 15, 30, tzinfo=timezone.utc)
    monday_early = datetime(2026, 11, 29, 16, 30, tzinfo=timezone.utc)
    operations.record_progress(teen, lesson, 60, played=60, at=sunday_late)
    operations.record_progress(teen, lesson, 120, played=60, at=monday_early)
    db.session.commit()
    this_week = operations.weekly_summary(teen, at=sunday_late)
    next_week = operations.weekly_summary(teen, at=monday_early)
    assert str(this_week["week_start"]) == "2026-11-23" and this_week["minutes"] == 1
    assert str(next_week["week_start"]) == "2026-11-30" and next_week["minutes"] == 1
    assert next_week["last_week_minutes"] == 1


def test_watching_counts_as_activity_once_per_lesson_and_day(ctx, school):
    from learnspace.activity.models import ActivityDay
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.study import operations

    teen, lesson = user(school["teen"]), db.session.get(Lesson, school["lesson"])
    at = datetime(2026, 11, 25, 2, 0, tzinfo=timezone.utc)
    for step in range(5):
        operations.record_progress(teen, lesson, 10 * step, played=10, at=at + timedelta(seconds=10 * step))
    db.session.commit()
    assert db.session.scalar(select(ActivityDay.count).where(ActivityDay.user_id == teen.id,
                                                            ActivityDay.kind == "watch")) == 1


def test_finishing_a_lesson_restarts_it_next_time(ctx, school):
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.study import operations

    teen, lesson = user(school["teen"]), db.session.get(Lesson, school["lesson"])
    operations.record_progress(teen, lesson, 2398, 2400, played=10)
    assert operations.resume_position(teen, lesson) is None
    operations.record_progress(teen, lesson, 3000, 2400, played=0)  # clamped to the duration
    assert operations.progress_of(teen, lesson).position_seconds == 2400


def test_favourite_add_and_remove_through_the_page(app, school):
    client = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(client, school["lesson"])
    response = client.post(f"/lessons/{school['lesson']}/favourite", data={"csrf_token": token, "action": "add"})
    assert response.status_code == 302
    html, token = _token(client, school["lesson"])
    assert "★ 已收藏" in html
    space = client.get("/space").get_data(as_text=True)
    assert 'id="favourites"' in space and "认识时间" in space
    client.post(f"/lessons/{school['lesson']}/favourite", data={"csrf_token": token, "action": "remove"})
    assert "☆ 收藏" in client.get(f"/lessons/{school['lesson']}").get_data(as_text=True)


def test_favourite_of_a_lesson_one_cannot_see_is_404(app, school):
    client = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(client, school["lesson"])
    assert client.post(f"/lessons/{school['draft']}/favourite", data={"csrf_token": token}).status_code == 404


def test_notes_are_private_by_default_and_escaped(app, school):
    teen = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(teen, school["lesson"])
    teen.post(f"/lessons/{school['lesson']}/notes",
              data={"csrf_token": token, "body": "<script>alert(1)</script> 第二题", "position": "75"})
    html = teen.get(f"/lessons/{school['lesson']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt; 第二题" in html and "<script>alert(1)" not in html
    assert "1:15" in html and "仅自己" in html
    # the teacher sees the student's space, but not the private note
    teacher = signed_in(app, school["logins"]["teacher"], PASSWORD)
    space = teacher.get(f"/people/{school['teen']}/space", follow_redirects=True)
    assert space.status_code == 200 and "第二题" not in space.get_data(as_text=True)


def test_shared_note_shows_in_the_space_for_those_who_see_it(app, school):
    teen = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(teen, school["lesson"])
    teen.post(f"/lessons/{school['lesson']}/notes",
              data={"csrf_token": token, "body": "公开的心得", "visibility": "space"})
    teacher = signed_in(app, school["logins"]["teacher"], PASSWORD)
    space = teacher.get(f"/people/{school['teen']}/space", follow_redirects=True).get_data(as_text=True)
    assert "公开的心得" in space


def test_a_shared_note_with_a_blocked_word_is_refused_naming_it_but_a_private_one_is_kept(app, school):
    """Others read shared notes, so the blocked-word list applies to them; a private note is the pupil's own."""
    from learnspace.extensions import db
    from learnspace.moderation import operations as moderation
    from learnspace.study.models import LessonNote

    with app.app_context():
        moderation.add_terms("脑残")
        db.session.commit()
    teen = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(teen, school["lesson"])
    refused = teen.post(f"/lessons/{school['lesson']}/notes", follow_redirects=True,
                        data={"csrf_token": token, "body": "这题真是腦 殘", "visibility": "space"})
    assert "“脑残”" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LessonNote)) == 0
    teen.post(f"/lessons/{school['lesson']}/notes",
              data={"csrf_token": token, "body": "这题真是腦 殘", "visibility": "private"})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(LessonNote)) == 1


def test_restricted_student_cannot_share_notes_and_nothing_is_stored(app, school):
    from learnspace.study.models import LessonNote

    kid = signed_in(app, school["logins"]["kid"], PASSWORD)
    html, token = _token(kid, school["lesson"])
    assert "笔记仅自己可见" in html and 'value="space"' not in html
    response = kid.post(f"/lessons/{school['lesson']}/notes",
                        data={"csrf_token": token, "body": "想分享", "visibility": "space"}, follow_redirects=True)
    assert "受限模式下笔记只能仅自己可见" in response.get_data(as_text=True)
    with app.app_context():
        from learnspace.extensions import db
        assert db.session.scalar(select(func.count()).select_from(LessonNote)) == 0


def test_notes_belong_to_their_writer(app, school):
    """Another student can neither delete nor change someone's note (404, note unchanged)."""
    from learnspace.study.models import LessonNote

    teen = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(teen, school["lesson"])
    teen.post(f"/lessons/{school['lesson']}/notes", data={"csrf_token": token, "body": "我的笔记"})
    with app.app_context():
        from learnspace.extensions import db
        note_id = db.session.scalar(select(LessonNote.id))
    kid = signed_in(app, school["logins"]["kid"], PASSWORD)
    _, kid_token = _token(kid, school["lesson"])
    assert kid.post(f"/notes/{note_id}/delete", data={"csrf_token": kid_token}).status_code == 404
    assert kid.post(f"/notes/{note_id}/update", data={"csrf_token": kid_token, "body": "改掉",
                                                      "visibility": "private"}).status_code == 404
    with app.app_context():
        from learnspace.extensions import db
        assert db.session.get(LessonNote, note_id).body == "我的笔记"


@pytest.mark.parametrize("body, message", [("   ", "笔记内容不能为空"), ("字" * 2001, "不能超过 2000 字")])
def test_bad_notes_are_refused(app, school, body, message):
    teen = signed_in(app, school["logins"]["teen"], PASSWORD)
    _, token = _token(teen, school["lesson"])
    response = teen.post(f"/lessons/{school['lesson']}/notes", data={"csrf_token": token, "body": body},
                         follow_redirects=True)
    assert message in response.get_data(as_text=True)


def test_anonymous_and_owner_get_no_learning_panel(app, school):
    anonymous = app.test_client()
    from learnspace.extensions import db  # noqa: F401
    teacher = signed_in(app, school["logins"]["teacher"], PASSWORD)
    assert 'id="learning"' not in teacher.get(f"/lessons/{school['lesson']}").get_data(as_text=True)
    with app.app_context():
        from learnspace.lessons.models import Lesson
        lesson = db.session.get(Lesson, school["lesson"])
        lesson.visibility = "public"
        db.session.commit()
    assert 'id="learning"' not in anonymous.get(f"/lessons/{school['lesson']}").get_data(as_text=True)
