"""Behind a reverse proxy: X-Forwarded-* is honoured only when LEARNSPACE_TRUSTED_PROXIES says so."""
from urllib.parse import parse_qs, urlsplit

from tests.fixtures.helpers import login
from tests.fixtures.world import PASSWORD

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "space.example.edu.cn",
             "X-Forwarded-For": "203.0.113.9"}


def _callback_uri(app):
    response = app.test_client().get("/login/oidc/hunan", headers=FORWARDED)
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"][0]


def test_forwarded_headers_are_ignored_by_default(app):
    assert _callback_uri(app).startswith("http://localhost/")


def test_trusted_proxy_gives_https_callback_and_real_client_ip(make_app, world):
    proxied = make_app(env={"LEARNSPACE_TRUSTED_PROXIES": "1",
                            "LEARNSPACE_TRUSTED_HOSTS": "space.example.edu.cn"})
    assert _callback_uri(proxied) == "https://space.example.edu.cn/login/oidc/hunan/callback"

    from sqlalchemy import select

    from learnspace.audit.models import AuditEntry
    from learnspace.extensions import db

    client = proxied.test_client()
    client.environ_base.update({f"HTTP_{k.upper().replace('-', '_')}": v for k, v in FORWARDED.items()})
    # Over HTTPS, Flask-WTF also checks that the Referer is this site, as a browser sends it.
    client.environ_base["HTTP_REFERER"] = "https://space.example.edu.cn/login"
    login(client, world.admins["platform"], PASSWORD)
    with proxied.app_context():
        entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "auth.login")).one()
        assert entry.ip == "203.0.113.9"
