"""Local sign-in through the real form: CSRF, messages, and rate limits shared by all workers."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.people import audit_log, client_at, give_login, row_counts, signed_in
from tests.fixtures.throttle import age_throttle_rows, throttle_rows, wait_seconds
from tests.fixtures.world import PASSWORD

WRONG = "Wr0ng-password"


def _open_sessions(app, login_name: str) -> int:
    from learnspace.accounts.models import User, UserSession
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(UserSession.id)).join(User).where(
            User.login_name == login_name, UserSession.revoked_dt.is_(None)))


def test_successful_login_opens_a_server_session_and_lands_on_admin_home(app, client, world):
    """Right name and password: redirect to the admin home, a session row exists, pages open."""
    response = login(client, world.admins["county_a"], PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/")
    assert _open_sessions(app, world.admins["county_a"]) == 1
    assert client.get("/admin/").status_code == 200


def test_student_login_lands_in_their_space(app, client, world):
    """A student (activated earlier) signs in with their student number and lands on /space."""
    name = give_login(app, world.people["student_a1"])
    response = login(client, name, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    page = client.get("/space")
    assert page.status_code == 200 and "张小明的个人空间" in page.get_data(as_text=True)


@pytest.mark.parametrize("login_name", ["platform", "nobody-here"])
def test_wrong_password_or_unknown_account_gets_the_same_message(app, client, world, login_name):
    """No hint whether the account exists: both say 账号或密码不正确, and no session starts."""
    response = login(client, login_name, WRONG)
    assert response.status_code == 400
    assert "账号或密码不正确" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302  # still signed out
    assert _open_sessions(app, "platform") == 0


def test_login_name_is_trimmed(app, client, world):
    """Spaces typed around the user name do not matter."""
    assert login(client, f"  {world.admins['platform']} ", PASSWORD).status_code == 302


def test_disabled_account_cannot_sign_in_even_with_the_right_password(app, client, world):
    """A disabled person gets a clear message and no session."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_b1"]))
        admin.is_disabled = True
        db.session.commit()
    response = login(client, world.admins["school_b1"], PASSWORD)
    assert response.status_code == 403
    assert "该账号已停用" in response.get_data(as_text=True)
    assert _open_sessions(app, world.admins["school_b1"]) == 0


def test_five_failures_delay_the_account_by_half_a_minute_not_lock_it(app, client, world):
    """After 5 wrong passwords the account answers 429 "请 N 秒后再试" (N ≤ 30); then the right password works."""
    for _ in range(5):
        assert login(client, world.admins["county_b"], WRONG).status_code == 400
    response = login(client, world.admins["county_b"], PASSWORD)
    assert response.status_code == 429
    assert wait_seconds(response) in range(25, 31)
    assert _open_sessions(app, world.admins["county_b"]) == 0
    # Only that account waits: another account from the same address still signs in.
    assert login(app.test_client(), world.admins["county_a"], PASSWORD).status_code == 302
    age_throttle_rows(app, 30)
    assert login(client, world.admins["county_b"], PASSWORD).status_code == 302


def test_account_limit_counts_across_addresses(app, world):
    """Spreading guesses over many IP addresses does not escape the per-account cap of 10 per window."""
    for i in range(10):
        other = client_at(app, f"198.51.100.{i + 1}")
        assert login(other, world.admins["city_a"], WRONG).status_code == 400
    fresh = client_at(app, "198.51.100.99")
    response = login(fresh, world.admins["city_a"], PASSWORD)
    assert response.status_code == 429
    assert 0 < wait_seconds(response) <= 15 * 60


def test_success_before_the_delays_resets_the_account_counter(app, client, world):
    """Four failures, a success, four more failures: the fifth try still signs in at once."""
    for _ in range(4):
        login(client, world.admins["province"], WRONG)
    assert login(client, world.admins["province"], PASSWORD).status_code == 302
    client.post("/logout", data={"csrf_token": csrf_token(client.get("/admin/").get_data(as_text=True))})
    for _ in range(4):
        assert login(client, world.admins["province"], WRONG).status_code == 400
    assert login(client, world.admins["province"], PASSWORD).status_code == 302


