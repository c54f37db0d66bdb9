"""Activation with a one-time code at /activate, and the one-space-per-person guarantee."""
from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from tests.fixtures.helpers import login
from tests.fixtures.people import activate_with_code, audit_log, codes_from_html, issue_codes, signed_in

NEW_PASSWORD = "Space2026ok"


def _codes_for_class(app, world, school="a1", grade="三年级", class_name="1班", admin="school_a1", confirm=False):
    admin_client = signed_in(app, world.admins[admin])
    response = issue_codes(admin_client, world.schools[school], grade, class_name, confirm=confirm)
    assert response.status_code == 200
    return codes_from_html(response.get_data(as_text=True))


def _spaces_of(app, person_id):
    from learnspace.extensions import db
    from learnspace.spaces.models import Space

    with app.app_context():
        return list(db.session.scalars(select(Space).where(Space.owner_id == person_id)))


def _user(app, person_id):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        user = db.session.get(User, person_id)
        db.session.expunge(user)
        return user


def test_student_activates_with_name_code_and_password_and_lands_in_a_new_space(app, client, world):
    """Name + code + password: redirect to /space, which shows the new space; the space row exists."""
    code = _codes_for_class(app, world)["张小明"]
    response = activate_with_code(client, "张小明", code)
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    page = client.get("/space")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "张小明的个人空间" in html and "芙蓉区第一小学" in html
    [space] = _spaces_of(app, world.people["student_a1"])
    assert space.activation_method == "code"
    assert space.activated_dt > datetime.now(timezone.utc) - timedelta(minutes=5)
    assert space.activated_school_id is not None


def test_activated_student_signs_in_later_with_student_number_and_new_password(app, client, world):
    """After activation the login name is the student number and the chosen password works."""
    code = _codes_for_class(app, world)["张小明"]
    activate_with_code(client, "张小明", code, password=NEW_PASSWORD)
    student = _user(app, world.people["student_a1"])
    assert student.login_name == student.student_number
    fresh = app.test_client()
    assert login(fresh, student.login_name, NEW_PASSWORD).status_code == 302
    assert fresh.get("/space").status_code == 200


def test_teacher_activates_and_gets_teacher_number_as_login(app, client, world):
    """Teachers (no grade or class on the roster) get codes too and log in with their teacher number."""
    codes = _codes_for_class(app, world, grade="", class_name="")
    assert set(codes) == {"李老师"}
    assert activate_with_code(client, "李老师", codes["李老师"]).status_code == 302
    assert _user(app, world.people["teacher_a1"]).login_name == "T4301020001001"
    assert len(_spaces_of(app, world.people["teacher_a1"])) == 1


def test_code_is_accepted_in_lowercase_and_without_dashes(app, client, world):
    """Children type codes as they like: case and dashes or spaces do not matter."""
    code = _codes_for_class(app, world)["张小明"]
    typed = code.replace("-", " ").lower()
    assert activate_with_code(client, " 张小明 ", typed).status_code == 302


def test_code_is_single_use(app, world):
    """A used code cannot activate again, not even with the same name."""
    code = _codes_for_class(app, world)["张小明"]
    assert activate_with_code(app.test_client(), "张小明", code).status_code == 302
    again = activate_with_code(app.test_client(), "张小明", code, password="Other2026pw")
    assert again.status_code == 400
    assert "激活码已使用" in again.get_data(as_text=True)
    # the first password still works: the second attempt changed nothing
    student = _user(app, world.people["student_a1"])
    assert login(app.test_client(), student.login_name, NEW_PASSWORD).status_code == 302


def test_wrong_name_is_refused_and_the_code_stays_usable(app, client, world):
    """The code is bound to one person: another name is refused; the right name still works after."""
    code = _codes_for_class(app, world)["张小明"]
    refused = activate_with_code(client, "王小红", code)
    assert refused.status_code == 400
    assert "姓名或激活码不正确" in refused.get_data(as_text=True)
    assert _spaces_of(app, world.people["student_a1"]) == []
    assert _user(app, world.people["student_a1"]).password_hash is None
    assert activate_with_code(app.test_client(), "张小明", code).status_code == 302


