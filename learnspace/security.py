"""Response headers that every page carries."""
from __future__ import annotations

from flask import Response, g, request, session
from werkzeug.exceptions import SecurityError

from .storage.delivery import public_origin

# Inline styles stay allowed for computed widths (progress bars); scripts must be files under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; object-src 'none'; frame-ancestors 'none'; base-uri 'self'"
)
#: Lets a page compile WebAssembly (hash-wasm's SHA-256 on the upload pages, for plain http where crypto.subtle
#: is missing) without allowing eval() of scripts.
WASM = "'wasm-unsafe-eval'"


def content_security_policy(config) -> str:
    """Return the CSP for this deployment: uploads PUT their parts to MinIO's public origin (connect-src),
    and in presign mode videos load from there too (media-src)."""
    settings = config.get("LEARNSPACE")
    if settings is None or config.get("STORAGE_BACKEND", "minio") != "minio":
        return CONTENT_SECURITY_POLICY

    # Only these widen: posters are served by the app, documents are downloads, not embeds.
    origin = public_origin(settings)
    policy = CONTENT_SECURITY_POLICY + f"; connect-src 'self' {origin}"
    if settings.playback_mode != "presign":
        return policy
    return policy.replace("media-src 'self' blob:", f"media-src 'self' blob: {origin}")


def upload_page_policy(policy: str) -> str:
    """Return *policy* for a page that uploads: hash-wasm may compile WebAssembly (connect-src is every page's)."""
    return policy.replace("script-src 'self'", f"script-src 'self' {WASM}", 1)


def csp_upload_page() -> str:
    """Mark this response as an upload page (call it from the template that loads upload.js); returns ''."""
    g.csp_upload_page = True
    return ""


#: Endpoints that take a bigger body than LEARNSPACE_MAX_FORM_BYTES: the roster import (LEARNSPACE_MAX_ROSTER_BYTES).
LARGE_BODY_ENDPOINTS = ("admin.roster",)
#: Paths whose pages are never stored by a browser or proxy, signed in or not.
PRIVATE_PREFIXES = ("/admin", "/stats", "/moderation")


def cache_control(response) -> None:
    """Forbid storing pages of a signed-in session or an admin area (the back button after sign-out, shared
    computers in a school lab, caching proxies); static files and views that chose their own caching keep it."""
    if request.endpoint == "static":
        return
    chosen = response.headers.get("Cache-Control", "")
    if "private" in chosen or "public" in chosen or "no-store" in chosen:
        return
    # "_user_id" is Flask-Login's key: reading it avoids loading the user on every anonymous response.
    if "_user_id" in session or request.path.startswith(PRIVATE_PREFIXES):
        response.headers["Cache-Control"] = "no-store"


def init_security_headers(app) -> None:
    """Add CSP, no-sniff, frame, referrer and cache headers to every response; set per-endpoint body limits."""
    policy = content_security_policy(app.config)
    upload_policy = upload_page_policy(policy)
    app.add_template_global(csp_upload_page, "csp_upload_page")
    roster_bytes = app.config["LEARNSPACE"].max_roster_bytes if "LEARNSPACE" in app.config else None

    @app.errorhandler(SecurityError)
    def _untrusted_host(_exc):
        # Plain text: the error page template builds URLs, and there is no URL adapter for an untrusted host.
        return Response("400 网站地址不对：请使用学校公布的网址访问。\n"
                        "管理员：把这个地址加入 LEARNSPACE_TRUSTED_HOSTS 或 LEARNSPACE_PUBLIC_URL。\n",
                        400, mimetype="text/plain")

    def _body_limit():
        # Werkzeug checks request.max_content_length when the body is first parsed: before CSRFProtect's hook.
        if roster_bytes and request.endpoint in LARGE_BODY_ENDPOINTS:
            request.max_content_length = roster_bytes

    app.before_request_funcs.setdefault(None, []).insert(0, _body_limit)

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy",
                                    upload_policy if g.get("csp_upload_page") else policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        cache_control(response)
        return response
