"""Hardening for the open internet: trusted hosts, no-store for signed-in pages, secure cookies, body limits, umask."""
import os
import stat
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.fixtures.helpers import login
from tests.fixtures.world import PASSWORD

ROOT = Path(__file__).resolve().parent.parent


def _redirect_uri(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["redirect_uri"][0]


def test_an_untrusted_host_header_cannot_steer_the_oidc_redirect_uri(client):
    refused = client.get("/login/oidc/hunan", headers={"Host": "evil.example"})
    assert refused.status_code == 400
    assert "evil.example" not in refused.headers.get("Location", "")
    # Loopback stays trusted without configuration (scripts/run, health probes on the node).
    assert _redirect_uri(client.get("/login/oidc/hunan", headers={"Host": "127.0.0.1:5000"})).startswith(
        "http://127.0.0.1:5000/login/oidc/hunan/callback")


def test_the_public_url_host_is_trusted_and_makes_cookies_secure(make_app, world):
    public = make_app(env={"LEARNSPACE_PUBLIC_URL": "https://space.example.edu.cn",
                           "LEARNSPACE_TRUSTED_HOSTS": ".school.example.cn"})
    client = public.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "a.school.example.cn"}).status_code == 200
    ours = client.get("/login/oidc/hunan", base_url="https://space.example.edu.cn")
    assert _redirect_uri(ours) == "https://space.example.edu.cn/login/oidc/hunan/callback"

    client = public.test_client()
    client.environ_base["HTTP_REFERER"] = "https://space.example.edu.cn/login"  # Flask-WTF's check over https
    page = client.get("/login", base_url="https://space.example.edu.cn")
    from tests.fixtures.helpers import csrf_token
    signed_in = client.post("/login", base_url="https://space.example.edu.cn",
                            data={"login_name": world.admins["platform"], "password": PASSWORD,
                                  "csrf_token": csrf_token(page.get_data(as_text=True))})
    cookie = signed_in.headers["Set-Cookie"]
    assert "learnspace_session=" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_a_bad_public_url_is_refused_at_start(make_app):
    import pytest

    from learnspace.config import ConfigError

    with pytest.raises(ConfigError, match="LEARNSPACE_PUBLIC_URL"):
        make_app(env={"LEARNSPACE_PUBLIC_URL": "space.example.edu.cn/learn"})


def test_signed_in_and_admin_pages_are_not_stored_public_pages_and_static_keep_caching(client, world):
    anonymous = client.get("/login")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    static = client.get("/static/css/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers.get("Cache-Control", "")
    assert client.get("/admin/").headers["Cache-Control"] == "no-store"  # even the redirect to sign in

    login(client, world.admins["platform"], PASSWORD)
    for path in ("/admin/", "/", "/search"):
        response = client.get(path)
        assert response.status_code in (200, 302), path
        assert response.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/css/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")


def test_bodies_over_the_form_limit_get_413_but_the_roster_import_takes_its_own(make_app, world):
    small = make_app(env={"LEARNSPACE_MAX_FORM_BYTES": "4096"})
    client = small.test_client()
    assert client.post("/login", data={"login_name": "x" * 10_000}).status_code == 413
    login(client, world.admins["platform"], PASSWORD)
    # 20 kB is over the form limit but under LEARNSPACE_MAX_ROSTER_BYTES: the form answers (the CSRF token
    # is missing, so it is shown again), not the 413 page.
    roster = client.post("/admin/roster", data={"file": (__import__("io").BytesIO(b"a," * 10_000), "r.csv")},
                         content_type="multipart/form-data")
    assert roster.status_code in (200, 400) and roster.status_code != 413


def test_the_cli_creates_var_files_for_its_user_only(tmp_path, app_env):
    var = tmp_path / "fresh" / "var"
    env = {**os.environ, **app_env, "LEARNSPACE_VAR_DIR": str(var), "LEARNSPACE_SEARCH_DIR": str(var / "search"),
           "PYTHONPATH": str(ROOT)}
    env.pop("LEARNSPACE_SECRET_KEY", None)
    env.pop("LEARNSPACE_DATA_KEY", None)
    done = subprocess.run([sys.executable, "-m", "learnspace.cli", "routes"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("secret.key", "data.key"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