def test_expired_code_is_refused(app, client, world):
    """A code past its expiry date no longer activates."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    code = _codes_for_class(app, world)["张小明"]
    with app.app_context():
        db.session.execute(update(ActivationCode).values(expires_dt=datetime.now(timezone.utc) - timedelta(minutes=1)))
        db.session.commit()
    response = activate_with_code(client, "张小明", code)
    assert response.status_code == 400
    assert "已过期" in response.get_data(as_text=True)
    assert _spaces_of(app, world.people["student_a1"]) == []


def test_codes_expire_after_the_configured_number_of_days(app, world):
    """New codes are valid for LEARNSPACE_ACTIVATION_CODE_DAYS (30 by default) from now."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    _codes_for_class(app, world)
    days = app.config["LEARNSPACE"].activation_code_days
    with app.app_context():
        expires = db.session.scalar(select(ActivationCode.expires_dt))
    expected = datetime.now(timezone.utc) + timedelta(days=days)
    assert abs(expires - expected) < timedelta(minutes=5)


def test_regenerated_code_invalidates_the_older_one(app, world):
    """Generating codes again for a class (confirmed) makes the earlier, unused codes stop working."""
    old = _codes_for_class(app, world)["张小明"]
    new = _codes_for_class(app, world, confirm=True)["张小明"]
    assert old != new
    refused = activate_with_code(app.test_client(), "张小明", old)
    assert refused.status_code == 400
    assert activate_with_code(app.test_client(), "张小明", new).status_code == 302


def test_disabled_person_cannot_activate(app, client, world):
    """A code printed before the account was disabled no longer activates it."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    code = _codes_for_class(app, world)["张小明"]
    with app.app_context():
        db.session.get(User, world.people["student_a1"]).is_disabled = True
        db.session.commit()
    assert activate_with_code(client, "张小明", code).status_code == 400
    assert _spaces_of(app, world.people["student_a1"]) == []


def test_weak_password_is_refused_and_does_not_use_up_the_code(app, client, world):
    """A too-weak new password is explained in Chinese; the code stays valid for a retry."""
    code = _codes_for_class(app, world)["张小明"]
    refused = activate_with_code(client, "张小明", code, password="12345678")
    assert refused.status_code == 400
    assert "这个密码太容易被猜到" in refused.get_data(as_text=True)
    # Her own student number is refused once the code says who she is; nothing is written, the code stays.
    own = activate_with_code(client, "张小明", code, password="g430102201501010011-ok")
    assert own.status_code == 400
    assert "密码不能包含您的学籍号" in own.get_data(as_text=True)
    assert _user(app, world.people["student_a1"]).login_name is None
    assert activate_with_code(client, "张小明", code).status_code == 302


def test_mismatched_confirmation_is_refused(app, client, world):
    """The password must be typed twice the same."""
    code = _codes_for_class(app, world)["张小明"]
    refused = activate_with_code(client, "张小明", code, confirm="Different2026")
    assert refused.status_code == 400
    assert "两次输入的密码不一致" in refused.get_data(as_text=True)
    assert _spaces_of(app, world.people["student_a1"]) == []


def test_activation_without_csrf_token_is_refused(app, client, world):
    """The activation form is protected against cross-site posts like every other form."""
    code = _codes_for_class(app, world)["张小明"]
    client.get("/activate")
    response = client.post("/activate", data={"real_name": "张小明", "code": code, "password": NEW_PASSWORD,
                                              "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    assert _spaces_of(app, world.people["student_a1"]) == []


def test_code_guessing_is_slowed_per_address(make_app, world):
    """Above the per-IP ceiling, even a right code waits a few seconds (not minutes); other addresses do not."""
    from tests.fixtures.people import client_at
    from tests.fixtures.throttle import age_throttle_rows

    limited = make_app(env={"LEARNSPACE_LOGIN_IP_LIMIT": "3"})
    code = _codes_for_class(limited, world)["张小明"]
    guesser = client_at(limited, "192.0.2.50")
    for i in range(3):
        assert activate_with_code(guesser, "张小明", f"AAAA-BBBB-C{i + 2}").status_code == 400
    blocked = activate_with_code(guesser, "张小明", code)
    assert blocked.status_code == 429
    assert "请 2 秒后再试" in blocked.get_data(as_text=True)
    assert _spaces_of(limited, world.people["student_a1"]) == []
    age_throttle_rows(limited, seconds=2)
    assert activate_with_code(guesser, "张小明", code).status_code == 302


# --- the operation: one space per person -------------------------------------------

def test_activate_twice_returns_the_same_space(app, world):
    """spaces.operations.activate is idempotent: the second call returns the first space."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    with app.app_context():
        user = db.session.get(User, world.people["student_b1"])
        first = spaces.activate(user, "code")
        db.session.commit()
        second = spaces.activate(user, "oidc")
        db.session.commit()
        assert first.id == second.id
        assert second.activation_method == "code"
    assert len(_spaces_of(app, world.people["student_b1"])) == 1
    assert [e["action"] for e in audit_log(app)].count("space.activate") == 1


