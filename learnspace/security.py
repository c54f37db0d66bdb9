"""Response headers that every page carries."""
from __future__ import annotations

from flask import g

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


def init_security_headers(app) -> None:
    """Add CSP, no-sniff, frame and referrer headers to every response."""
    policy = content_security_policy(app.config)
    upload_policy = upload_page_policy(policy)
    app.add_template_global(csp_upload_page, "csp_upload_page")

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy",
                                    upload_policy if g.get("csp_upload_page") else policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
