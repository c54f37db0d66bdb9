"""Every page carries the security headers; the code slips page needs no inline script."""


def test_pages_carry_csp_and_nosniff(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    # upload parts go from the browser straight to MinIO's public origin
    assert "connect-src 'self' http://" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_templates_have_no_inline_script_handlers():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "templates"
    offenders = [p.name for p in root.rglob("*.html") if "onclick=" in p.read_text() or "<script>" in p.read_text()]
    assert offenders == []
