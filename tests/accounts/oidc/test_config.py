"""Provider configuration: clear ConfigErrors, secrets from the environment, no providers, an unreachable one."""
from __future__ import annotations

import json

import pytest

from learnspace.accounts.oidc import Provider, load_provider_config, parse_providers
from learnspace.config import ConfigError
from tests.accounts.oidc.checks import is_signed_in, rows_besides_audit
from tests.fixtures.helpers import free_port
from tests.fixtures.oidc import CLIENT_SECRET, MockProvider, authorize_at_provider, provider_entry, start_sign_in
from tests.fixtures.people import audit_log


def _entry(**changes) -> dict:
    entry = {"name": "hunan", "title": "湖南省教育统一身份认证",
             "discovery_url": "https://idp.example/.well-known/openid-configuration",
             "client_id": "learnspace", "client_secret_env": "LS_TEST_HUNAN_SECRET", "scopes": "openid profile",
             "claims": {"real_name": "name", "teacher_number": "tno"}}
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.fixture
def secret_env(monkeypatch):
    monkeypatch.setenv("LS_TEST_HUNAN_SECRET", "s3cret-from-env")
    monkeypatch.delenv("LS_TEST_UNSET_SECRET", raising=False)


def _refused(raw, *words: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_providers(raw)
    message = str(caught.value)
    for word in words:
        assert word in message, message
    return message


def test_valid_entry_resolves_the_secret_from_the_environment(secret_env):
    [provider] = parse_providers([_entry()])
    assert provider == Provider(name="hunan", title="湖南省教育统一身份认证",
                                discovery_url="https://idp.example/.well-known/openid-configuration",
                                client_id="learnspace", client_secret="s3cret-from-env", scopes="openid profile",
                                claims={"real_name": "name", "teacher_number": "tno"}, userinfo=False)
    # The claim mapping is used; unmapped keys fall back to their own name.
    assert provider.claim({"tno": " T1 ", "school_code": "4301020001"}, "teacher_number") == "T1"
    assert provider.claim({"school_code": "4301020001"}, "school_code") == "4301020001"
    assert provider.claim({}, "real_name") == ""


def test_defaults_for_scopes_and_claims(secret_env):
    [provider] = parse_providers([_entry(scopes=None, claims=None, userinfo=True)])
    assert provider.scopes == "openid profile" and provider.claims == {} and provider.userinfo is True


def test_several_providers_keep_their_order(secret_env):
    names = [p.name for p in parse_providers([_entry(name="b-2"), _entry(name="a_1"), _entry(name="c3")])]
    assert names == ["b-2", "a_1", "c3"]


@pytest.mark.parametrize("field", ["name", "title", "discovery_url", "client_id"])
def test_missing_field_is_named(secret_env, field):
    second = _entry(name="other")
    del second[field]
    _refused([_entry(), second], "#2", field)


def test_empty_field_counts_as_missing(secret_env):
    _refused([_entry(client_id="")], "#1", "client_id")


def test_duplicate_names_are_refused(secret_env):
    _refused([_entry(), _entry(title="another")], "'hunan'", "unique")


@pytest.mark.parametrize("name", ["Hunan", "hu nan", "-hunan", "hunan/../x", "湖南", "a" * 32, 5, ["hunan"]])
def test_bad_names_are_refused(secret_env, name):
    _refused([_entry(name=name)], "name")


def test_secret_env_pointing_to_an_unset_variable_names_the_variable(secret_env):
    message = _refused([_entry(client_secret_env="LS_TEST_UNSET_SECRET")], "hunan", "LS_TEST_UNSET_SECRET")
    assert "s3cret" not in message


def test_empty_secret_variable_is_refused(secret_env, monkeypatch):
    monkeypatch.setenv("LS_TEST_UNSET_SECRET", "")
    _refused([_entry(client_secret_env="LS_TEST_UNSET_SECRET")], "hunan", "LS_TEST_UNSET_SECRET")


def test_no_secret_at_all_is_refused(secret_env):
    _refused([_entry(client_secret_env=None)], "hunan", "client_secret_env")


def test_inline_secret_is_accepted(secret_env):
    [provider] = parse_providers([_entry(client_secret_env=None, client_secret="inline")])
    assert provider.client_secret == "inline"


@pytest.mark.parametrize("scopes", ["profile email", "openidprofile", "OPENID profile"])
def test_scopes_without_openid_are_refused(secret_env, scopes):
    _refused([_entry(scopes=scopes)], "hunan", "openid")


def test_scopes_as_a_list_are_refused_clearly(secret_env):
    _refused([_entry(scopes=["openid", "profile"])], "scopes")


def test_unknown_claim_keys_are_named(secret_env):
    _refused([_entry(claims={"real_name": "name", "id_card": "idno", "phone": "tel"})],
             "hunan", "id_card", "phone")


@pytest.mark.parametrize("claims", [["real_name", "teacher_number"], "name", {"real_name": 5}])
def test_claims_must_be_an_object_of_claim_names(secret_env, claims):
    _refused([_entry(claims=claims)], "hunan", "claims")


@pytest.mark.parametrize("raw, words", [
    ({"name": "hunan"}, ["JSON list"]),
    (["hunan"], ["#1", "JSON object"]),
])
def test_wrong_shapes_are_refused(secret_env, raw, words):
    _refused(raw, *words)


# --- reading the configuration --------------------------------------------------------------------

@pytest.fixture
def clean_env(monkeypatch, secret_env, tmp_path):
    monkeypatch.delenv("LEARNSPACE_OIDC_PROVIDERS", raising=False)
    monkeypatch.delenv("LEARNSPACE_OIDC_CONFIG", raising=False)
    return tmp_path


def test_nothing_configured_means_no_providers(clean_env):
    assert load_provider_config(clean_env) == []


def test_environment_variable_is_read(clean_env, monkeypatch):
    monkeypatch.setenv("LEARNSPACE_OIDC_PROVIDERS", json.dumps([_entry()], ensure_ascii=False))
    [provider] = load_provider_config(clean_env)
    assert (provider.name, provider.client_secret) == ("hunan", "s3cret-from-env")


def test_instance_file_is_read(clean_env):
    (clean_env / "oidc-providers.json").write_text(json.dumps([_entry()], ensure_ascii=False), encoding="utf-8")
    assert [p.title for p in load_provider_config(clean_env)] == ["湖南省教育统一身份认证"]


def test_config_file_named_by_environment_is_read(clean_env, monkeypatch):
    path = clean_env / "elsewhere.json"
    path.write_text(json.dumps([_entry(name="elsewhere")]), encoding="utf-8")
    monkeypatch.setenv("LEARNSPACE_OIDC_CONFIG", str(path))
    assert [p.name for p in load_provider_config(clean_env)] == ["elsewhere"]


@pytest.mark.parametrize("raw", ['[{"name": "hunan",', "providers: hunan", "[{'name': 'hunan'}]"])
def test_invalid_json_is_a_config_error(clean_env, monkeypatch, raw):
    monkeypatch.setenv("LEARNSPACE_OIDC_PROVIDERS", raw)
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_provider_config(clean_env)


def test_invalid_instance_file_is_a_config_error(clean_env):
    (clean_env / "oidc-providers.json").write_text("[", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_provider_config(clean_env)


def test_bad_configuration_stops_the_app_at_boot(make_app):
    """A wrong provider entry fails create_app, not the first teacher who clicks the button."""
    with pytest.raises(ConfigError, match="openid"):
        make_app(env={"LEARNSPACE_OIDC_PROVIDERS": json.dumps([{**_entry(), "client_secret": "x",
                                                                  "scopes": "profile"}])})


# --- apps with no provider, or an unreachable one ---------------------------------------------------

def test_without_providers_the_login_page_has_no_sso_block(make_app):
    bare = make_app(env={"LEARNSPACE_OIDC_PROVIDERS": ""})
    client = bare.test_client()
    page = client.get("/login")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'class="sso"' not in html and "/login/oidc/" not in html and "统一身份认证" not in html
    assert 'name="password"' in html  # password login still there
    for path in ("/login/oidc/x", "/login/oidc/hunan", "/login/oidc/hunan/callback?code=a&state=b"):
        assert client.get(path).status_code == 404, path


def _closed_port_entry() -> dict:
    return provider_entry("hunan", "湖南省教育统一身份认证",
                          f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration")


def test_unreachable_provider_at_start_gives_a_chinese_503(app, make_app, world):
    down = make_app(env={"LEARNSPACE_OIDC_PROVIDERS": json.dumps([_closed_port_entry()], ensure_ascii=False)})
    client = down.test_client()
    assert client.get("/login").status_code == 200  # the page itself needs no network
    before = rows_besides_audit(app)
    response = client.get("/login/oidc/hunan")
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:1000]
    assert "暂时无法连接统一身份认证平台" in html
    assert 'name="password"' in html  # the password form is offered instead
    assert rows_besides_audit(app) == before
    failures = [e for e in audit_log(app) if e["action"] == "auth.oidc"]
    assert [(e["result"], "provider=hunan provider unreachable" in e["detail"]) for e in failures] == [
        ("failure", True)]


def test_provider_going_down_before_the_callback_is_refused_not_a_500(app, make_app, world, oidc_world):
    """The token request cannot reach the provider: a Chinese 400, no session, the reason audited."""
    provider = MockProvider()
    try:
        entry = provider_entry("hunan", "湖南省教育统一身份认证", provider.discovery_url)
        flaky = make_app(env={"LEARNSPACE_OIDC_PROVIDERS": json.dumps([entry], ensure_ascii=False)})
        provider.set_user("t-li", name="李老师", teacher_number="T4301020001001", role="teacher")
        client = flaky.test_client()
        start = start_sign_in(client, "hunan")
        assert start.status_code == 302
        callback = authorize_at_provider(start.headers["Location"], "t-li")
    finally:
        provider.stop()
    before = rows_besides_audit(app)
    response = client.get(callback)
    assert response.status_code == 400
    assert "统一身份认证登录未能完成" in response.get_data(as_text=True)
    assert rows_besides_audit(app) == before
    assert not is_signed_in(client)
    [entry] = [e for e in audit_log(app) if e["action"] == "auth.oidc"]
    assert entry["result"] == "failure" and "provider unreachable" in entry["detail"]
    assert CLIENT_SECRET not in entry["detail"]
