"""A pupil forgets a password; the school admin issues a reset code; the pupil sets a new one and signs in."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.world import PASSWORD

from .harness import PHONE, SCHOOL_A1, sign_in

pytestmark = pytest.mark.e2e

NUMBER = "G430102201501010011"  # 张小明, 三年级1班 of 芙蓉区第一小学 in the world fixture
NEW_PASSWORD = "Xiaoming2026ok"


def assert_fits(visit, page=None) -> None:
    """The page must not scroll sideways on a phone."""
    size = visit.overflow(page)
    assert size["scrollWidth"] <= size["innerWidth"], f"{size} too wide: {size['wide']}"


def test_pupil_forgets_password_admin_issues_reset_code_pupil_sets_a_new_one(app, world, open_browser):
    """Wrong password → 忘记密码？ → reset code from the admin (print page = Excel) → weak refused → good → sign in."""
    login_name = give_login(app, world.people["student_a1"])  # activated, then the password is forgotten

    pupil = open_browser(PHONE)
    ppage = sign_in(pupil, login_name, "Forgot2026xx", "login-wrong")
    expect(ppage.get_by_role("alert")).to_contain_text("账号或密码不正确")
    expect(ppage.get_by_role("link", name="忘记密码？")).to_be_visible()
    pupil.shot("login-failed")

    # The school admin finds the pupil and issues a reset code: its print page opens in a new tab.
    admin = open_browser()
    page = sign_in(admin, world.admins["school_a1"], PASSWORD, "admin-login")
    page.goto(f"/admin/schools/{SCHOOL_A1}")
    page.locator("#people").get_by_role("link", name="张小明").click()
    expect(page.get_by_role("heading", name="重置密码")).to_be_visible()
    admin.shot("person")
    with admin.context.expect_page() as new_tab:
        page.get_by_role("button", name="生成重置码").click()
    printed = new_tab.value
    printed.wait_for_load_state()
    expect(printed.locator(".slip")).to_have_count(1)
    slip = printed.locator(".slip")
    expect(slip).to_contain_text("张小明")
    expect(slip).to_contain_text(login_name)
    expect(slip).to_contain_text("/reset")
    code = slip.locator(".code").inner_text().strip()
    assert re.fullmatch(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{2}", code), code
    admin.shot("reset-slip", printed)

    # The Excel of the same batch carries the very same code (nothing is voided by exporting).
    with printed.expect_download() as download:
        printed.get_by_role("link", name=re.compile("导出 Excel")).click()
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    rows = list(sheet.iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[5]) for r in rows] == [("张小明", code)]
    printed.close()

    # Pressing 生成重置码 again does not silently void the slip: it first says which slip would become void.
    with admin.context.expect_page() as new_tab:
        page.get_by_role("button", name="生成重置码").click()
    asked = new_tab.value
    asked.wait_for_load_state()
    expect(asked.get_by_role("heading", name="确认重新生成重置码")).to_be_visible()
    expect(asked.locator("#void-list tbody tr")).to_have_count(1)
    expect(asked.locator("#void-list")).to_contain_text("张小明")
    admin.shot("regenerate-confirm", asked)
    asked.get_by_role("link", name="取消").click()
    expect(asked.get_by_role("heading", name="张小明")).to_be_visible()
    asked.close()

    # Back on the pupil's phone: 忘记密码？ → the reset form.
    ppage.get_by_role("link", name="忘记密码？").click()
    expect(ppage.get_by_role("heading", name=re.compile("忘记密码"))).to_be_visible()
    expect(ppage.locator(".password-rule")).to_be_visible()
    assert_fits(pupil)
    pupil.shot("reset-form")

    def fill(password: str) -> None:
        ppage.get_by_label("账号").fill(NUMBER)
        ppage.get_by_label("姓名").fill("张小明")
        ppage.get_by_label("重置码").fill(code.lower())
        ppage.get_by_label("新密码", exact=True).fill(password)
        ppage.get_by_label("确认新密码").fill(password)
        with ppage.expect_navigation():
            ppage.get_by_role("button", name="重设密码").click()

    fill("12345678")  # weak: refused, and the code stays usable
    expect(ppage.get_by_role("alert")).to_be_visible()
    expect(ppage.get_by_role("alert")).not_to_contain_text("重置码不正确")
    expect(ppage.get_by_label("账号")).to_have_value(NUMBER)
    assert_fits(pupil)
    pupil.shot("reset-weak-refused")

    fill(NEW_PASSWORD)
    expect(ppage).to_have_url(re.compile(r"/login$"))
    expect(ppage.get_by_role("status")).to_contain_text("密码已重设")
    pupil.shot("reset-done")

    sign_in(pupil, login_name, NEW_PASSWORD, "login-new")
    expect(ppage).to_have_url(re.compile(r"/space$"))
    expect(ppage.get_by_role("heading", level=1)).to_have_text("张小明的个人空间")
    pupil.shot("space")

    # The school page's batch list shows the reset batch as used.
    page.goto(f"/admin/schools/{SCHOOL_A1}#batches")
    batch_row = page.locator("#batch-list tbody tr").filter(has_text="重置码").first
    expect(batch_row.locator("td[data-label=已使用]")).to_have_text("1")
    admin.shot("school-batches")