def test_per_ip_ceiling_is_configurable_and_slows_but_does_not_block(make_app, world):
    """With LEARNSPACE_LOGIN_IP_LIMIT=3, three failures from one address make it wait 2 s, then it signs in."""
    limited = make_app(env={"LEARNSPACE_LOGIN_IP_LIMIT": "3"})
    assert limited.config["LEARNSPACE"].login_ip_limit == 3
    attacker = client_at(limited, "203.0.113.7")
    for name in ("guess-1", "guess-2", "guess-3"):
        assert login(attacker, name, WRONG).status_code == 400
    slowed = login(attacker, world.admins["platform"], PASSWORD)
    assert slowed.status_code == 429
    assert wait_seconds(slowed) == 2
    elsewhere = client_at(limited, "203.0.113.8")
    assert login(elsewhere, world.admins["platform"], PASSWORD).status_code == 302
    age_throttle_rows(limited, 2)
    assert login(attacker, world.admins["platform"], PASSWORD).status_code == 302


def test_failure_counter_is_shared_by_worker_processes(app, make_app, world):
    """Two app instances on one database (two workers) add up failures for the same account."""
    worker_two = make_app()
    for _ in range(3):
        assert login(app.test_client(), world.admins["school_a1"], WRONG).status_code == 400
    for _ in range(2):
        assert login(worker_two.test_client(), world.admins["school_a1"], WRONG).status_code == 400
    # 5 failures, each counted per account+IP, per account and per IP, all in the database
    assert throttle_rows(app) == 15
    assert login(app.test_client(), world.admins["school_a1"], PASSWORD).status_code == 429
    assert login(worker_two.test_client(), world.admins["school_a1"], PASSWORD).status_code == 429


def test_throttle_rows_do_not_store_names_or_addresses(app, client, world):
    """The counter keys are hashes: the login name and the IP do not appear in the table."""
    from learnspace.accounts.models import ThrottleEvent
    from learnspace.extensions import db

    login(client, "someone-special", WRONG)
    with app.app_context():
        rows = db.session.execute(select(ThrottleEvent.key_hash, ThrottleEvent.account_hash)).all()
    assert len(rows) == 3
    assert all("someone" not in repr(r) and "127.0.0.1" not in repr(r) for r in rows)


def test_post_without_csrf_token_is_refused_and_changes_nothing(app, client, world):
    """A login POST without the CSRF token gets 400, starts no session and counts nothing."""
    before = row_counts(app)
    response = client.post("/login", data={"login_name": world.admins["platform"], "password": PASSWORD})
    assert response.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    assert row_counts(app) == before
    assert client.get("/admin/").status_code == 302


def test_post_with_a_forged_csrf_token_is_refused(app, client, world):
    """A token that was not issued by this app is refused just the same."""
    client.get("/login")
    response = client.post("/login", data={"login_name": world.admins["platform"], "password": PASSWORD,
                                           "csrf_token": "IjAwMDAi.forged.token"})
    assert response.status_code == 400
    assert _open_sessions(app, world.admins["platform"]) == 0


def test_csrf_token_of_one_browser_does_not_work_in_another(app, world):
    """The token is tied to the browser session that received it."""
    mine, theirs = app.test_client(), app.test_client()
    token = csrf_token(mine.get("/login").get_data(as_text=True))
    theirs.get("/login")
    response = theirs.post("/login", data={"login_name": world.admins["platform"], "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 400


@pytest.mark.parametrize("target, expected", [
    ("/admin/schools", "/admin/schools"),
    ("https://evil.example/phish", "/admin/"),
    ("//evil.example/phish", "/admin/"),
    ("/\\evil.example", "/admin/"),
])
def test_next_parameter_only_redirects_inside_the_site(app, client, world, target, expected):
    """After login, ?next= is followed only for same-site paths (no open redirect)."""
    page = client.get("/login")
    response = client.post("/login", query_string={"next": target},
                           data={"login_name": world.admins["platform"], "password": PASSWORD,
                                 "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_signed_in_visitor_of_login_page_is_sent_home(app, world):
    """Opening /login while signed in goes to the landing page instead of showing the form."""
    client = signed_in(app, world.admins["platform"])
    response = client.get("/login")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/")


def test_login_failure_audit_names_no_password(app, client, world):
    """A failed login is audited as failure without the typed password."""
    login(client, world.admins["platform"], WRONG)
    entries = [e for e in audit_log(app) if e["action"] == "auth.login"]
    assert [e["result"] for e in entries] == ["failure"]
    assert WRONG not in repr(entries)


def test_anonymous_get_pages_change_nothing(app, client, world):
    """Opening the public pages (home, login, activation, health) writes no row anywhere."""
    before = row_counts(app)
    for url in ("/", "/login", "/activate", "/healthz", "/space"):
        assert client.get(url).status_code in (200, 302), url
    assert row_counts(app) == before
