"""The key pages work on a phone (390×844): nothing wider than the screen, errors visible."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.world import PASSWORD

from .harness import CLASS_ROSTER, PHONE, SCHOOL_A1, activate, code_for, import_roster_directly, print_codes, sign_in

pytestmark = pytest.mark.e2e


def assert_fits(visit, page=None) -> None:
    """The page must not scroll sideways: the body is no wider than the window."""
    size = visit.overflow(page)
    assert size["scrollWidth"] <= size["innerWidth"], (
        f"{(page or visit.page).url} is {size['scrollWidth']}px wide on a {size['innerWidth']}px screen; "
        f"too wide: {size['wide']}")


def test_sign_in_and_activation_pages_fit_a_phone(app, world, open_browser):
    """Welcome, login and activation pages, with their error states, fit a phone screen."""
    student = open_browser(PHONE)
    page = student.page
    page.goto("/")
    expect(page.get_by_role("heading", name="一人一空间，人人用空间")).to_be_visible()
    assert_fits(student)
    student.shot("welcome")

    sign_in(student, "G430102201501010011", "not-the-password", "login")
    expect(page.get_by_role("alert")).to_contain_text("账号或密码不正确")
    expect(page.get_by_role("alert")).to_be_in_viewport()
    assert_fits(student)
    student.shot("login-wrong-password")

    page.get_by_role("link", name="激活个人空间").click()
    expect(page.get_by_role("heading", name="激活个人学习空间")).to_be_visible()
    assert_fits(student)
    student.shot("activate")

    page.get_by_label("确认密码").fill("something")
    with page.expect_navigation():
        page.get_by_role("button", name="激活并进入我的空间").click()
    for message in ("请输入姓名", "请输入激活码", "请设置密码", "两次输入的密码不一致"):
        expect(page.get_by_text(message)).to_be_visible()
    assert_fits(student)
    student.shot("activate-empty")

    page.goto("/no-such-page")
    expect(page.get_by_text("页面不存在")).to_be_visible()
    assert_fits(student)
    student.shot("not-found")


def test_admin_and_new_space_pages_fit_a_phone(app, world, open_browser):
    """A school admin prints codes on a phone; a student activates on a phone and sees their space."""
    import_roster_directly(app, SCHOOL_A1, CLASS_ROSTER)

    admin = open_browser(PHONE)
    page = sign_in(admin, world.admins["school_a1"], PASSWORD, "admin-login")
    expect(page.get_by_role("heading", name="管理首页")).to_be_visible()
    assert_fits(admin)
    admin.shot("dashboard")

    page.get_by_role("link", name="名册导入").first.click()
    expect(page.get_by_role("heading", name="名册导入")).to_be_visible()
    assert_fits(admin)
    admin.shot("roster")

    page.goto(f"/admin/schools/{SCHOOL_A1}")
    expect(page.get_by_role("heading", name="芙蓉区第一小学", exact=True)).to_be_visible()
    assert_fits(admin)
    admin.shot("school")

    printed = print_codes(admin, "三年级", "1班")
    assert_fits(admin, printed)
    code = code_for(printed, "陈一鸣")
    printed.close()
    page.reload()  # the new batch in 最近生成的批次
    expect(page.locator("#batch-list tbody tr")).to_have_count(1)
    assert_fits(admin)
    admin.shot("school-batches")

    student = open_browser(PHONE)
    student.page.goto("/activate")
    activate(student, "陈一鸣", code, "Chen2016yiming")
    spage = student.page
    expect(spage).to_have_url(re.compile(r"/space$"))
    expect(spage.get_by_role("heading", level=1)).to_have_text("陈一鸣的个人空间")
    expect(spage.locator(".profile dl")).to_contain_text("芙蓉区第一小学")
    expect(spage.locator(".profile dl")).to_contain_text("三年级1班")
    assert_fits(student)
    student.shot("space")
