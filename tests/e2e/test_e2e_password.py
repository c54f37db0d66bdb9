"""A teacher changes their password in one browser; the phone where they were also signed in is signed out."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "Hongtaiyang-qilai7-mao"


def _fill(page, current: str, new: str) -> None:
    page.get_by_label("当前密码").fill(current)
    page.get_by_label("新密码", exact=True).fill(new)
    page.get_by_label("再次输入新密码").fill(new)
    with page.expect_navigation():
        page.get_by_role("button", name="修改密码").click()


def test_teacher_changes_password_and_the_other_browser_is_signed_out(app, world, open_browser):
    """Weak and own-name passwords are refused in Chinese first; then the change signs the phone out."""
    teacher = give_login(app, world.people["teacher_a1"])
    phone = open_browser(viewport=PHONE)
    sign_in(phone, teacher, PASSWORD, "phone-login")
    expect(phone.page.get_by_role("heading", level=1)).to_have_text("李老师的个人空间")

    desk = open_browser()
    page = sign_in(desk, teacher, PASSWORD)
    with page.expect_navigation():
        page.get_by_role("link", name="修改密码").click()
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.locator(".password-rule")).to_contain_text("姓名拼音")
    desk.shot("password-page")

    _fill(page, PASSWORD, "12345678")
    expect(page.get_by_role("alert")).to_contain_text("这个密码太容易被猜到")
    expect(page.get_by_role("alert")).to_contain_text("请换一个别人猜不到的密码")
    desk.shot("password-weak")
    _fill(page, PASSWORD, "LiLaoshi-2026")
    expect(page.get_by_role("alert")).to_contain_text("密码不能包含您的姓名拼音")
    desk.shot("password-own-name")

    _fill(page, PASSWORD, NEW_PASSWORD)
    expect(page.get_by_role("status")).to_contain_text("密码已修改")
    expect(page.get_by_role("status")).to_contain_text("其他 1 处的登录已全部退出")
    desk.shot("password-changed")
    page.goto("/space")
    expect(page.get_by_role("heading", level=1)).to_have_text("李老师的个人空间")  # this browser stays in

    phone.page.reload()
    expect(phone.page).to_have_url(re.compile(r"/login"))
    phone.shot("phone-signed-out")
    sign_in(phone, teacher, PASSWORD, "phone-old-password")
    expect(phone.page.get_by_role("alert")).to_contain_text("账号或密码不正确")
    sign_in(phone, teacher, NEW_PASSWORD, "phone-new-password")
    expect(phone.page.get_by_role("heading", level=1)).to_have_text("李老师的个人空间")
    phone.page.goto("/account/password")
    phone.shot("phone-password-page")
    assert phone.overflow()["scrollWidth"] <= PHONE["width"]


def test_school_admin_clears_a_pupils_sign_in_delay(app, world, open_browser):
    """A classmate guessed a pupil's password; the school admin sees 登录限制 on her page and clears it."""
    from tests.fixtures.helpers import login
    from tests.fixtures.people import client_at

    pupil = give_login(app, world.people["student_a1"])
    for _ in range(6):
        login(client_at(app, "127.0.0.1"), pupil, "Wr0ng-guess-1")
    child = open_browser(viewport=PHONE)
    sign_in(child, pupil, PASSWORD, "pupil-waits")
    expect(child.page.get_by_role("alert")).to_contain_text(re.compile(r"请 \d+ 秒后再试"))

    admin = open_browser()
    page = sign_in(admin, world.admins["school_a1"], PASSWORD, "admin-login")
    page.goto(f"/admin/people/{world.people['student_a1']}")
    lockout = page.locator("#lockout")
    expect(lockout).to_contain_text("最近有 5 次输错密码")
    admin.shot("person-with-failures")
    with page.expect_navigation():
        lockout.get_by_role("button", name="解除登录限制").click()
    expect(page.get_by_role("status")).to_contain_text("已解除登录限制")
    expect(page.locator("#lockout")).to_have_count(0)
    admin.shot("person-cleared")

    sign_in(child, pupil, PASSWORD, "pupil-gets-in")
    expect(child.page.get_by_role("heading", level=1)).to_have_text("张小明的个人空间")


def test_a_class_of_mistyping_pupils_behind_one_address_does_not_stop_the_teacher(app, world, open_browser):
    """30 pupils behind the school's one NAT address each mistype; the teacher's correct password still gets in."""
    teacher = give_login(app, world.people["teacher_a1"])
    classroom = open_browser(viewport=PHONE)  # every browser here reaches the app from the same address
    page = classroom.page
    page.goto("/login")
    for pupil in range(30):  # the refused form comes back: type into it again, as the next pupil would
        page.get_by_label("账号", exact=True).fill(f"G4301020001{pupil:04d}")
        page.get_by_label("密码", exact=True).fill("wrong-password-1")
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        expect(page.get_by_role("alert")).to_contain_text("账号或密码不正确")
    classroom.shot("class-after-30-mistakes")

    desk = open_browser()
    page = sign_in(desk, teacher, PASSWORD, "teacher-login")
    expect(page.get_by_role("heading", level=1)).to_have_text("李老师的个人空间")
    desk.shot("teacher-signed-in")
