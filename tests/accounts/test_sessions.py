"""Sessions: cookie flags, a new session at login, revocation on the server, idle and absolute timeouts."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from sqlalchemy import select, update

from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.people import give_login, signed_in, token_from
from tests.fixtures.world import PASSWORD

COOKIE = "learnspace_session"


def _session_cookie_header(response) -> str:
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{COOKIE}=")]
    assert len(headers) == 1, response.headers.getlist("Set-Cookie")
    return headers[0]


def _copy_cookie(source, target) -> None:
    target.set_cookie(COOKIE, source.get_cookie(COOKIE).value)


def _is_signed_in(client) -> bool:
    """Probe a page that needs a login; a revoked session is sent to the login page."""
    response = client.get("/space")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def _sessions_of(app, login_name: str):
    from learnspace.accounts.models import User, UserSession
    from learnspace.extensions import db

    with app.app_context():
        return [(s.id, s.revoked_dt) for s in db.session.scalars(
            select(UserSession).join(User).where(User.login_name == login_name).order_by(UserSession.id))]


def test_session_cookie_is_httponly_samesite_lax_and_short_lived(app, client, world):
    """The login response sets the cookie HttpOnly, SameSite=Lax, not Secure over http, expiring in hours."""
    response = login(client, world.admins["platform"], PASSWORD)
    header = _session_cookie_header(response)
    parts = [p.strip() for p in header.split(";")]
    assert "HttpOnly" in parts
    assert "SameSite=Lax" in parts
    assert "Secure" not in parts
    expires = parsedate_to_datetime(next(p for p in parts if p.startswith("Expires=")).split("=", 1)[1])
    hours = app.config["LEARNSPACE"].session_absolute_hours
    now = datetime.now(timezone.utc)
    assert now + timedelta(hours=hours) - timedelta(minutes=5) < expires <= now + timedelta(hours=hours, minutes=1)
    assert expires < now + timedelta(days=2)  # not Flask's 31-day default
    # No long-lived "remember me" cookie next to it.
    assert [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")] == [COOKIE]


def test_secure_flag_is_set_when_configured_for_https(make_app, world):
    """With LEARNSPACE_SECURE_COOKIES=1 the session cookie is marked Secure."""
    https_app = make_app(env={"LEARNSPACE_SECURE_COOKIES": "1"})
    client = https_app.test_client()
    page = client.get("/login", base_url="https://localhost")
    # Over HTTPS, Flask-WTF also checks that the Referer is this site, as a browser sends it.
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"login_name": world.admins["platform"], "password": PASSWORD,
                                 "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert response.status_code == 302
    assert "Secure" in [p.strip() for p in _session_cookie_header(response).split(";")]


def test_login_issues_a_new_session_cookie(app, world):
    """Session fixation: the cookie a browser had before login is not the one that is signed in."""
    name = give_login(app, world.people["teacher_a1"])
    victim = app.test_client()
    token = csrf_token(victim.get("/login").get_data(as_text=True))
    before = victim.get_cookie(COOKIE).value
    # An attacker who planted or copied the pre-login cookie:
    attacker = app.test_client()
    attacker.set_cookie(COOKIE, before)
    response = victim.post("/login", data={"login_name": name, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    after = victim.get_cookie(COOKIE).value
    assert after != before
    assert _is_signed_in(victim)
    assert not _is_signed_in(attacker)


def test_each_login_creates_its_own_server_session(app, world):
    """Signing in twice (two browsers) gives two distinct session rows with different cookies."""
    one = signed_in(app, world.admins["county_a"])
    two = signed_in(app, world.admins["county_a"])
    assert one.get_cookie(COOKIE).value != two.get_cookie(COOKIE).value
    assert len(_sessions_of(app, world.admins["county_a"])) == 2


def test_logout_revokes_the_session_on_the_server(app, world):
    """A copy of the cookie taken before logout no longer signs anyone in afterwards."""
    name = give_login(app, world.people["student_a1"])
    browser = signed_in(app, name)
    thief = app.test_client()
    _copy_cookie(browser, thief)
    assert _is_signed_in(thief)  # the copy works while the session is alive
    response = browser.post("/logout", data={"csrf_token": token_from(browser, "/space")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert not _is_signed_in(browser)
    assert not _is_signed_in(thief)
    [(_, revoked)] = _sessions_of(app, name)
    assert revoked is not None


def test_logout_only_ends_that_one_session(app, world):
    """Signing out in one browser leaves the same person's other browser signed in."""
    name = give_login(app, world.people["student_a1"])
    phone, laptop = signed_in(app, name), signed_in(app, name)
    phone.post("/logout", data={"csrf_token": token_from(phone, "/space")})
    assert not _is_signed_in(phone)
    assert _is_signed_in(laptop)


