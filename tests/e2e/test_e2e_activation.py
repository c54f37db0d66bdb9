"""A school admin prints activation codes; a rostered teacher activates and lands in their space."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.world import PASSWORD

from .harness import (
    CLASS_ROSTER,
    SCHOOL_A1,
    activate,
    code_for,
    import_roster_directly,
    print_codes,
    sign_in,
    today_in_shanghai,
)

pytestmark = pytest.mark.e2e

TEACHER_PASSWORD = "Zhou2026wenjing"


def test_admin_prints_codes_and_teacher_activates_into_own_space(app, world, open_browser):
    """Codes printed for 三年级1班 in a new tab; the class teacher activates with name, code and password."""
    import_roster_directly(app, SCHOOL_A1, CLASS_ROSTER)

    admin = open_browser()
    page = sign_in(admin, world.admins["school_a1"], PASSWORD, "admin-login")
    with page.expect_navigation():
        page.get_by_role("link", name="芙蓉区第一小学").first.click()
    expect(page.get_by_role("heading", name="芙蓉区第一小学", exact=True)).to_be_visible()
    admin.shot("school")

    printed = print_codes(admin, "三年级", "1班")
    expect(printed.locator(".slip")).to_have_count(4)  # 张小明 (world), 陈一鸣, 刘思雨 and 周文静
    expect(printed.locator(".slip").filter(has_text="赵子涵")).to_have_count(0)  # another class
    code = code_for(printed, "周文静")
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{2}", code), code
    printed.close()

    # The teacher, on their own computer, opens the site and activates.
    teacher = open_browser()
    tpage = teacher.page
    tpage.goto("/")
    teacher.shot("welcome")
    tpage.get_by_role("link", name="用激活码开通空间").click()
    expect(tpage.get_by_role("heading", name="激活个人学习空间")).to_be_visible()
    teacher.shot("activate")

    activate(teacher, "周文静", "ABCD-EFGH-JK", TEACHER_PASSWORD)  # a mistyped code first
    expect(tpage.get_by_role("alert")).to_contain_text("姓名或激活码不正确")
    expect(tpage.get_by_label("姓名")).to_have_value("周文静")  # what was typed is kept
    teacher.shot("activate-wrong-code")

    activate(teacher, "周文静", code.lower().replace("-", " "), TEACHER_PASSWORD)  # as a person might type it
    expect(tpage).to_have_url(re.compile(r"/space$"))
    expect(tpage.get_by_role("status")).to_contain_text("欢迎，周文静！")
    expect(tpage.get_by_role("status")).to_contain_text("T4301020001101")
    expect(tpage.get_by_role("heading", level=1)).to_have_text("周文静的个人空间")
    facts = tpage.locator(".profile dl")
    expect(facts).to_contain_text("教师")
    expect(facts).to_contain_text("芙蓉区第一小学")
    expect(facts.locator("dt", has_text="开通时间").locator("+ dd")).to_contain_text(today_in_shanghai())
    teacher.shot("space")

    # The new password works for the next sign-in, and the code cannot be used twice.
    with tpage.expect_navigation():
        tpage.get_by_role("button", name="退出").click()
    expect(tpage.get_by_role("status")).to_contain_text("您已退出登录")
    sign_in(teacher, "T4301020001101", TEACHER_PASSWORD, "login-again")
    expect(tpage.get_by_role("heading", level=1)).to_have_text("周文静的个人空间")
    teacher.shot("space-after-login")

    page.reload()
    people = page.locator("#people")
    expect(people.get_by_role("row").filter(has_text="周文静")).to_contain_text("已开通")
    expect(page.locator(".stat", has_text="已开通空间").locator("b")).to_have_text("1")
    admin.shot("school-after-activation")
