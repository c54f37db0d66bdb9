"""A school admin records a guardian's consent on a phone; the student's space leaves restricted mode."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.world import PASSWORD
from tests.study.people import add_person, birthday_years_ago

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


def test_admin_records_consent_and_the_student_space_is_no_longer_restricted(app, world, open_browser):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        kid_id = add_person(world.schools["a1"], name="何小朵", born=birthday_years_ago(9))
        add_person(world.schools["a1"], name="高年级学生", born=birthday_years_ago(15))
        kid_login = db.session.get(User, kid_id).login_name

    student = open_browser(PHONE, label="student-phone")
    spage = sign_in(student, kid_login, PASSWORD)
    expect(spage.locator("#restricted")).to_contain_text("受限模式")
    student.shot("restricted-space")

    admin = open_browser(PHONE)
    page = sign_in(admin, world.admins["school_a1"], PASSWORD)
    page.goto(f"/admin/schools/{world.schools['a1']}")
    with page.expect_navigation():
        page.get_by_role("link", name="监护人同意登记").click()
    row = page.locator(f"#student-{kid_id}")
    expect(row).to_contain_text("受限模式")
    expect(page.locator("#consent-list")).not_to_contain_text("高年级学生")
    admin.shot("consent-list")
    row.get_by_label("何小朵的监护人姓名").fill("何建国")
    row.get_by_label("与学生关系").select_option("父亲")
    with page.expect_navigation():
        row.get_by_role("button", name="登记同意").click()
    expect(page.locator(".flash-success")).to_contain_text("已登记何小朵的监护人同意")
    page.get_by_label("显示").select_option("consented")
    with page.expect_navigation():
        page.get_by_role("button", name="筛选").click()
    expect(page.locator(f"#student-{kid_id}")).to_contain_text("何建国（父亲）")
    size = admin.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"
    admin.shot("consented")

    spage.reload()
    expect(spage.locator("#restricted")).to_have_count(0)
    expect(spage.locator("#classmates")).to_be_visible()
    student.shot("space-after-consent")
