"""Grades on the roster page and the school page: warnings for grades outside the school's stage, natural order."""
from __future__ import annotations

from learnspace.extensions import db
from learnspace.orgs import operations as orgs
from tests.accounts.roster.test_roster_page import _TableReader, signed_in, upload
from tests.fixtures.rosters import SCHOOL, csv_bytes, student

NINE_YEAR = "4301020009"


def table(html: str, section_id: str) -> list[list[str]]:
    """The rows (header first) of the table inside the element with *section_id*."""
    reader = _TableReader(section_id)
    reader.feed(html)
    # the reader runs on past the section when it holds <input>s (no end tags): stop at the next header row
    ends = [i for i, row in enumerate(reader.rows) if i and row and row[0] in ("行号", "年级", "姓名")]
    return reader.rows[:ends[0]] if ends else reader.rows


def test_a_grade_outside_the_schools_stage_is_imported_with_a_warning(app, world, client):
    """七年级 in a 小学 is imported and listed by row under 请核对的行; the 三年级 row gets no warning."""
    signed_in(client, world.admins["school_a1"])
    rows = [student("陈一", "G1", grade="三年级"), student("陈七", "G7", grade="七年级", class_name="2班")]
    response = upload(client, csv_bytes(rows), "名册.csv")

    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "新增 2 人" in html and "1 条提醒" in html
    warnings = table(html, "warnings")
    assert warnings[0] == ["行号", "列", "提醒"]
    assert [w[:2] for w in warnings[1:]] == [["3", "年级"]]
    assert "七年级" in warnings[1][2] and "不属于小学" in warnings[1][2]
    people = table(client.get(f"/admin/schools/{SCHOOL}").get_data(as_text=True), "people")
    assert any(row[0] == "陈七" and row[3] == "七年级2班" for row in people)


def test_a_fitting_roster_has_no_warnings(app, world, client):
    """Grades that fit the 小学 (and grades the app does not know) import without a warning section."""
    signed_in(client, world.admins["school_a1"])
    rows = [student("陈一", "G1", grade="一年级"), student("陈六", "G6", grade="小学六年级"),
            student("陈兴", "G9", grade="兴趣班")]
    html = upload(client, csv_bytes(rows), "名册.csv").get_data(as_text=True)
    assert "新增 3 人" in html and "提醒" not in html and 'id="warnings"' not in html


def test_a_nine_year_school_takes_both_stages_and_lists_grades_in_school_order(app, world, client):
    """A 九年一贯制 school: 一年级…九年级 without warnings (高一 warns); both tables list 一 二 三 … 九, 高一, then 兴趣班."""
    with app.app_context():
        orgs.create_school(NINE_YEAR, "芙蓉区九年一贯制学校", "九年一贯制", "430102")
        db.session.commit()
    signed_in(client, world.admins["county_a"])
    order = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级", "高一", "兴趣班"]
    # character-code order, the way the bug showed them: 七 八 三 九 二 五 六 四 ...
    shuffled = sorted(order)
    rows = [student(f"学生{'甲乙丙丁戊己庚辛壬癸子'[i]}", f"G{i:02d}", grade=g, class_name="1班", school=NINE_YEAR)
            for i, g in enumerate(shuffled)]
    html = upload(client, csv_bytes(rows), "名册.csv", school=NINE_YEAR).get_data(as_text=True)
    assert "新增 11 人" in html, html

    warnings = table(html, "warnings")
    assert [w[0] for w in warnings[1:]] == [str(shuffled.index("高一") + 2)]
    assert "高一" in warnings[1][2] and "九年一贯制" in warnings[1][2]

    page = client.get(f"/admin/schools/{NINE_YEAR}").get_data(as_text=True)
    assert [row[0] for row in table(page, "codes")[1:]] == order
    assert [row[3] for row in table(page, "people")[1:]] == [f"{g}1班" for g in order]
