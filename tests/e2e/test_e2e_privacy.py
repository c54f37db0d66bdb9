"""A teacher downloads all their data from 我的数据 (the worker builds the zip) and then has the account deleted."""
from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from tests.fixtures.search import publish_lesson
from tests.fixtures.world import PASSWORD
from tests.study.people import add_person, birthday_years_ago

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


def _wait_for_zip(page):
    """Reload until the worker has built the zip (it runs in the background); return the download link."""
    for _ in range(50):
        if page.get_by_role("link", name="下载数据包").count():
            break
        page.wait_for_timeout(200)
        page.reload()
    return page.get_by_role("link", name="下载数据包")


def test_a_teacher_downloads_their_data_then_deletes_the_account(app, world, open_browser, minio_server, job_runner):
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.storage import get_storage

    with app.app_context():
        teacher_id = add_person(world.schools["a1"], "teacher", name="吴思源", born=birthday_years_ago(35))
        lesson_id = publish_lesson(teacher_id, "分数的初步认识")
        recording_key = get_storage().list_keys(f"lessons/{lesson_id}/")[0]
        recording = get_storage().get_bytes(recording_key)
        login_name = db.session.get(User, teacher_id).login_name

    visit = open_browser(allow=(f"http://{minio_server['endpoint']}",))
    page = sign_in(visit, login_name, PASSWORD)
    with page.expect_navigation():
        page.get_by_role("link", name="我的数据").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("我的数据")
    visit.shot("my-data")
    with page.expect_navigation():
        page.get_by_role("button", name="申请下载数据").click()
    expect(page.locator(".flash-success")).to_contain_text("已开始准备数据包")
    link = _wait_for_zip(page)
    expect(link).to_be_visible()
    visit.shot("export-ready")
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(download.value.path()) as archive:
        data = json.loads(archive.read("data.json"))
        assert data["person"]["real_name"] == "吴思源"
        assert [lesson["title"] for lesson in data["tables"]["lessons"]] == ["分数的初步认识"]
        files = [n for n in archive.namelist() if n.startswith("files/lessons/")]
        assert [archive.read(n) for n in files] == [recording]

    # Deletion: the password confirms it; no cooling-off in this test (production: 72 hours).
    page.get_by_label("当前登录密码").fill("not-my-password-1")
    with page.expect_navigation():
        page.get_by_role("button", name="申请注销").click()
    expect(page.locator(".flash-error")).to_contain_text("密码不正确")
    app.config["PRIVACY_COOLING_OFF_HOURS"] = 0
    try:
        page.get_by_label("当前登录密码").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="申请注销").click()
    finally:
        app.config.pop("PRIVACY_COOLING_OFF_HOURS")
    expect(page.locator(".flash-success")).to_contain_text("注销申请已提交")
    expect(page.locator("#requests")).to_contain_text("注销并删除个人数据")
    visit.shot("deletion-requested")
    # The worker deletes the account: the next page is the sign-in page, and the person is gone.
    for _ in range(50):
        with app.app_context():
            gone = db.session.get(User, teacher_id) is None
            db.session.remove()
        if gone:
            break
        page.wait_for_timeout(200)
    assert gone
    page.goto("/me/data")
    expect(page).to_have_url(re.compile(r"/login"))
    with app.app_context():
        assert get_storage().list_keys(f"lessons/{lesson_id}/") == []
        assert get_storage().list_keys("privacy/exports/") == []


def test_my_data_fits_a_phone_and_a_young_pupil_is_sent_to_the_school(app, world, open_browser):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        pupil = add_person(world.schools["a1"], name="郑小禾", born=birthday_years_ago(10), consent=True)
        older = add_person(world.schools["a1"], name="冯大同", born=birthday_years_ago(15))
        logins = {i: db.session.get(User, i).login_name for i in (pupil, older)}

    young = open_browser(PHONE, label="pupil-phone")
    page = sign_in(young, logins[pupil], PASSWORD)
    page.goto("/me/data")
    expect(page.locator("#minor")).to_contain_text("请由监护人联系学校管理员办理")
    expect(page.get_by_role("button", name="申请下载数据")).to_have_count(0)
    young.shot("young-pupil")

    # Her guardian asks the school: the school admin opens her page and asks for the zip for them.
    admin = open_browser(PHONE, label="admin-phone")
    apage = sign_in(admin, world.admins["school_a1"], PASSWORD)
    apage.goto(f"/admin/people/{pupil}")
    with apage.expect_navigation():
        apage.get_by_role("link", name="办理个人数据下载或注销").click()
    expect(apage.get_by_role("heading", level=1)).to_have_text("郑小禾的个人数据")
    with apage.expect_navigation():
        apage.get_by_role("button", name="申请下载数据").click()
    expect(apage.locator("#requests")).to_contain_text("学校管理员代办")
    expect(apage.get_by_label("姓名")).to_be_visible()  # the admin confirms a deletion by typing her name
    size = admin.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    admin.shot("admin-for-guardian")
    expect(_wait_for_zip(apage)).to_be_visible()  # the worker made it; the admin hands it to the guardian

    phone = open_browser(PHONE)
    page = sign_in(phone, logins[older], PASSWORD)
    page.goto("/me/data")
    expect(page.get_by_role("button", name="申请注销")).to_be_visible()
    size = phone.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    phone.shot("my-data")
