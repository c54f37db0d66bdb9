"""The student part of a space page for each kind of viewer, and the school admin's consent page."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.fixtures.helpers import csrf_token
from tests.fixtures.lessons import make_lesson
from tests.fixtures.people import signed_in
from tests.study.people import add_person, birthday_years_ago


@pytest.fixture
def klass(app, world):
    """Class 三年级1班 at a1: Wang (15), Chen (12, consented), Kid (10, restricted); Zhou in 2班; a teacher; a lesson."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.study import operations

    with app.app_context():
        a1 = world.schools["a1"]
        ids = {
            "teacher": add_person(a1, "teacher", name="刘老师"),
            "wang": add_person(a1, name="王同学", born=birthday_years_ago(15)),
            "chen": add_person(a1, name="陈同学", born=birthday_years_ago(12), consent=True),
            "kid": add_person(a1, name="小小同学", born=birthday_years_ago(10)),
            "zhou": add_person(a1, name="周同学", class_name="2班", born=birthday_years_ago(15)),
        }
        ids["lesson"] = make_lesson(ids["teacher"], a1, status="published")
        wang = db.session.get(User, ids["wang"])
        lesson = db.session.get(Lesson, ids["lesson"])
        operations.record_progress(wang, lesson, 300, 1200, played=30)
        operations.add_favourite(wang, lesson)
        operations.add_note(wang, lesson, "只给自己看的笔记")
        operations.add_note(wang, lesson, "可以分享的心得", "space")
        db.session.commit()
        ids["login"] = {k: db.session.get(User, v).login_name for k, v in ids.items() if k != "lesson"}
    return ids


def _space(client, person_id):
    return client.get(f"/people/{person_id}/space", follow_redirects=True)


def test_the_owner_sees_everything_with_resume_and_classmates_to_follow(app, klass):
    page = _space(signed_in(app, klass["login"]["wang"]), klass["wang"]).get_data(as_text=True)
    for part in ('id="week-summary"', "继续学习", "从 5:00 继续", "只给自己看的笔记", "可以分享的心得", 'id="classmates"'):
        assert part in page, part
    classmates = page[page.index('id="classmates"'):]
    assert "陈同学" in classmates and "＋ 关注" in classmates
    assert "小小同学" not in classmates  # restricted: not listed
    assert "周同学" not in classmates  # another class


