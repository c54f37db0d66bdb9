"""Settings: documented defaults, read from ``LEARNSPACE_*`` environment variables.

Nothing here is read at import time; ``load_config()`` is called by ``create_app``.
Secrets that must survive restarts (session key, ID-card data key) live in files
under the var directory with mode 0600 and are created on first start.
"""
from __future__ import annotations

import base64
import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Top-level folders of the checkout that a built wheel carries in learnspace/_shipped/ (see setup.py).
SHIPPED = ("templates", "static", "migrations")


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to fix."""


def resource_dir(name: str) -> Path:
    """Return the templates, static or migrations folder the app uses.

    The installed package's copy when there is one (a wheel, ``pip install .``),
    else the source checkout's top-level folder (``pip install -e .``, tests).
    """
    if name not in SHIPPED:
        raise ValueError(f"not a shipped folder: {name!r}")
    shipped = Path(__file__).resolve().parent / "_shipped" / name
    if shipped.is_dir():
        return shipped
    checkout = REPO_ROOT / name
    if (REPO_ROOT / "setup.cfg").is_file() and checkout.is_dir():
        return checkout
    raise ConfigError(f"LearnSpace's {name}/ folder is missing from {shipped.parent}: "
                      "reinstall from a wheel built with the project's setup.py, or run from a source checkout")


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"LEARNSPACE_{name}")
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"LEARNSPACE_{name} must be an integer, got {raw!r}") from exc


def _env_networks(name: str) -> tuple:
    """Parse a comma-separated list of CIDR networks, e.g. ``203.0.113.0/24,2001:db8::/48``."""
    networks = []
    for part in (_env(name) or "").split(","):
        if part.strip():
            try:
                networks.append(ipaddress.ip_network(part.strip()))
            except ValueError as exc:
                raise ConfigError(f"LEARNSPACE_{name}: {part.strip()!r} is not a network in CIDR form "
                                  f"(e.g. 203.0.113.0/24; host bits must be zero): {exc}") from exc
    return tuple(networks)


def _secret_file(path: Path, make) -> str:
    """Return the secret stored in *path*, creating it (mode 0600) when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: several worker processes may start at once; only one writes.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(make() + "\n")
    return path.read_text().strip()


def read_env_file(path: Path) -> dict[str, str]:
    """Return the KEY=value pairs of an env-style file such as a credentials file (missing file: empty)."""
    values: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


@dataclass
class Settings:
    var_dir: Path
    database_url: str
    minio_endpoint: str
    minio_access_key: str
    minio_secret_key: str
    minio_bucket: str
    minio_secure: bool
    search_dir: Path
    secret_key: str
    data_key: bytes
    session_idle_minutes: int
    session_absolute_hours: int
    secure_cookies: bool
    login_account_limit: int
    login_ip_limit: int
    login_window_minutes: int
    login_trusted_ip_limit: int
    trusted_networks: tuple
    activation_code_days: int
    reset_code_days: int
    code_reprint_hours: int
    max_roster_bytes: int
    recording_max_bytes: int
    document_max_bytes: int
    space_quota_bytes: int
    upload_chunk_bytes: int
    minio_credentials_file: Path
    minio_credentials_file_is_admin: bool
    minio_public_endpoint: str | None
    playback_mode: str
    presign_seconds: int
    trusted_proxies: int
    search_drain_after_request: bool
    search_warm_up: bool
    node_id: str
    search_outbox_retention_days: int
    metrics_networks: tuple
    metrics_token: str | None
    log_format: str
    public_url: str | None = None
    trusted_hosts: tuple = ()
    max_form_bytes: int = 8 * 1024 * 1024


def minio_credentials_file(var_dir: Path) -> Path:
    """Return the file holding the app's MinIO user (``LEARNSPACE_MINIO_CREDENTIALS_FILE``)."""
    return Path(_env("MINIO_CREDENTIALS_FILE", str(var_dir / "minio-app.env")))


def minio_admin_credentials_file(var_dir: Path) -> Path:
    """Return the file holding MinIO's root credentials, used only to provision (``..._ADMIN_CREDENTIALS_FILE``)."""
    return Path(_env("MINIO_ADMIN_CREDENTIALS_FILE", str(var_dir / "minio.env")))