def test_admins_get_no_space(app, world):
    """Only teachers and students own a space; activating an admin is refused."""
    from learnspace.accounts.models import User
    from learnspace.errors import ValidationError
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_a1"]))
        with pytest.raises(ValidationError):
            spaces.activate(admin, "code")


def _activate_in_thread(app, person_id, results, key, before=None, after_flush=None, hold=0.0):
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    try:
        if before is not None:
            before()
        with app.app_context():
            user = db.session.get(User, person_id)
            space = spaces.activate(user, "code")
            if after_flush is not None:
                after_flush()
            time.sleep(hold)
            db.session.commit()
            results[key] = space.id
            db.session.remove()
    except BaseException as exc:  # reported by the main thread
        results[key] = exc


def _run(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), "activation thread hung"


def _space_count(app, person_id):
    from learnspace.extensions import db
    from learnspace.spaces.models import Space

    with app.app_context():
        return db.session.scalar(select(func.count(Space.id)).where(Space.owner_id == person_id))


@pytest.mark.parametrize("person", ["student_a1", "teacher_a1", "student_b1"])
def test_two_simultaneous_activations_create_exactly_one_space(app, world, person):
    """Two requests activating one person at the same moment share one Space row and one id."""
    person_id = world.people[person]
    barrier = threading.Barrier(2)
    results = {}
    _run([threading.Thread(target=_activate_in_thread, args=(app, person_id, results, key),
                           kwargs=dict(before=lambda: barrier.wait(10))) for key in ("a", "b")])
    assert not any(isinstance(v, BaseException) for v in results.values()), results
    assert results["a"] == results["b"]
    assert _space_count(app, person_id) == 1
    assert [e["action"] for e in audit_log(app)].count("space.activate") == 1


def test_activation_racing_an_uncommitted_insert_returns_the_winners_space(app, world):
    """The loser of the race (its insert collides with the winner's) returns the winner's space.

    Worker A inserts the space and holds its transaction open; worker B starts
    only then, so B cannot see A's row yet and must cope with the unique owner
    when A commits (on PostgreSQL B's insert waits and then fails; on SQLite B
    waits for A's write lock and then finds the row).
    """
    person_id = world.people["student_a1"]
    flushed = threading.Event()
    results = {}
    a = threading.Thread(target=_activate_in_thread, args=(app, person_id, results, "a"),
                         kwargs=dict(after_flush=flushed.set, hold=0.5))
    b = threading.Thread(target=_activate_in_thread, args=(app, person_id, results, "b"),
                         kwargs=dict(before=lambda: flushed.wait(10)))
    _run([a, b])
    assert not any(isinstance(v, BaseException) for v in results.values()), results
    assert results["a"] == results["b"]
    assert _space_count(app, person_id) == 1