def test_following_a_classmate_from_the_list(app, klass):
    client = signed_in(app, klass["login"]["wang"])
    page = _space(client, klass["wang"]).get_data(as_text=True)
    form = page[page.index('id="classmates"'):]
    action = form[form.index('action="') + 8:]
    action = action[:action.index('"')]
    response = client.post(action, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 302
    page = _space(client, klass["wang"]).get_data(as_text=True)
    assert "已关注" in page[page.index('id="classmates"'):]


def test_teacher_sees_learning_record_but_not_private_notes(app, klass):
    page = _space(signed_in(app, klass["login"]["teacher"]), klass["wang"]).get_data(as_text=True)
    assert "本周学习情况" in page and "学习记录" in page and "看到 5:00" in page
    assert "可以分享的心得" in page and "只给自己看的笔记" not in page
    assert 'id="classmates"' not in page


def test_classmate_sees_favourites_and_shared_notes_only(app, klass):
    page = _space(signed_in(app, klass["login"]["chen"]), klass["wang"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "认识时间" in html and "可以分享的心得" in html
    assert "只给自己看的笔记" not in html and 'id="week-summary"' not in html and 'id="watch-history"' not in html


def test_restricted_classmate_neither_sees_nor_is_seen(app, klass):
    kid = signed_in(app, klass["login"]["kid"])
    assert _space(kid, klass["wang"]).status_code in (403, 404)
    wang = signed_in(app, klass["login"]["wang"])
    assert _space(wang, klass["kid"]).status_code in (403, 404)
    own = _space(kid, klass["kid"]).get_data(as_text=True)
    assert "受限模式" in own and 'id="classmates"' not in own


def test_other_class_student_cannot_open_the_space(app, klass):
    assert _space(signed_in(app, klass["login"]["zhou"]), klass["wang"]).status_code in (403, 404)


# --- the consent page ------------------------------------------------------------------------------

def _consent_url(world, school="a1"):
    return f"/admin/schools/{world.schools[school]}/consent"


def test_school_admin_records_consent_and_the_student_leaves_restricted_mode(app, world, klass):
    from learnspace.accounts.consent import is_restricted
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    admin = signed_in(app, world.admins["school_a1"])
    page = admin.get(_consent_url(world))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "小小同学" in html and "王同学" not in html  # 15: not restricted
    assert "张小明" in html and "未满 14 周岁" in html  # the world's student, born 2015
    response = admin.post(f"{_consent_url(world)}/{klass['kid']}",
                          data={"csrf_token": csrf_token(html), "guardian_name": "李妈妈", "relation": "母亲",
                                "given_on": "2026-01-05"}, follow_redirects=True)
    assert "已登记小小同学的监护人同意" in response.get_data(as_text=True)
    with app.app_context():
        assert not is_restricted(db.session.get(User, klass["kid"]))
    html = admin.get(_consent_url(world) + "?show=consented").get_data(as_text=True)
    assert "李妈妈（母亲）" in html and "2026年1月5日" in html and "一小管理员登记" in html


def test_the_consent_page_shows_no_id_numbers_or_birth_dates(app, world, klass):
    admin = signed_in(app, world.admins["school_a1"])
    html = admin.get(_consent_url(world) + "?show=all").get_data(as_text=True)
    assert "20150101" not in html and "430102" not in html.replace(world.schools["a1"], "")


def test_withdrawing_consent_restricts_again(app, world, klass):
    from learnspace.accounts.consent import is_restricted
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    admin = signed_in(app, world.admins["school_a1"])
    html = admin.get(_consent_url(world) + "?show=consented").get_data(as_text=True)
    response = admin.post(f"{_consent_url(world)}/{klass['chen']}/withdraw", data={"csrf_token": csrf_token(html)})
    assert response.status_code == 302
    with app.app_context():
        assert is_restricted(db.session.get(User, klass["chen"]))


@pytest.mark.parametrize("who", ["school_b1", "county_b"])
def test_admins_outside_the_school_are_refused_and_nothing_is_stored(app, world, klass, who):
    from learnspace.accounts.models import GuardianConsent
    from learnspace.extensions import db

    admin = signed_in(app, world.admins[who])
    assert admin.get(_consent_url(world)).status_code == 403
    token = csrf_token(admin.get(_consent_url(world, "b1")).get_data(as_text=True))  # their own school's form
    response = admin.post(f"{_consent_url(world)}/{klass['kid']}",
                          data={"csrf_token": token, "guardian_name": "某人", "relation": "父亲",
                                "given_on": "2026-01-05"})
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GuardianConsent)) == 1  # chen's only


def test_county_admin_may_record_and_a_student_of_another_school_is_404(app, world, klass):
    admin = signed_in(app, world.admins["county_a"])
    html = admin.get(_consent_url(world)).get_data(as_text=True)
    other = world.people["student_b1"]
    response = admin.post(f"{_consent_url(world)}/{other}", data={"csrf_token": csrf_token(html),
                          "guardian_name": "某人", "relation": "父亲", "given_on": "2026-01-05"})
    assert response.status_code == 404


def test_teachers_and_students_cannot_open_the_consent_page(app, world, klass):
    for who in ("teacher", "wang"):
        assert signed_in(app, klass["login"][who]).get(_consent_url(world)).status_code == 403


def test_a_bad_consent_form_says_why_and_stores_nothing(app, world, klass):
    from learnspace.accounts.consent import today
    from learnspace.accounts.models import GuardianConsent
    from learnspace.extensions import db

    admin = signed_in(app, world.admins["school_a1"])
    html = admin.get(_consent_url(world)).get_data(as_text=True)
    with app.app_context():
        tomorrow = (today() + timedelta(days=1)).isoformat()
    response = admin.post(f"{_consent_url(world)}/{klass['kid']}", follow_redirects=True,
                          data={"csrf_token": csrf_token(html), "guardian_name": "李妈妈", "relation": "母亲",
                                "given_on": tomorrow})
    assert "同意日期不能晚于今天" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(GuardianConsent)) == 1
