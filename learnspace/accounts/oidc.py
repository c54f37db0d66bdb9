"""Sign-in through the regions' OpenID Connect identity providers (Authlib client).

Providers come from configuration: ``LEARNSPACE_OIDC_PROVIDERS`` (a JSON list)
or the instance file ``$LEARNSPACE_VAR_DIR/oidc-providers.json``. Each entry::

    {"name": "hunan", "title": "湖南省教育统一身份认证",
     "discovery_url": "https://idp.example/.well-known/openid-configuration",
     "client_id": "learnspace", "client_secret_env": "HUNAN_OIDC_SECRET",
     "scopes": "openid profile",
     "claims": {"real_name": "name", "student_number": "student_number",
                "teacher_number": "teacher_number", "school_code": "school_code", "role": "role"},
     "userinfo": false}

``client_secret_env`` names an environment variable holding the secret, so no
secret ever sits in a file of the repository (``client_secret`` is accepted too,
for instance files outside it). The flow is the authorization code flow with
PKCE (S256), ``state`` and ``nonce``; Authlib checks the ID token's signature
against the provider's JWKS, its issuer, audience, expiry and nonce.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import current_app
from joserfc.errors import JoseError

from ..config import ConfigError

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,30}$")
CLAIM_KEYS = ("real_name", "student_number", "teacher_number", "school_code", "role")
#: ID tokens must be fresh: Authlib's default leeway of two minutes is kept, no more.
ID_TOKEN_LEEWAY = 120


class SignInRefused(Exception):
    """The provider's answer cannot be trusted; ``reason`` is for the audit log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Provider:
    name: str
    title: str
    discovery_url: str
    client_id: str
    client_secret: str
    scopes: str = "openid profile"
    claims: dict = field(default_factory=dict)
    userinfo: bool = False

    def claim(self, mapped: dict, key: str) -> str:
        """Return the configured claim *key* (e.g. teacher_number) from provider claims."""
        value = mapped.get(self.claims.get(key, key))
        return str(value).strip() if value not in (None, "") else ""


def parse_providers(raw: list) -> list[Provider]:
    """Check provider entries and resolve their secrets; raise ConfigError with what is wrong."""
    if not isinstance(raw, list):
        raise ConfigError("OIDC provider configuration must be a JSON list of providers")
    providers, seen = [], set()
    for index, entry in enumerate(raw, start=1):
        if not isinstance(entry, dict):
            raise ConfigError(f"OIDC provider #{index} must be a JSON object")
        missing = [k for k in ("name", "title", "discovery_url", "client_id") if not entry.get(k)]
        if missing:
            raise ConfigError(f"OIDC provider #{index} lacks {', '.join(missing)}")
        not_text = [k for k in ("name", "title", "discovery_url", "client_id", "client_secret",
                                "client_secret_env", "scopes") if k in entry and not isinstance(entry[k], str)]
        if not_text:
            raise ConfigError(f"OIDC provider #{index}: {', '.join(not_text)} must be text (a JSON string)")
        name = entry["name"]
        if not NAME_RE.match(name) or name in seen:
            raise ConfigError(f"OIDC provider name {name!r} must be unique, lower-case letters, digits, - or _")
        seen.add(name)
        secret = entry.get("client_secret") or os.environ.get(entry.get("client_secret_env") or "", "")
        if not secret and entry.get("client_secret_env"):
            raise ConfigError(f"OIDC provider {name}: the environment variable {entry['client_secret_env']} "
                              "named by client_secret_env is not set or empty")
        if not secret:
            raise ConfigError(f"OIDC provider {name}: set client_secret_env to an environment variable holding "
                              "the client secret")
        claims = entry.get("claims") or {}
        if not isinstance(claims, dict) or not all(isinstance(v, str) for v in claims.values()):
            raise ConfigError(f"OIDC provider {name}: claims must map keys to claim names (a JSON object of strings)")
        unknown = set(claims) - set(CLAIM_KEYS)
        if unknown:
            raise ConfigError(f"OIDC provider {name}: unknown claim mapping keys {sorted(unknown)}")
        scopes = entry.get("scopes") or "openid profile"
        if "openid" not in scopes.split():
            raise ConfigError(f"OIDC provider {name}: scopes must include openid")
        providers.append(Provider(name=name, title=entry["title"], discovery_url=entry["discovery_url"],
                                  client_id=entry["client_id"], client_secret=secret, scopes=scopes,
                                  claims=claims, userinfo=bool(entry.get("userinfo"))))
    return providers


