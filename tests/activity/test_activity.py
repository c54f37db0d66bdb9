"""The one record of active use: one row per person, local day and kind; sign-in, upload and publish count."""
from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from learnspace.accounts.models import User
from learnspace.activity import operations as activity
from learnspace.activity.models import ActivityDay
from learnspace.extensions import db
from tests.fixtures.people import give_login, signed_in


def rows(user_id):
    return db.session.execute(select(ActivityDay.day, ActivityDay.kind, ActivityDay.count)
                              .where(ActivityDay.user_id == user_id).order_by(ActivityDay.day)).all()


def test_repeated_actions_raise_the_count_of_one_row(ctx, world):
    teacher = db.session.get(User, world.people["teacher_a1"])
    at = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
    for _ in range(3):
        activity.record(teacher, "watch", at)
    db.session.commit()
    assert rows(teacher.id) == [(date(2026, 11, 29), "watch", 3)]


def test_the_day_is_the_day_in_china_not_in_utc(ctx, world):
    """16:30 UTC is 00:30 the next morning in Beijing: that action belongs to the next day."""
    student = db.session.get(User, world.people["student_a1"])
    activity.record(student, "watch", datetime(2026, 11, 29, 15, 59, tzinfo=timezone.utc))
    activity.record(student, "watch", datetime(2026, 11, 29, 16, 30, tzinfo=timezone.utc))
    db.session.commit()
    assert rows(student.id) == [(date(2026, 11, 29), "watch", 1), (date(2026, 11, 30), "watch", 1)]
    assert activity.days_active(student.id, date(2026, 11, 30)) == [date(2026, 11, 30)]


def test_an_unknown_kind_is_refused_and_writes_nothing(ctx, world):
    student = db.session.get(User, world.people["student_a1"])
    with pytest.raises(ValueError):
        activity.record(student, "page_view")
    assert db.session.scalar(select(func.count()).select_from(ActivityDay)) == 0


def test_signing_in_counts_as_active_use(app, world):
    login_name = give_login(app, world.people["teacher_a1"])
    signed_in(app, login_name)
    with app.app_context():
        assert [kind for _day, kind, _n in rows(world.people["teacher_a1"])] == ["sign_in"]
        assert set(activity.last_active([world.people["teacher_a1"]])) == {world.people["teacher_a1"]}


def test_concurrent_records_of_the_same_person_never_fail_or_lose_a_count(app, world):
    """Several workers recording the same (person, day, kind) at once: one row, every action counted."""
    user_id = world.people["student_a1"]
    errors = []

    def work():
        try:
            with app.app_context():
                user = db.session.get(User, user_id)
                for _ in range(5):
                    activity.record(user, "watch")
                    db.session.commit()
        except Exception as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with app.app_context():
        assert [(kind, n) for _day, kind, n in rows(user_id)] == [("watch", 20)]
