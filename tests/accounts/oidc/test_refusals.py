"""Answers from the identity provider that must not sign anybody in.

Each case drives the real redirect flow against a real provider process and
then changes one thing an attacker (or a broken provider) could change. The
refusal is a 400 page in Chinese, no row is written, the browser is not
signed in, and exactly one ``auth.oidc`` failure entry names the reason.
"""
from __future__ import annotations

import logging
import re

import pytest

from tests.accounts.oidc.checks import (
    REFUSED_MESSAGE,
    assert_refused_without_session,
    is_signed_in,
    oidc_audit,
    rows_besides_audit,
)
from tests.fixtures.oidc import (
    CLIENT_SECRET,
    authorize_at_provider,
    callback_params,
    sign_in_via,
    start_sign_in,
    with_params,
)
from tests.fixtures.people import all_stored_values, audit_log

TEACHER = dict(name="李老师", teacher_number="T4301020001001", school_code="4301020001", role="teacher")


@pytest.fixture
def teacher(oidc_world, world):
    oidc_world.set_user("t-li", **TEACHER)
    return "t-li"


def _authorized(client, provider: str, sub: str) -> str:
    """Start the sign-in and log in at the provider; return the callback URL (not yet called)."""
    start = start_sign_in(client, provider)
    assert start.status_code == 302
    return authorize_at_provider(start.headers["Location"], sub)


def test_tampered_state_is_refused(app, client, teacher):
    """A callback whose state differs from the one kept in the browser's session signs nobody in."""
    callback = _authorized(client, "hunan", teacher)
    state = callback_params(callback)["state"]
    before = rows_besides_audit(app)
    response = client.get(with_params(callback, state=state[:-4] + "AAAA"))
    assert_refused_without_session(app, client, response, "mismatching_state", before)


def test_callback_without_a_started_sign_in_is_refused(app, client, oidc_world, teacher):
    """A code and state made for one browser, opened in another (login CSRF), are refused."""
    callback = _authorized(app.test_client(), "hunan", teacher)
    before = rows_besides_audit(app)
    response = client.get(callback)
    assert_refused_without_session(app, client, response, "mismatching_state", before)


def test_replayed_authorization_code_is_refused_by_the_provider(app, client, oidc_world, teacher):
    """The code of a completed sign-in, sent again with a fresh, valid state, is refused (invalid_grant)."""
    first = client.get(_authorized(client, "hunan", teacher))
    assert first.status_code == 302 and is_signed_in(client)
    old_code = callback_params(first.request.full_path)["code"]

    attacker = app.test_client()
    fresh = callback_params(_authorized(attacker, "hunan", teacher))  # a state the attacker's session knows
    before = rows_besides_audit(app)
    audits_before = len(audit_log(app))
    response = attacker.get(f"/login/oidc/hunan/callback?code={old_code}&state={fresh['state']}")
    assert response.status_code == 400
    assert REFUSED_MESSAGE in response.get_data(as_text=True)
    assert rows_besides_audit(app) == before
    assert not is_signed_in(attacker)
    new_entries = audit_log(app)[audits_before:]
    assert [(e["action"], e["result"]) for e in new_entries] == [("auth.oidc", "failure")]
    assert "invalid_grant" in new_entries[0]["detail"]


def test_wrong_nonce_is_refused(app, client, teacher):
    """The ID token's nonce must be the one this browser's sign-in started with."""
    start = start_sign_in(client, "hunan")
    with client.session_transaction() as session:
        keys = [k for k in session if k.startswith("_state_hunan_")]
        assert len(keys) == 1, list(session)
        state_data = session[keys[0]]
        assert state_data["data"]["nonce"]
        state_data["data"]["nonce"] = "a-different-nonce"
        session[keys[0]] = state_data
    callback = authorize_at_provider(start.headers["Location"], teacher)
    before = rows_besides_audit(app)
    response = client.get(callback)
    assert_refused_without_session(app, client, response, "invalid_claim nonce", before)


def test_missing_nonce_in_session_is_refused(app, client, teacher):
    """Without the expected nonce Authlib skips the ID-token check; the app must still refuse."""
    start = start_sign_in(client, "hunan")
    with client.session_transaction() as session:
        key = next(k for k in session if k.startswith("_state_hunan_"))
        state_data = session[key]
        del state_data["data"]["nonce"]
        session[key] = state_data
    callback = authorize_at_provider(start.headers["Location"], teacher)
    before = rows_besides_audit(app)
    response = client.get(callback)
    assert_refused_without_session(app, client, response, "no validated id token", before)


@pytest.mark.parametrize("provider, reason", [
    ("expired", "expired_token"),       # the provider issues ID tokens that expired ten minutes ago
    ("evilkey", "bad_signature"),       # signed by a key other than the JWKS the discovery names
    ("wrongiss", "invalid_claim iss"),  # the discovery document names another issuer than the token's
])
def test_untrustworthy_id_token_is_refused(app, client, teacher, provider, reason):
    """Expired, wrongly signed or wrongly issued ID tokens sign nobody in; the audit names why."""
    callback = _authorized(client, provider, teacher)
    before = rows_besides_audit(app)
    response = client.get(callback)
    entry = assert_refused_without_session(app, client, response, reason, before)
    assert f"provider={provider}" in entry["detail"]


@pytest.fixture
def issued_tokens(monkeypatch):
    """Every token response the app receives from a provider (a spy: the real call still happens)."""
    from authlib.integrations.flask_client.apps import FlaskOAuth2App

    seen = []
    original = FlaskOAuth2App.fetch_access_token

    def spy(self, *args, **kwargs):
        token = original(self, *args, **kwargs)
        seen.append(dict(token))
        return token

    monkeypatch.setattr(FlaskOAuth2App, "fetch_access_token", spy)
    return seen


def test_no_code_token_or_secret_is_ever_stored_or_logged(app, client, oidc_world, teacher, issued_tokens, caplog):
    """After a sign-in, a replay, a tampered state and an expired token, no audit entry, stored value
    or log line holds an authorization code, a token or the client secret."""
    caplog.set_level(logging.DEBUG)
    first = sign_in_via(client, oidc_world, "hunan", teacher)
    assert first.status_code == 302
    code = callback_params(first.request.full_path)["code"]
    attacker = app.test_client()
    fresh = callback_params(_authorized(attacker, "hunan", teacher))
    assert attacker.get(f"/login/oidc/hunan/callback?code={code}&state={fresh['state']}").status_code == 400
    tampered = _authorized(attacker, "hunan", teacher)
    assert attacker.get(with_params(tampered, state="forged")).status_code == 400
    assert client.get(_authorized(client, "expired", teacher)).status_code == 400

    secrets = {CLIENT_SECRET, code, callback_params(tampered)["code"]}
    # Tokens reached the app twice: the good sign-in and the expired one (refused after the token request).
    assert len(issued_tokens) == 2
    for token in issued_tokens:
        assert token["access_token"] and token["id_token"]
        secrets.update(token[key] for key in ("access_token", "id_token", "refresh_token") if token.get(key))

    entries = audit_log(app)
    assert {e["action"] for e in entries} >= {"auth.oidc", "identity.link"}
    assert len(oidc_audit(app, "failure")) == 3
    audit_text = "\n".join(str(v) for e in entries for v in e.values() if v is not None)
    stored = "\n".join(str(v) for v in all_stored_values(app))
    for secret in secrets:
        assert secret not in audit_text
        assert secret not in stored
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in secrets:
        assert secret not in logged
    # Nothing that looks like a JWT (ID token) either, whatever its origin.
    assert not re.search(r"eyJ[\w-]{10,}\.", stored + logged)
