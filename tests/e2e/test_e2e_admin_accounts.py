"""A county admin manages school admin accounts in the browser: create, see 未设置密码, disable, re-enable."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


def _row(page, login_name: str):
    return page.locator(f'#accounts tr[data-login="{login_name}"]')


def test_county_admin_creates_disables_and_re_enables_a_school_admin(app, world, open_browser):
    visit = open_browser()
    page = sign_in(visit, world.admins["county_a"], PASSWORD)
    expect(page.get_by_role("heading", name="管理首页")).to_be_visible()
    expect(page.locator("#roster-meaning")).to_contain_text("名册人数 = 名册上的学生和教师")
    with page.expect_navigation():
        page.get_by_role("link", name="管理员账号").click()
    expect(page.get_by_role("heading", name="管理员账号", exact=True)).to_be_visible()
    expect(_row(page, world.admins["school_a1"])).to_contain_text("芙蓉区第一小学（4301020001）")
    expect(_row(page, world.admins["school_b1"])).to_have_count(0)  # another county's school
    expect(_row(page, world.admins["city_a"])).to_have_count(0)  # the admin above
    visit.shot("accounts")

    form = page.locator("#new-account")
    form.get_by_label("登录名").fill("erzhong-admin")
    form.get_by_label("姓名").fill("赵主任")
    form.get_by_label("角色").select_option("school_admin")
    expect(form.get_by_label("学校（学校管理员）").locator("option", has_text="荷塘区第一小学")).to_have_count(0)
    form.get_by_label("学校（学校管理员）").select_option("4301020002")
    with page.expect_navigation():
        form.get_by_role("button", name="设立账号").click()
    expect(page.locator(".flash-success")).to_contain_text("已设立学校管理员“赵主任”")
    row = _row(page, "erzhong-admin")
    expect(row).to_contain_text("芙蓉区第二中学（4301020002）")
    expect(row).to_contain_text("未设置密码")
    expect(row).to_contain_text("从未登录")
    visit.shot("created")

    with page.expect_navigation():
        row.get_by_role("button", name="停用").click()
    expect(page.locator(".flash-success")).to_contain_text("已停用“赵主任”")
    expect(_row(page, "erzhong-admin")).to_contain_text("已停用")
    visit.shot("disabled")
    with page.expect_navigation():
        _row(page, "erzhong-admin").get_by_role("button", name="重新启用").click()
    expect(page.locator(".flash-success")).to_contain_text("已重新启用“赵主任”")
    expect(_row(page, "erzhong-admin")).to_contain_text("未设置密码")  # back to where it was: no password yet

    # The school page lists the new admin apart from the roster; the counts do not include them.
    page.goto(f"/admin/schools/{world.schools['a2']}")
    expect(page.locator("#school-admins")).to_contain_text("赵主任")
    expect(page.locator("#people h2")).to_have_text("名册人员（0）")
    visit.shot("school-admins")

    phone = open_browser(PHONE)
    ppage = sign_in(phone, world.admins["county_a"], PASSWORD)
    ppage.goto("/admin/accounts")
    expect(_row(ppage, "erzhong-admin")).to_be_visible()
    size = phone.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    phone.shot("accounts")
    with ppage.expect_navigation():
        _row(ppage, "erzhong-admin").get_by_role("button", name="停用").click()
    expect(_row(ppage, "erzhong-admin")).to_contain_text("已停用")
    phone.shot("disabled")
    assert not visit.problems and not phone.problems, visit.problems + phone.problems
