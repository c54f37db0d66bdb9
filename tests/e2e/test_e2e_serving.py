"""Through gunicorn (the production server): a person signs in, signs out, and Back shows nothing private."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.serving import gunicorn_serving
from tests.fixtures.world import PASSWORD

from .harness import DESKTOP, PHONE, Visit, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def gunicorn_base(app, app_env, tmp_path_factory):
    with gunicorn_serving(app_env, tmp_path_factory.mktemp("gunicorn-e2e") / "gunicorn.log") as (base, _proc):
        yield base


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_signed_in_pages_are_gone_after_sign_out_even_with_back(app, world, browser, shots, gunicorn_base,
                                                               viewport):
    visit = Visit(browser, gunicorn_base, shots, viewport, "phone" if viewport is PHONE else "desktop")
    try:
        page = visit.page
        sign_in(visit, world.admins["platform"], PASSWORD, "login")
        page.goto("/admin/")
        expect(page.get_by_role("button", name="退出")).to_be_visible()
        admin_page = page.url
        visit.shot("admin-signed-in")

        page.get_by_role("button", name="退出").click()
        expect(page.get_by_role("button", name="登录")).to_be_visible()
        page.go_back()
        # The admin page was sent with Cache-Control: no-store: Back asks the server again, which now sends the
        # visitor to sign in instead of showing the administrator's page from the browser's cache.
        expect(page.get_by_role("button", name="退出")).to_have_count(0)
        expect(page.get_by_role("button", name="登录")).to_be_visible()
        visit.shot("back-after-sign-out")
        assert page.url != admin_page or "login" in page.url
        assert not visit.problems, visit.problems
    finally:
        visit.close()
