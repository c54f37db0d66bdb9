"""The login page's one-click provider links, and signing out (locally and at the provider)."""
from __future__ import annotations

import html as html_lib
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from sqlalchemy import select

from learnspace.accounts.models import UserSession
from learnspace.extensions import db
from tests.accounts.oidc.checks import is_signed_in
from tests.fixtures.oidc import CLIENT_ID, sign_in_via
from tests.fixtures.people import give_login, signed_in, token_from

TEACHER = dict(name="李老师", teacher_number="T4301020001001", school_code="4301020001", role="teacher")
COOKIE = "learnspace_session"


def _sso_links(html: str) -> list[tuple[str, str]]:
    return [(html_lib.unescape(href), text) for href, text in
            re.findall(r'<a class="button primary wide" href="([^"]+)">([^<]+)</a>', html)]


def test_login_page_lists_every_configured_provider_with_its_chinese_title(client, oidc_world):
    page = client.get("/login")
    assert page.status_code == 200
    links = _sso_links(page.get_data(as_text=True))
    assert links == [(f"/login/oidc/{entry['name']}", f"使用{entry['title']}登录") for entry in oidc_world.entries]
    assert ("/login/oidc/hunan", "使用湖南省教育统一身份认证登录") in links


def test_login_page_passes_next_on_to_the_provider_links(client):
    href = _sso_links(client.get("/login?next=/spaces/7").get_data(as_text=True))[0][0]
    assert urlsplit(href).path == "/login/oidc/hunan"
    assert parse_qs(urlsplit(href).query) == {"next": ["/spaces/7"]}


def test_one_click_goes_to_the_provider_with_pkce_state_and_nonce(client, oidc_world):
    """The link leads straight to the provider's authorize endpoint with S256 PKCE, state and nonce."""
    href = _sso_links(client.get("/login").get_data(as_text=True))[0][0]
    response = client.get(href)
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert f"{target.scheme}://{target.netloc}" == oidc_world.good.base
    query = {k: v[0] for k, v in parse_qs(target.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "http://localhost/login/oidc/hunan/callback"
    assert "openid" in query["scope"].split()
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 20 and len(query["nonce"]) >= 20
    assert "client_secret" not in query and "code_verifier" not in query
    # A second start gets fresh values.
    again = {k: v[0] for k, v in parse_qs(urlsplit(client.get(href).headers["Location"]).query).items()}
    assert again["state"] != query["state"] and again["nonce"] != query["nonce"]
    assert again["code_challenge"] != query["code_challenge"]


@pytest.mark.parametrize("path", ["/login/oidc/nope", "/login/oidc/nope/callback?code=x&state=y"])
def test_unknown_provider_is_404(client, path):
    assert client.get(path).status_code == 404


def _session_rows(app, user_id: int):
    with app.app_context():
        return [row.revoked_dt for row in db.session.scalars(
            select(UserSession).where(UserSession.user_id == user_id))]


def _logout(client):
    return client.post("/logout", data={"csrf_token": token_from(client, "/space")})


def test_logout_after_oidc_sign_in_ends_the_provider_session_too(app, client, world, oidc_world):
    """Redirect to the provider's end_session_endpoint with client_id and post_logout_redirect_uri."""
    oidc_world.set_user("t-li", **TEACHER)
    assert sign_in_via(client, oidc_world, "hunan", "t-li").status_code == 302
    stolen_cookie = client.get_cookie(COOKIE).value
    response = _logout(client)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{oidc_world.good.base}/oauth2/end_session"
    assert parse_qs(location.query) == {"client_id": [CLIENT_ID],
                                        "post_logout_redirect_uri": ["http://localhost/login"]}
    # The provider really serves that page.
    assert requests.get(response.headers["Location"], timeout=10).status_code == 200

    teacher_id = world.people["teacher_a1"]
    revoked = _session_rows(app, teacher_id)
    assert len(revoked) == 1 and revoked[0] is not None
    assert not is_signed_in(client)
    replay = app.test_client()
    replay.set_cookie(COOKIE, stolen_cookie)
    assert not is_signed_in(replay)


def test_logout_after_password_login_goes_to_the_login_page(app, world):
    teacher_id = world.people["teacher_a1"]
    browser = signed_in(app, give_login(app, teacher_id))
    stolen_cookie = browser.get_cookie(COOKIE).value
    response = _logout(browser)
    assert response.status_code == 302
    assert response.headers["Location"] in ("/login", "http://localhost/login")
    revoked = _session_rows(app, teacher_id)
    assert len(revoked) == 1 and revoked[0] is not None
    assert not is_signed_in(browser)
    replay = app.test_client()
    replay.set_cookie(COOKIE, stolen_cookie)
    assert not is_signed_in(replay)

