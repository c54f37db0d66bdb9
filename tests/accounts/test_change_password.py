"""Changing one's own password at /account/password: current password, policy, other sessions ended, audit."""
from __future__ import annotations

from sqlalchemy import select

from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.people import audit_log, client_at, give_login, signed_in
from tests.fixtures.world import PASSWORD

URL = "/account/password"
NEW = "Hongtaiyang-qilai7-mao"


def _post(client, current, new, confirm=None):
    token = csrf_token(client.get(URL).get_data(as_text=True))
    return client.post(URL, data={"current_password": current, "new_password": new,
                                  "confirm": new if confirm is None else confirm, "csrf_token": token})


def _hash(app, login_name):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.password_hash).where(User.login_name == login_name))


def test_page_shows_the_rule_and_is_linked_from_the_user_menu(app, world):
    """Signed in, the top bar links 修改密码; the page asks for the current password and shows the rule."""
    teacher = give_login(app, world.people["teacher_a1"])
    client = signed_in(app, teacher)
    assert f'href="{URL}"' in client.get("/space").get_data(as_text=True)
    page = client.get(URL).get_data(as_text=True)
    assert "当前密码" in page and "密码要求" in page and "姓名拼音" in page


def test_signed_out_visitors_are_sent_to_login(app, client, world):
    """The page needs a signed-in person."""
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_change_ends_other_sessions_keeps_this_one_and_is_audited(app, world):
    """After a change the other browser is signed out, this one stays; only the new password works."""
    teacher = give_login(app, world.people["teacher_a1"])
    here, elsewhere = signed_in(app, teacher), signed_in(app, teacher, ip="192.0.2.9")
    response = _post(here, PASSWORD, NEW)
    assert response.status_code == 302
    assert "密码已修改" in here.get(URL).get_data(as_text=True)
    assert here.get("/space").status_code == 200
    assert elsewhere.get("/space").status_code == 302  # signed out
    assert login(app.test_client(), teacher, PASSWORD).status_code == 400
    assert login(app.test_client(), teacher, NEW).status_code == 302
    entries = [e for e in audit_log(app) if e["action"] == "user.password_change"]
    assert len(entries) == 1 and entries[0]["result"] == "success"
    assert entries[0]["target"] == f"user:{world.people['teacher_a1']}"
    assert "1 other sessions ended" in entries[0]["detail"]
    assert NEW not in repr(audit_log(app)) and PASSWORD not in repr(audit_log(app))


def test_wrong_current_password_weak_or_own_data_changes_nothing(app, world):
    """Each refusal says why in Chinese; the hash and the other session stay as they were."""
    teacher = give_login(app, world.people["teacher_a1"])
    here, elsewhere = signed_in(app, teacher), signed_in(app, teacher, ip="192.0.2.9")
    before = _hash(app, teacher)
    for current, new, confirm, status, message in [
        ("Not-my-password1", NEW, None, 400, "当前密码不正确"),
        (PASSWORD, "12345678", None, 400, "这个密码太容易被猜到"),
        (PASSWORD, "LiLaoshi-lanmao-7", None, 400, "密码不能包含您的姓名拼音"),
        (PASSWORD, "t4301020001001-Lesson", None, 400, "密码不能包含您的教师编号"),
        (PASSWORD, NEW, "Something-else-9", 400, "两次输入的新密码不一致"),
        (PASSWORD, PASSWORD, None, 400, "新密码不能与当前密码相同"),
    ]:
        response = _post(here, current, new, confirm)
        assert response.status_code == status, message
        assert message in response.get_data(as_text=True)
    assert _hash(app, teacher) == before
    assert elsewhere.get("/space").status_code == 200
    failures = [e for e in audit_log(app) if e["action"] == "user.password_change"]
    assert [e["result"] for e in failures] == ["failure"]  # the wrong current password


def test_guessing_the_current_password_is_throttled_like_sign_in(app, world):
    """A browser left signed in cannot be used to guess the password: wrong current passwords count."""
    teacher = give_login(app, world.people["teacher_a1"])
    here = signed_in(app, teacher, ip="192.0.2.10")
    before = _hash(app, teacher)
    for i in range(5):
        assert _post(here, f"Guess-number-{i}x", NEW).status_code == 400
    slowed = _post(here, PASSWORD, NEW)
    assert slowed.status_code == 429 and "秒后再试" in slowed.get_data(as_text=True)
    results = [e["result"] for e in audit_log(app) if e["action"] == "user.password_change"]
    assert results == ["failure"] * 5 + ["denied"]
    assert _hash(app, teacher) == before
    assert login(client_at(app, "192.0.2.10"), teacher, PASSWORD).status_code == 429  # sign-in waits too


def test_person_without_a_local_password_is_told_so(app, world):
    """Someone who signs in only through a provider has no local password: a message, no form."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        pupil = db.session.get(User, world.people["student_b1"])
        pupil.login_name, pupil.password_hash = "provider-only-pupil", None
        token, _ = accounts.start_session(pupil)
        db.session.commit()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    page = client.get(URL)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "没有单独的登录密码" in body and "当前密码" not in body
    token_page = client.get("/space").get_data(as_text=True)
    refused = client.post(URL, data={"current_password": "", "new_password": NEW, "confirm": NEW,
                                     "csrf_token": csrf_token(token_page)})
    assert refused.status_code == 400 and "没有单独的登录密码" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, world.people["student_b1"]).password_hash is None


def test_signed_in_through_the_linked_provider_sets_a_new_password_without_the_current_one(app, world, oidc_world):
    """Self-service reset: a teacher who signed in through the provider (just now, this browser) needs no
    current password; a browser signed in with the password still does."""
    from tests.fixtures.oidc import sign_in_via

    teacher = give_login(app, world.people["teacher_a1"])
    by_password = signed_in(app, teacher, ip="192.0.2.11")
    oidc_world.set_user("t-li", name="李老师", teacher_number="T4301020001001", school_code="4301020001",
                        role="teacher")
    by_provider = app.test_client()
    assert sign_in_via(by_provider, oidc_world, "hunan", "t-li").status_code == 302
    assert "当前密码" in by_password.get(URL).get_data(as_text=True)
    page = by_provider.get(URL).get_data(as_text=True)
    assert "无需输入当前密码" in page and 'name="current_password"' not in page
    assert _post(by_provider, "", "12345678").status_code == 400  # the policy still applies
    assert _post(by_provider, "", NEW).status_code == 302
    assert by_password.get("/space").status_code == 302  # the other browser is signed out
    assert login(app.test_client(), teacher, NEW).status_code == 302
    entries = [e for e in audit_log(app) if e["action"] == "user.password_change"]
    assert len(entries) == 1 and "via provider" in entries[0]["detail"]


def test_an_old_provider_sign_in_asks_for_the_current_password_again(app, world, oidc_world):
    """The self-service reset lasts 15 minutes after the provider sign-in; then the current password is asked."""
    from tests.fixtures.oidc import sign_in_via

    teacher = give_login(app, world.people["teacher_a1"])
    oidc_world.set_user("t-li", name="李老师", teacher_number="T4301020001001", school_code="4301020001",
                        role="teacher")
    client = app.test_client()
    assert sign_in_via(client, oidc_world, "hunan", "t-li").status_code == 302
    with client.session_transaction() as session:
        session["oidc_signed_in_at"] -= 16 * 60
    assert 'name="current_password"' in client.get(URL).get_data(as_text=True)
    refused = _post(client, "", NEW)
    assert refused.status_code == 400 and "当前密码不正确" in refused.get_data(as_text=True)
    assert login(app.test_client(), teacher, PASSWORD).status_code == 302
