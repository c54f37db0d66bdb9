"""An administrator imports a school roster through the browser."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.fixtures.world import PASSWORD, valid_id

from .harness import sign_in, write_csv

pytestmark = pytest.mark.e2e

SCHOOL = "4301020001"  # 芙蓉区第一小学 in the world fixture
GOOD_ROWS = [
    ["陈一鸣", "学生", SCHOOL, "G430102201601010101", "", valid_id("43010220160101012"), "三年级", "1班"],
    ["刘思雨", "学生", SCHOOL, "G430102201602020202", "", "", "三年级", "1班"],
    ["赵子涵", "学生", SCHOOL, "G430102201603030303", "", "", "三年级", "2班"],
    ["周文静", "教师", SCHOOL, "", "T4301020001101", valid_id("43010219850505002"), "", ""],
]


def _wrong_check_digit(first17: str) -> str:
    right = valid_id(first17)[-1]
    return first17 + ("1" if right != "1" else "2")


def _people_named(app, names):
    from sqlalchemy import func, select

    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(User.id)).where(User.real_name.in_(names)))


def test_county_admin_imports_roster_and_sees_the_people(app, world, open_browser, tmp_path):
    """A county admin signs in, uploads a CSV for one of their schools, sees 新增 4 and the people."""
    csv_file = write_csv(tmp_path / "三年级名册.csv", GOOD_ROWS)
    visit = open_browser()
    page = sign_in(visit, world.admins["county_a"], PASSWORD)
    expect(page.get_by_role("heading", name="管理首页")).to_be_visible()
    expect(page.get_by_text("芙蓉区管理员")).to_be_visible()
    visit.shot("dashboard")

    page.get_by_role("link", name="学校", exact=True).click()
    expect(page.get_by_role("heading", name="学校", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="芙蓉区第二中学")).to_be_visible()
    expect(page.get_by_role("link", name="荷塘区第一小学")).to_have_count(0)  # another county
    visit.shot("schools")

    page.get_by_role("link", name="行政区划").click()
    expect(page.get_by_role("heading", name="行政区划", exact=True)).to_be_visible()
    visit.shot("regions")

    page.get_by_role("link", name="名册导入").first.click()
    expect(page.get_by_role("heading", name="名册导入")).to_be_visible()
    visit.shot("roster-form")

    page.get_by_label("导入到学校").select_option(SCHOOL)
    page.get_by_label("名册文件").set_input_files(csv_file)
    with page.expect_navigation():
        page.get_by_role("button", name="导入").click()

    expect(page.get_by_role("status").filter(has_text="导入成功")).to_contain_text("新增 4 人")
    result = page.locator("#result")
    expect(result.locator(".stat", has_text="新增").locator("b")).to_have_text("4")
    expect(result.locator(".stat", has_text="数据行").locator("b")).to_have_text("4")
    visit.shot("roster-imported")

    with page.expect_navigation():
        result.get_by_role("link", name="查看该校人员").click()
    expect(page.get_by_role("heading", name="芙蓉区第一小学")).to_be_visible()
    people = page.locator("#people")
    for name, *_ in GOOD_ROWS:
        expect(people.get_by_role("link", name=name, exact=True)).to_be_visible()
    teacher_row = people.get_by_role("row").filter(has_text="周文静")
    expect(teacher_row).to_contain_text("教师")
    expect(teacher_row).to_contain_text("T4301020001101")
    expect(teacher_row).to_contain_text("未开通")
    # ID-card numbers are shown masked, never in full.
    expect(people).not_to_contain_text(GOOD_ROWS[0][5])
    expect(people.get_by_role("row").filter(has_text="陈一鸣")).to_contain_text("430***********")
    visit.shot("school-people")

    with page.expect_navigation():
        people.get_by_role("link", name="陈一鸣").click()
    expect(page.get_by_role("heading", name="陈一鸣")).to_be_visible()
    expect(page.locator("dl")).to_contain_text("G430102201601010101")
    expect(page.locator("dl")).to_contain_text("未开通")
    visit.shot("person")
    page.go_back()

    # Importing the same file again changes nothing.
    page.get_by_role("link", name="导入名册").click()
    expect(page.get_by_label("导入到学校")).to_have_value(SCHOOL)
    page.get_by_label("名册文件").set_input_files(csv_file)
    with page.expect_navigation():
        page.get_by_role("button", name="导入").click()
    expect(page.get_by_role("status").filter(has_text="导入成功")).to_contain_text("新增 0 人")
    expect(page.locator("#result .stat", has_text="未变").locator("b")).to_have_text("4")
    visit.shot("roster-reimported")
    assert _people_named(app, [r[0] for r in GOOD_ROWS]) == 4


def test_roster_with_bad_rows_lists_every_problem_and_imports_nothing(app, world, open_browser, tmp_path):
    """A school admin uploads a file with bad rows: a Chinese table names each row, nothing is written."""
    rows = [
        ["何小芳", "学生", SCHOOL, "G430102201604040404", "", "", "三年级", "2班"],        # good
        ["孙小雨", "学生", SCHOOL, "", "", "", "三年级", "2班"],                           # no 学籍号
        ["吴小军", "学生", SCHOOL, "G430102201605050505", "", _wrong_check_digit("43010220160505012"),
         "三年级", "2班"],
        ["郑海", "校长", SCHOOL, "", "T4301020001102", "", "", ""],                        # bad role
        ["冯小北", "学生", "4302020001", "G430102201606060606", "", "", "三年级", "2班"],  # other school
    ]
    csv_file = write_csv(tmp_path / "有错误的名册.csv", rows, encoding="gb18030")

    visit = open_browser()
    page = sign_in(visit, world.admins["school_a1"], PASSWORD)
    page.get_by_role("link", name="名册导入").first.click()
    expect(page.get_by_label("导入到学校")).to_have_value(SCHOOL)
    page.get_by_label("名册文件").set_input_files(csv_file)
    with page.expect_navigation():
        page.get_by_role("button", name="导入").click()

    expect(page.get_by_role("alert")).to_contain_text("整个文件未导入")
    problems = page.locator("#problems")
    expect(problems.get_by_role("heading")).to_contain_text("需要改正的行（4）")
    table_rows = problems.locator("tbody tr")
    expect(table_rows).to_have_count(4)
    expected = [
        ("3", "学籍号", "学生必须填写学籍号"),
        ("4", "身份证号", "校验位"),
        ("5", "角色", "应为“学生”或“教师”"),
        ("6", "学校标识码", "与导入的学校（4301020001）不一致"),
    ]
    for i, (row, column, reason) in enumerate(expected):
        cells = table_rows.nth(i).locator("td")
        expect(cells.nth(0)).to_have_text(row)
        expect(cells.nth(1)).to_have_text(column)
        expect(cells.nth(2)).to_contain_text(reason)
    expect(page.locator("#result")).to_have_count(0)
    visit.shot("roster-rejected")

    assert _people_named(app, [r[0] for r in rows]) == 0
    page.goto(f"/admin/schools/{SCHOOL}")
    expect(page.get_by_role("heading", name="芙蓉区第一小学")).to_be_visible()
    expect(page.get_by_text("何小芳")).to_have_count(0)
    visit.shot("school-unchanged")
