"""The conversation under a lesson in a real browser.

A pupil (guardian consent on file) asks a question under a public lesson, then tries a comment with a
blocked word in traditional characters with a space in between: the page names the term and keeps the
text for fixing; nothing is posted. The teacher answers (the reply is marked 授课教师) and a pupil of
another school, who sees only 张同学, reports a comment; the school admin hides it from the report page.
Screenshots of the thread on a desktop and a phone.
"""
from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.fixtures.lessons import make_lesson
from tests.fixtures.people import give_login

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e
PASSWORD = "Passw0rd-test"


def prepare(app, world) -> int:
    from learnspace.accounts import consent
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.moderation import operations as moderation

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_a1"]))
        for key in ("student_a1", "student_b1"):
            consent.record_consent(db.session.get(User, world.people[key]), admin, "家长", "母亲", date(2026, 9, 1))
        moderation.add_terms("脑残\n去死\n")
        db.session.commit()
        return make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published", visibility="public")


def test_pupils_ask_the_teacher_answers_blocked_words_are_refused(app, world, open_browser):
    lesson = prepare(app, world)
    pupil_login = give_login(app, world.people["student_a1"])
    teacher_login = give_login(app, world.people["teacher_a1"])
    other_login = give_login(app, world.people["student_b1"])

    pupil = open_browser()
    page = sign_in(pupil, pupil_login, PASSWORD)
    page.goto(f"/lessons/{lesson}#comments")
    page.get_by_label("提问").check()
    page.get_by_label("评论内容").fill("老师，秒针走一圈是一分钟，那分针走一圈是多久？\n我们组有两种答案。")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator(".flash-success")).to_contain_text("提问已发布")
    expect(page.locator(".comment").first).to_contain_text("分针走一圈是多久")

    page.get_by_label("评论", exact=True).check()
    page.get_by_label("评论内容").fill("前面那个回答真是個腦 殘")
    page.get_by_role("button", name="发布", exact=True).click()
    expect(page.locator("#compose-error")).to_contain_text("网络负面用语“脑残”")
    expect(page.locator("#comment-body")).to_have_value("前面那个回答真是個腦 殘")
    pupil.shot("blocked-comment")
    page.locator("#comment-body").fill("前面那个回答我没看懂，能再讲一遍吗？")
    page.get_by_role("button", name="重新发布").click()
    expect(page.locator(".flash-success")).to_contain_text("评论已发布")
    expect(page.locator(".comment-list > .comment")).to_have_count(2)

    teacher = open_browser()
    tpage = sign_in(teacher, teacher_login, PASSWORD)
    tpage.goto(f"/lessons/{lesson}#comments")
    question = tpage.locator(".comment-list > .comment", has_text="分针走一圈")
    question.get_by_text("回复", exact=True).click()
    question.get_by_label("回复").fill("分针走一小格是 1 分钟，走一圈是 60 小格，也就是 60 分钟 = 1 小时。")
    question.get_by_role("button", name="发布回复").click()
    expect(tpage.locator(".flash-success")).to_contain_text("回复已发布")
    answered = tpage.locator(".comment-list > .comment", has_text="分针走一圈")
    expect(answered.locator(".replies .teacher-tag")).to_have_text("授课教师")
    expect(answered.locator(".comment-head").first).to_contain_text("教师已回答")
    answered.locator(".like").first.click()
    expect(tpage.locator(".comment-list > .comment", has_text="分针走一圈").locator(".like").first).to_contain_text("赞 1")
    teacher.shot("thread")

    other = open_browser(PHONE)
    opage = sign_in(other, other_login, PASSWORD)
    opage.goto(f"/lessons/{lesson}#comments")
    expect(opage.locator(".comment-author").first).to_have_text("张同学")
    expect(opage.locator("#comments")).not_to_contain_text("张小明")
    target = opage.locator(".comment-list > .comment", has_text="没看懂")
    target.get_by_text("举报", exact=True).click()
    target.get_by_label("举报原因").select_option("spam")
    target.get_by_role("button", name="提交举报").click()
    expect(opage.locator(".flash-success")).to_contain_text("举报已提交")
    size = other.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"lesson page too wide on a phone: {size}"
    opage.locator("#comments").scroll_into_view_if_needed()
    other.shot("thread")
    # A close-up of the thread as the phone shows it (the full page is long).
    opage.locator("#comments").screenshot(path=str(other.shots.folder / f"{other.shots.prefix}-99-thread-closeup-phone.png"))

    admin = open_browser()
    apage = sign_in(admin, world.admins["school_a1"], PASSWORD)
    expect(apage.locator(".mainnav .badge")).to_have_text("1")
    apage.get_by_role("link", name="评论举报").click()
    expect(apage.locator(".report-item")).to_contain_text("没看懂")
    admin.shot("reports")
    apage.get_by_role("button", name="隐藏评论").click()
    expect(apage.locator(".flash-success")).to_contain_text("已隐藏该评论")

    opage.reload()
    expect(opage.locator("#comments")).to_contain_text("此条内容已被隐藏")
    expect(opage.locator("#comments")).not_to_contain_text("没看懂")


def test_platform_admin_keeps_the_blocked_word_list(app, world, open_browser, tmp_path):
    """Import a GBK file with one bad line (refused whole, line named), fix it, try a sentence, on a phone too."""
    bad = tmp_path / "清单.txt"
    bad.write_bytes("# 2026 版\n脑残\n？？\n去死\n".encode("gbk"))
    good = tmp_path / "清单-改.txt"
    good.write_bytes("# 2026 版\n脑残\n去死\n垃圾老师\n".encode("gbk"))

    for viewport, label in ((None, "desktop"), (PHONE, "phone")):
        visit = open_browser(viewport) if viewport else open_browser()
        page = sign_in(visit, world.admins["platform"], PASSWORD)
        page.get_by_role("link", name="负面用语").click()
        if label == "desktop":
            page.get_by_label("清单文件").set_input_files(str(bad))
            page.get_by_role("button", name="导入").click()
            expect(page.locator(".flash-error")).to_contain_text("1 行有误")
            expect(page.locator("#problems")).to_contain_text("只有空格、标点或符号")
            visit.shot("import-refused")
            page.get_by_label("清单文件").set_input_files(str(good))
            page.get_by_role("button", name="导入").click()
            expect(page.locator(".flash-success")).to_contain_text("新增 3 个词")
        page.get_by_label("试一试").fill("你真是個 垃圾．老師")
        page.get_by_role("button", name="检查").click()
        expect(page.locator("#sample-result")).to_contain_text("垃圾老师")
        expect(page.locator("#terms tbody tr")).to_have_count(3)
        size = visit.overflow()
        assert size["scrollWidth"] <= size["innerWidth"], f"page too wide: {size}"
        visit.shot("blocked-words")
