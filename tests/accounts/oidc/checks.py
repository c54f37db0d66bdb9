"""Assertions shared by the OIDC tests: row counts, audit entries, being signed in or not."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.fixtures.people import audit_log, row_counts

#: What the login page says when the provider's answer cannot be trusted.
REFUSED_MESSAGE = "统一身份认证登录未能完成"


def count(app, model, *where) -> int:
    """Number of rows of *model* matching *where*."""
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def oidc_audit(app, result: str | None = None) -> list[dict]:
    """The auth.oidc audit entries, oldest first, optionally only those with *result*."""
    return [e for e in audit_log(app) if e["action"] == "auth.oidc" and (result is None or e["result"] == result)]


def is_signed_in(client) -> bool:
    """Probe a page that needs a login: signed-out browsers are sent to /login."""
    response = client.get("/space")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"], response.headers["Location"]
        return False
    assert response.status_code == 200, response.status_code
    return True


def rows_besides_audit(app) -> dict[str, int]:
    """Row counts of every table but the audit log (which refusals must write to)."""
    return {name: n for name, n in row_counts(app).items() if name != "audit_entries"}


def assert_refused_without_session(app, client, response, reason: str, rows_before: dict) -> dict:
    """400 with the Chinese explanation, no row written, not signed in, one failure audit naming *reason*."""
    html = response.get_data(as_text=True)
    assert response.status_code == 400, (response.status_code, html[:1000])
    assert REFUSED_MESSAGE in html
    assert rows_besides_audit(app) == rows_before  # no user, identity, space or session row
    assert not is_signed_in(client)
    failures = oidc_audit(app, "failure")
    assert len(failures) == 1, failures
    assert reason in failures[0]["detail"], failures[0]
    return failures[0]
