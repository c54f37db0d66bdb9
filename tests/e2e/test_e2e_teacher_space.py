"""A teacher fills in their space (profile, photo, announcement); a student of another school follows it on a phone."""
from __future__ import annotations

import re
import struct
import zlib

import pytest
from playwright.sync_api import expect

from tests.fixtures.people import give_login
from tests.fixtures.world import PASSWORD
from tests.spaces.test_space_page import _space_id
from tests.spaces.test_teacher_space import ALL_PARTS, _lesson

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


def _portrait_png(size: int = 96) -> bytes:
    """A small PNG with a soft blue gradient, standing in for a portrait."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"".join(bytes((40 + x, 110 + y // 2, 200)) for x in range(size)) for y in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def _fits(visit) -> None:
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], size


def test_teacher_builds_a_space_and_a_student_follows_it(app, world, open_browser):
    """Profile, photo and announcement by the teacher; the student sees lessons by chapter, follows, gets the news."""
    teacher_login = give_login(app, world.people["teacher_a1"])
    student_login = give_login(app, world.people["student_b1"])
    _lesson(app, world, title="认识时间", visibility="public", parts=ALL_PARTS, published_ago=3)
    _lesson(app, world, title="秒的认识", node="section", visibility="public", parts=("recording",), published_ago=2)
    _lesson(app, world, title="万以内的加法", node="chapter2", visibility="public", parts=("recording", "lesson_plan"),
            published_ago=1)
    space_url = f"/spaces/{_space_id(app, world.people['teacher_a1'])}"

    teacher = open_browser()
    page = teacher.page
    sign_in(teacher, teacher_login, PASSWORD)
    page.goto("/space")
    page.get_by_role("link", name="编辑资料").click()
    expect(page.get_by_role("heading", name="编辑教师资料")).to_be_visible()
    page.set_input_files("#photo", files=[{"name": "我的照片.png", "mimeType": "image/png",
                                           "buffer": _portrait_png()}])
    with page.expect_navigation():
        page.get_by_role("button", name="上传照片").click()
    expect(page.get_by_text("照片已更新")).to_be_visible()
    for subject in ("数学", "科学"):
        page.get_by_label(subject, exact=True).check()
    for grade in ("三年级", "四年级"):
        page.get_by_label(grade, exact=True).check()
    page.get_by_label("个人简介").fill("从教十年，喜欢用生活中的例子讲数学。\n欢迎同学们在课程下面提问。")
    page.get_by_label("公开").check()
    teacher.shot("profile-form")
    with page.expect_navigation():
        page.get_by_role("button", name="保存", exact=True).click()
    expect(page.get_by_text("教师资料已保存")).to_be_visible()
    page.get_by_placeholder(re.compile("写给关注您的")).fill("周三下午第二节公开课改到 302 教室，欢迎来听课。")
    with page.expect_navigation():
        page.get_by_role("button", name="发布公告").click()
    expect(page.locator("#announcements")).to_contain_text("302 教室")
    expect(page.locator("img.avatar.photo")).to_be_visible()
    assert page.locator("img.avatar.photo").evaluate("img => img.naturalWidth") == 96
    teacher.shot("own-space")
    page.goto("/lessons/new")
    expect(page.get_by_label("公开")).to_be_checked()

    student = open_browser(PHONE)
    spage = student.page
    sign_in(student, student_login, PASSWORD)
    spage.goto(space_url)
    expect(spage.get_by_role("heading", name="李老师的个人空间")).to_be_visible()
    lessons = spage.locator("#lessons")
    expect(lessons).to_contain_text("第一单元 时、分、秒")
    expect(lessons).to_contain_text("四项齐全")
    expect(spage.locator("#resources")).to_contain_text("认识时间-lesson_plan.pdf")
    _fits(student)
    with spage.expect_navigation():
        spage.get_by_role("button", name="＋ 关注").click()
    expect(spage.get_by_text("已关注李老师")).to_be_visible()
    expect(spage.locator(".space-counts")).to_contain_text("1 人关注")
    expect(spage.locator(".space-counts")).to_contain_text("1 次访问")
    _fits(student)
    student.shot("teacher-space")
    spage.goto("/space")
    expect(spage.locator("#feed")).to_contain_text("302 教室")
    expect(spage.locator("#following")).to_contain_text("李老师")
    _fits(student)
    student.shot("own-space-feed")