def load_config() -> dict:
    """Read settings from the environment and return a Flask config mapping."""
    var_dir = Path(_env("VAR_DIR", str(REPO_ROOT / "var"))).resolve()
    creds_file = minio_credentials_file(var_dir)
    creds = read_env_file(creds_file)
    data_key = _env("DATA_KEY") or _secret_file(
        var_dir / "data.key", lambda: base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    )
    settings = Settings(
        var_dir=var_dir,
        database_url=_env("DATABASE_URL", f"sqlite:///{var_dir / 'learnspace.db'}"),
        minio_endpoint=_env("MINIO_ENDPOINT", "127.0.0.1:9000"),
        # The app's own user (learnspace storage provision writes the file), never MinIO's root user.
        minio_access_key=_env("MINIO_ACCESS_KEY", creds.get("MINIO_ACCESS_KEY", "")),
        minio_secret_key=_env("MINIO_SECRET_KEY", creds.get("MINIO_SECRET_KEY", "")),
        minio_credentials_file=creds_file,
        minio_credentials_file_is_admin="MINIO_ROOT_USER" in creds,
        minio_bucket=_env("MINIO_BUCKET", "learnspace"),
        minio_secure=_env("MINIO_SECURE", "0") == "1",
        search_dir=Path(_env("SEARCH_DIR", str(var_dir / "search"))),
        secret_key=_env("SECRET_KEY") or _secret_file(var_dir / "secret.key", lambda: secrets.token_hex(32)),
        data_key=_decode_data_key(data_key),
        session_idle_minutes=_env_int("SESSION_IDLE_MINUTES", 120),
        session_absolute_hours=_env_int("SESSION_ABSOLUTE_HOURS", 12),
        secure_cookies=_env("SECURE_COOKIES", "0") == "1",
        # Checked guesses per account per window from all addresses; above the per-IP ceilings an address
        # is slowed (accounts/throttle.py); school egress networks get the higher ceiling.
        login_account_limit=_env_int("LOGIN_ACCOUNT_LIMIT", 10),
        login_ip_limit=_env_int("LOGIN_IP_LIMIT", 100),
        login_trusted_ip_limit=_env_int("LOGIN_TRUSTED_IP_LIMIT", 1000),
        login_window_minutes=_env_int("LOGIN_WINDOW_MINUTES", 15),
        trusted_networks=_env_networks("TRUSTED_NETWORKS"),
        activation_code_days=_env_int("ACTIVATION_CODE_DAYS", 30),
        # Reset codes open an existing account, so they live shorter than activation codes.
        reset_code_days=_env_int("RESET_CODE_DAYS", 3),
        # How long a batch's slips can be printed and exported again; then the worker wipes their plaintext.
        code_reprint_hours=_env_int("CODE_REPRINT_HOURS", 24),
        max_roster_bytes=_env_int("MAX_ROSTER_BYTES", 64 * 1024 * 1024),
        recording_max_bytes=_env_int("RECORDING_MAX_BYTES", 4 * 1024**3),
        document_max_bytes=_env_int("DOCUMENT_MAX_BYTES", 500 * 1024**2),
        space_quota_bytes=_env_int("SPACE_QUOTA_BYTES", 20 * 1024**3),
        upload_chunk_bytes=_env_int("UPLOAD_CHUNK_BYTES", 8 * 1024**2),
        # Where browsers reach MinIO for presigned playback URLs (host:port); defaults to the endpoint.
        minio_public_endpoint=_env("MINIO_PUBLIC_ENDPOINT"),
        # "presign": redirect browsers to short-lived MinIO URLs; "proxy": stream Range requests through the app.
        playback_mode=_env("PLAYBACK_MODE", "presign"),
        # Life of a presigned playback or download URL: a link stops working this soon after the
        # lesson is withdrawn; the player asks the app for a fresh one (lessons/playback.py).
        presign_seconds=_env_int("PRESIGN_SECONDS", 60),
        # How many reverse proxies in front of the app set X-Forwarded-For/-Proto/-Host (0: trust none).
        trusted_proxies=_env_int("TRUSTED_PROXIES", 0),
        # Apply search changes after the request that made them (scripts/run turns it off: its `learnspace worker` drains).
        search_drain_after_request=_env("SEARCH_DRAIN_AFTER_REQUEST", "1") == "1",
        # Load jieba's and pypinyin's dictionaries in the background at start (served apps; scripts/run sets it).
        search_warm_up=_env("SEARCH_WARM_UP", "0") == "1",
        # This app node's name for its search replica's cursor (learnspace/search/nodes.py).
        node_id=_env("NODE_ID") or default_node_id(Path(_env("SEARCH_DIR", str(var_dir / "search")))),
        # Outbox rows older than this are pruned even if a node has not applied them (it then rebuilds).
        search_outbox_retention_days=_env_int("SEARCH_OUTBOX_RETENTION_DAYS", 7),
        # Who may read /metrics besides loopback: Prometheus's networks, or a bearer token (learnspace/metrics.py).
        metrics_networks=_env_networks("METRICS_NETWORKS"),
        metrics_token=_env("METRICS_TOKEN"),
        # "text" (one readable line per record) or "json" (one JSON object per line, for log shippers).
        log_format=_env("LOG_FORMAT", "text"),
        # Where people reach the site (https://space.example.edu.cn); its host is trusted, https makes cookies secure.
        public_url=_public_url(_env("PUBLIC_URL")),
        # Further Host names the app answers to (comma-separated; ".example.edu.cn" takes every subdomain).
        trusted_hosts=tuple(h.strip() for h in (_env("TRUSTED_HOSTS") or "").split(",") if h.strip()),
        # Body limit of every request but the roster import (max_roster_bytes): a photo (2 MB) or a
        # blocked-word list (5 MB) still reaches its form's own, friendlier check.
        max_form_bytes=_env_int("MAX_FORM_BYTES", 8 * 1024 * 1024),
    )
    return to_flask_config(settings)