def load_provider_config(var_dir: Path) -> list[Provider]:
    """Read providers from LEARNSPACE_OIDC_PROVIDERS or the instance file; none is fine."""
    raw = os.environ.get("LEARNSPACE_OIDC_PROVIDERS")
    path = Path(os.environ.get("LEARNSPACE_OIDC_CONFIG") or var_dir / "oidc-providers.json")
    if not raw and path.is_file():
        raw = path.read_text(encoding="utf-8")
    if not raw:
        return []
    try:
        return parse_providers(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"OIDC provider configuration is not valid JSON: {exc}") from None


def init_app(app) -> None:
    """Register every configured provider with Authlib; nothing is fetched until first use."""
    providers = app.config.get("OIDC_PROVIDERS")
    if providers is None:
        providers = load_provider_config(app.config["LEARNSPACE"].var_dir)
    oauth = OAuth(app)
    for provider in providers:
        oauth.register(
            provider.name,
            client_id=provider.client_id,
            client_secret=provider.client_secret,
            server_metadata_url=provider.discovery_url,
            client_kwargs={"scope": provider.scopes, "code_challenge_method": "S256", "timeout": 10},
        )
    app.extensions["learnspace.oidc"] = {"oauth": oauth, "providers": {p.name: p for p in providers}}


def providers() -> list[Provider]:
    """Return the configured providers, in configuration order."""
    return list(current_app.extensions["learnspace.oidc"]["providers"].values())


def get_provider(name: str) -> Provider | None:
    """Return one configured provider, or None."""
    return current_app.extensions["learnspace.oidc"]["providers"].get(name)


def _client(name: str):
    return current_app.extensions["learnspace.oidc"]["oauth"].create_client(name)


def begin(name: str, redirect_uri: str):
    """Return the redirect to the provider's login page (state, nonce and PKCE kept in the session)."""
    try:
        return _client(name).authorize_redirect(redirect_uri)
    except (OAuthError, OSError, ValueError) as exc:
        raise SignInRefused(f"provider unreachable: {type(exc).__name__}") from None


def finish(name: str) -> tuple[str, dict]:
    """Validate the provider's answer on the callback; return (subject, claims)."""
    client = _client(name)
    try:
        token = client.authorize_access_token(leeway=ID_TOKEN_LEEWAY)
    except OAuthError as exc:  # state mismatch, refused or replayed code
        raise SignInRefused(f"oauth error: {exc.error}") from None
    except (AuthlibBaseError, JoseError) as exc:  # bad signature, issuer, audience, expiry or nonce
        reason = getattr(exc, "error", None) or type(exc).__name__
        if getattr(exc, "claim", None):  # which claim failed: iss, aud, exp, nonce …
            reason += f" {exc.claim}"
        raise SignInRefused(f"id token rejected: {reason}") from None
    except (OSError, ValueError) as exc:
        raise SignInRefused(f"provider unreachable: {type(exc).__name__}") from None
    claims = token.get("userinfo")
    if not claims or not claims.get("sub"):
        # Without a validated ID token we know nothing about who signed in.
        raise SignInRefused("no validated id token")
    claims = dict(claims)
    if get_provider(name).userinfo:
        try:
            extra = client.userinfo(token=token)
        except (OAuthError, OSError, ValueError) as exc:
            raise SignInRefused(f"userinfo failed: {type(exc).__name__}") from None
        if extra.get("sub") != claims["sub"]:
            raise SignInRefused("userinfo subject differs from id token")
        claims.update(extra)
    return str(claims["sub"]), claims


def end_session_url(name: str, post_logout_redirect_uri: str) -> str | None:
    """Return the provider's RP-initiated logout URL when it advertises one."""
    try:
        metadata = _client(name).load_server_metadata()
    except (OAuthError, OSError, ValueError):
        return None
    endpoint = metadata.get("end_session_endpoint")
    if not endpoint:
        return None
    from urllib.parse import urlencode

    separator = "&" if "?" in endpoint else "?"
    return endpoint + separator + urlencode({"client_id": get_provider(name).client_id,
                                             "post_logout_redirect_uri": post_logout_redirect_uri})