def test_get_logout_is_not_allowed(app, world):
    """GET /logout answers 405 and the session survives (no state change on GET)."""
    client = signed_in(app, world.admins["platform"])
    assert client.get("/logout").status_code == 405
    assert client.get("/admin/").status_code == 200


def test_logout_without_csrf_token_is_refused(app, world):
    """A cross-site POST to /logout (no token) is refused and the person stays signed in."""
    client = signed_in(app, world.admins["platform"])
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200
    assert all(revoked is None for _, revoked in _sessions_of(app, world.admins["platform"]))


def test_disabling_an_account_revokes_all_its_sessions(app, world):
    """When an admin disables a person, every browser of that person is signed out at once."""
    name = give_login(app, world.people["student_a1"])
    phone, laptop = signed_in(app, name), signed_in(app, name)
    admin = signed_in(app, world.admins["school_a1"])
    url = f"/admin/people/{world.people['student_a1']}"
    response = admin.post(f"{url}/disable", data={"csrf_token": token_from(admin, url)})
    assert response.status_code == 302
    assert not _is_signed_in(phone)
    assert not _is_signed_in(laptop)
    assert all(revoked is not None for _, revoked in _sessions_of(app, name))
    assert login(app.test_client(), name, PASSWORD).status_code == 403


def _age_session(app, login_name: str, **values) -> None:
    from learnspace.accounts.models import User, UserSession
    from learnspace.extensions import db

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.login_name == login_name))
        db.session.execute(update(UserSession).where(UserSession.user_id == user_id).values(**values))
        db.session.commit()


def test_idle_session_expires(app, world):
    """A session unused for longer than the idle limit is ended on the server."""
    client = signed_in(app, world.admins["platform"])
    idle = app.config["LEARNSPACE"].session_idle_minutes
    now = datetime.now(timezone.utc)
    _age_session(app, world.admins["platform"], last_seen_dt=now - timedelta(minutes=idle + 1))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    [(_, revoked)] = _sessions_of(app, world.admins["platform"])
    assert revoked is not None
    # Coming back "fresh" later does not revive it.
    _age_session(app, world.admins["platform"], last_seen_dt=datetime.now(timezone.utc))
    assert client.get("/admin/").status_code == 302


def test_session_just_inside_the_idle_limit_survives_and_is_touched(app, world):
    """Activity within the idle limit keeps the session alive and moves last_seen forward."""
    from learnspace.accounts.models import UserSession
    from learnspace.extensions import db

    client = signed_in(app, world.admins["platform"])
    idle = app.config["LEARNSPACE"].session_idle_minutes
    old = datetime.now(timezone.utc) - timedelta(minutes=idle - 2)
    _age_session(app, world.admins["platform"], last_seen_dt=old)
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        seen = db.session.scalar(select(UserSession.last_seen_dt))
    assert seen > old + timedelta(minutes=idle - 5)


def test_absolute_timeout_ends_even_an_active_session(app, world):
    """A session older than the absolute limit ends, even if it was used a moment ago."""
    client = signed_in(app, world.admins["platform"])
    hours = app.config["LEARNSPACE"].session_absolute_hours
    now = datetime.now(timezone.utc)
    _age_session(app, world.admins["platform"], created_dt=now - timedelta(hours=hours, minutes=1),
                 last_seen_dt=now)
    response = client.get("/admin/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    [(_, revoked)] = _sessions_of(app, world.admins["platform"])
    assert revoked is not None


def test_cookie_holds_no_user_id_or_password(app, world):
    """The cookie carries a random session token, not the user id or anything typed in."""
    import base64
    import json
    import zlib

    client = signed_in(app, world.admins["platform"])
    raw = client.get_cookie(COOKIE).value
    payload = raw.split(".")[0] if not raw.startswith(".") else raw.split(".")[1]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if raw.startswith("."):
        data = zlib.decompress(data)
    session = json.loads(data)
    assert PASSWORD not in data.decode()
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.login_name == world.admins["platform"]))
    assert session["_user_id"] != str(user_id)
    assert len(session["_user_id"]) >= 32