def default_node_id(search_dir: Path) -> str:
    """Return the host name and a hash of the search directory: stable across restarts, distinct per replica."""
    import hashlib
    import socket

    digest = hashlib.sha256(str(search_dir.resolve()).encode()).hexdigest()[:8]
    return f"{socket.gethostname()[:100]}-{digest}"


#: Host names a request on this machine may use whatever the configuration (health probes, scripts/run).
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _public_url(raw: str | None) -> str | None:
    if raw is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") or parts.query:
        raise ConfigError(f"LEARNSPACE_PUBLIC_URL must look like https://space.example.edu.cn (no path), got {raw!r}")
    return f"{parts.scheme}://{parts.netloc}"


def trusted_hosts(s: Settings) -> list[str]:
    """Return the Host names the app answers to: loopback, the public URL's host and LEARNSPACE_TRUSTED_HOSTS."""
    from urllib.parse import urlsplit

    hosts = list(LOOPBACK_HOSTS)
    if s.public_url:
        hosts.append(urlsplit(s.public_url).hostname)
    return hosts + [h for h in s.trusted_hosts if h not in hosts]


def _decode_data_key(raw: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(raw.encode())
    except (ValueError, TypeError) as exc:
        raise ConfigError("LEARNSPACE_DATA_KEY must be 32 bytes, URL-safe base64 encoded") from exc
    if len(key) != 32:
        raise ConfigError("LEARNSPACE_DATA_KEY must be 32 bytes, URL-safe base64 encoded")
    return key


def to_flask_config(s: Settings) -> dict:
    """Translate settings into the keys Flask and its extensions expect."""
    from datetime import timedelta

    secure = s.secure_cookies or (s.public_url or "").startswith("https://")
    return {
        "LEARNSPACE": s,
        "SECRET_KEY": s.secret_key,
        "SEARCH_DRAIN_AFTER_REQUEST": s.search_drain_after_request,
        "SEARCH_WARM_UP": s.search_warm_up,
        "SQLALCHEMY_DATABASE_URI": s.database_url,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure,
        "REMEMBER_COOKIE_SECURE": secure,
        # A Host header outside this list gets 400, so it cannot steer the OIDC redirect_uri or links.
        "TRUSTED_HOSTS": trusted_hosts(s),
        "PREFERRED_URL_SCHEME": "https" if secure else "http",
        "SESSION_COOKIE_NAME": "learnspace_session",
        # The absolute timeout is enforced on the server too (accounts.sessions);
        # the cookie lifetime only makes the browser forget it at the same time.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=s.session_absolute_hours),
        "REMEMBER_COOKIE_DURATION": timedelta(seconds=0),
        "MAX_CONTENT_LENGTH": s.max_form_bytes,
        "WTF_CSRF_TIME_LIMIT": None,
        "JSON_AS_ASCII": False,
    }


def validate(config) -> None:
    """Fail fast with a clear message when the configuration cannot work."""
    s: Settings = config["LEARNSPACE"]
    url = config["SQLALCHEMY_DATABASE_URI"]
    if not (url.startswith("sqlite") or url.startswith("postgresql")):
        raise ConfigError(f"LEARNSPACE_DATABASE_URL must be sqlite:/// or postgresql+psycopg://, got {url.split(':')[0]}")
    if config.get("STORAGE_BACKEND", "minio") == "minio" and not (s.minio_access_key and s.minio_secret_key):
        if s.minio_credentials_file_is_admin:
            raise ConfigError(
                f"{s.minio_credentials_file} holds MinIO's root credentials, which the app does not use: "
                "run `learnspace storage provision` with LEARNSPACE_MINIO_ADMIN_CREDENTIALS_FILE pointing at it, "
                "and LEARNSPACE_MINIO_CREDENTIALS_FILE at the app's own file (see the README)"
            )
        raise ConfigError(
            "MinIO credentials are missing: set LEARNSPACE_MINIO_ACCESS_KEY and LEARNSPACE_MINIO_SECRET_KEY, "
            f"or create {s.minio_credentials_file} with `learnspace storage provision` (scripts/run does)"
        )
    if s.playback_mode not in ("presign", "proxy"):
        raise ConfigError("LEARNSPACE_PLAYBACK_MODE must be presign or proxy")
    if not 1 <= s.presign_seconds <= 60:
        # A withdrawn lesson must stop playing within a minute for holders of old links.
        raise ConfigError(f"LEARNSPACE_PRESIGN_SECONDS must be between 1 and 60, got {s.presign_seconds}")
    if s.upload_chunk_bytes < 5 * 1024**2:
        raise ConfigError("LEARNSPACE_UPLOAD_CHUNK_BYTES must be at least 5 MiB (MinIO's smallest composable part)")
    if s.metrics_token is not None and len(s.metrics_token) < 32:
        raise ConfigError("LEARNSPACE_METRICS_TOKEN must be at least 32 characters (e.g. `openssl rand -hex 32`)")
    if s.log_format not in ("text", "json"):
        raise ConfigError(f"LEARNSPACE_LOG_FORMAT must be text or json, got {s.log_format!r}")
    if s.minio_access_key == "minioadmin":
        raise ConfigError("refusing MinIO's well-known default credentials; generate your own")
