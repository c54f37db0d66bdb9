"""Sign-in through a regional identity provider (统一身份认证) in Chromium, against a real provider process.

The provider is ``oidc-provider-mock`` from the ``oidc_world`` fixture ("hunan"
in the test app's configuration), on its own loopback port. Its pages link a
stylesheet on a public CDN; the tests block that request, so nothing ever
leaves the machine (the provider's page is then plain, which is fine).
"""
from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.fixtures.world import PASSWORD

from .harness import SCHOOL_A1, today_in_shanghai

pytestmark = pytest.mark.e2e

HUNAN_BUTTON = "使用湖南省教育统一身份认证登录"


def provider_browser(open_browser, oidc_world):
    """A browser that may visit the "hunan" provider's port, with the provider's CDN stylesheet blocked."""
    visit = open_browser(allow=(oidc_world.good.base,))
    visit.context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    return visit


def authorize_as(visit, oidc_world, sub: str) -> None:
    """On the provider's login page, sign in as *sub* (the mock's form: a subject field and Authorize)."""
    page = visit.page
    expect(page).to_have_url(re.compile("^" + re.escape(oidc_world.good.base + "/oauth2/authorize?")))
    expect(page.get_by_role("heading", name="Authorize Client")).to_be_visible()
    page.get_by_placeholder("sub").fill(sub)
    visit.shot("provider-login")
    with page.expect_navigation(url=re.compile("^" + re.escape(visit.base_url))):  # back through the callback
        page.get_by_role("button", name="Authorize", exact=True).click()


def test_rostered_teacher_signs_in_with_one_click_and_signs_out_at_the_provider(
        app, world, oidc_world, open_browser, live_server):
    """李老师 clicks the provider's button, picks her subject, lands in her newly activated space; logout ends SSO."""
    sub = "e2e-hunan-teacher-li"
    oidc_world.set_user(sub, name="李老师", teacher_number="T4301020001001", school_code=SCHOOL_A1)

    teacher = provider_browser(open_browser, oidc_world)
    page = teacher.page
    page.goto("/login")
    teacher.shot("login")
    page.get_by_role("link", name=HUNAN_BUTTON).click()
    authorize_as(teacher, oidc_world, sub)

    expect(page).to_have_url(re.compile(r"/space$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("李老师的个人空间")
    facts = page.locator(".profile dl")
    expect(facts).to_contain_text("教师")
    expect(facts).to_contain_text("芙蓉区第一小学")
    expect(facts.locator("dt", has_text="开通时间").locator("+ dd")).to_contain_text(today_in_shanghai())
    expect(page.get_by_text("李老师（教师）")).to_be_visible()
    teacher.shot("space")

    with app.app_context():  # activated by this sign-in, and linked to the provider's subject
        from learnspace.accounts.models import Identity
        from learnspace.extensions import db
        from learnspace.spaces.models import Space

        identity = db.session.query(Identity).filter_by(provider="hunan", subject=sub).one()
        assert identity.user_id == world.people["teacher_a1"]
        assert db.session.query(Space).filter_by(owner_id=identity.user_id).one().activation_method == "oidc"
        db.session.remove()

    # Signing out also ends the provider's session: the browser goes to its end-session page.
    with page.expect_navigation(url=re.compile("^" + re.escape(oidc_world.good.base + "/oauth2/end_session?"))):
        page.get_by_role("button", name="退出").click()
    query = parse_qs(urlsplit(page.url).query)
    assert query["post_logout_redirect_uri"] == [f"{live_server}/login"]
    assert query["client_id"] == ["learnspace-test"]
    expect(page.get_by_role("heading", name="End Session")).to_be_visible()
    teacher.shot("provider-end-session")

    with page.expect_navigation(url=re.compile(r"/login$")):
        page.get_by_role("button", name="End session").click()
    expect(page.get_by_role("status")).to_contain_text("您已退出登录")
    teacher.shot("signed-out")
    page.goto("/space")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_person_not_on_a_roster_gets_an_explanation_and_can_still_use_a_password(
        app, world, oidc_world, open_browser):
    """Someone the provider knows but no roster lists is told why, in Chinese; the page's password form works."""
    sub = "e2e-hunan-unrostered"
    oidc_world.set_user(sub, name="林新来", student_number="G430102201509099999", school_code=SCHOOL_A1)

    visitor = provider_browser(open_browser, oidc_world)
    page = visitor.page
    page.goto("/login")
    page.get_by_role("link", name=HUNAN_BUTTON).click()
    authorize_as(visitor, oidc_world, sub)

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("未在学校名册中找到与您身份信息一致的学生或教师")
    expect(alert).to_contain_text("请联系您所在学校的管理员")
    expect(page.get_by_role("link", name=HUNAN_BUTTON)).to_be_visible()  # can try again
    visitor.shot("not-on-roster")

    # The explanation is shown at the callback URL; the password form there must still post to /login.
    page.get_by_label("账号", exact=True).fill(world.admins["school_a1"])
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="登录", exact=True).click()
    expect(page).to_have_url(re.compile(r"/admin"))
    visitor.shot("password-after-refusal")
