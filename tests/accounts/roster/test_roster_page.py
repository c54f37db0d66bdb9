"""The admin page POST /admin/roster: same operation as the CLI, scope enforced, problems shown in Chinese."""
from __future__ import annotations

import io
from html.parser import HTMLParser

from sqlalchemy import select

from learnspace.accounts.models import User
from learnspace.audit.models import AuditEntry
from learnspace.extensions import db
from tests.fixtures.helpers import login, post_form
from tests.fixtures.rosters import (
    SCHOOL,
    bad_check_digit,
    basic_rows,
    csv_bytes,
    people_snapshot,
    student,
    user_count,
    xlsx_bytes,
)
from tests.fixtures.world import PASSWORD


def upload(client, data: bytes, filename: str, school: str = SCHOOL):
    """Open the roster page for its CSRF token, then upload *data* for *school*."""
    return post_form(client, "/admin/roster", "/admin/roster",
                     {"school_code": school, "file": (io.BytesIO(data), filename)},
                     content_type="multipart/form-data")


def signed_in(client, login_name: str):
    response = login(client, login_name, PASSWORD)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


class _TableReader(HTMLParser):
    """Collect the text of each table row inside the element with a given id."""

    def __init__(self, section_id: str):
        super().__init__()
        self.section_id, self.depth, self.rows, self.cell = section_id, 0, [], None

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += 1
        elif dict(attrs).get("id") == self.section_id:
            self.depth = 1
        if self.depth and tag == "tr":
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if self.depth and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def problem_table(html: str) -> list[list[str]]:
    """The rows (header first) of the problems table as the reader sees them."""
    reader = _TableReader("problems")
    reader.feed(html)
    return reader.rows


def roster_audit(app) -> list[tuple[str, str, str | None]]:
    with app.app_context():
        return [(e.result, e.target, e.actor_id) for e in db.session.scalars(
            select(AuditEntry).where(AuditEntry.action == "roster.import").order_by(AuditEntry.id))]


def test_school_admin_imports_a_gbk_csv_and_sees_the_result(app, world, client):
    """A school admin uploads a GBK CSV for their school; the page shows the counts and the people exist."""
    signed_in(client, world.admins["school_a1"])
    response = upload(client, csv_bytes(basic_rows(), encoding="gbk"), "名册.csv")

    html = response.get_data(as_text=True)
    assert response.status_code == 200, html
    assert "导入成功" in html and "新增 4 人" in html
    assert 'id="result"' in html and 'id="problems"' not in html
    with app.app_context():
        person = db.session.scalar(select(User).where(User.student_number == "G430102201601010103"))
        assert (person.real_name, person.school.code) == ("欧阳小三", SCHOOL)
        admin_id = db.session.scalar(select(User.id).where(User.login_name == world.admins["school_a1"]))
    assert roster_audit(app) == [("success", f"school:{SCHOOL}", admin_id)]


def test_xlsx_upload_through_the_page(app, world, client):
    """An XLSX roster uploaded through the page imports like the CSV."""
    signed_in(client, world.admins["county_a"])
    response = upload(client, xlsx_bytes(basic_rows()), "名册.xlsx")
    assert response.status_code == 200
    assert "新增 4 人" in response.get_data(as_text=True)


def test_reuploading_the_same_file_reports_no_new_or_updated_people(app, world, client):
    """The second upload of the same file says 新增 0 人，更新 0 人."""
    signed_in(client, world.admins["school_a1"])
    data = csv_bytes(basic_rows())
    assert upload(client, data, "a.csv").status_code == 200
    with app.app_context():
        before = people_snapshot()
    html = upload(client, data, "a.csv").get_data(as_text=True)
    assert "新增 0 人，更新 0 人，未变 4 人" in html
    with app.app_context():
        assert people_snapshot() == before


def test_bad_rows_are_listed_in_a_chinese_table_and_nothing_is_written(app, world, client):
    """A file with bad rows answers 400 with a 行号/列/问题 table of every bad row; the database is unchanged."""
    signed_in(client, world.admins["school_a1"])
    rows = [
        student("张改名", "G430102201501010011"),                                  # row 2: a valid rename
        student("<script>alert(1)</script>", "G430102201601012001"),               # row 3
        student("好学生", "G430102201601012002", bad_check_digit("43010220160101010")),  # row 4
        student("重号", "G430102201601012003"),                                    # row 5
        student("重号二", "G430102201601012003"),                                  # row 6
    ]
    with app.app_context():
        before, count = people_snapshot(), user_count()

    response = upload(client, csv_bytes(rows), "bad.csv")

    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "需要改正的行（3）" in html
    table = problem_table(html)
    assert table[0] == ["行号", "列", "问题"]
    assert [row[:2] for row in table[1:]] == [["3", "姓名"], ["4", "身份证号"], ["6", "学籍号"]]
    assert "不允许的字符" in table[1][2] and "<script>alert(1)</s" in table[1][2]
    assert "校验位" in table[2][2]
    assert "与第 5 行重复" in table[3][2]
    assert "整个文件未导入" in html
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    with app.app_context():
        assert user_count() == count
        assert people_snapshot() == before
    assert [r for r, _, _ in roster_audit(app)] == ["failure"]


def test_a_file_that_is_not_a_roster_gets_a_message_on_the_page(app, world, client):
    """An old .xls upload is refused with 400 and the Chinese reason, not a 500."""
    signed_in(client, world.admins["school_a1"])
    response = upload(client, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old.xls")
    assert response.status_code == 400
    assert "不支持旧版 Excel" in response.get_data(as_text=True)


def test_school_admin_cannot_import_into_another_school(app, world, client):
    """A school admin posting another school's code gets 403, the refusal is audited, nothing is written."""
    signed_in(client, world.admins["school_a1"])
    with app.app_context():
        before = people_snapshot()
    rows = [student("越权", "G430202201601010001", school="4302020001")]

    response = upload(client, csv_bytes(rows), "other.csv", school="4302020001")

    assert response.status_code == 403
    assert "无权" in response.get_data(as_text=True)
    with app.app_context():
        assert people_snapshot() == before
        denied = db.session.scalars(select(AuditEntry).where(AuditEntry.result == "denied")).all()
        assert [(e.action, e.target) for e in denied] == [("admin.scope", "school:4302020001")]


def test_county_admin_cannot_import_into_a_school_of_another_county(app, world, client):
    """荷塘区's admin is refused (403) for a 芙蓉区 school."""
    signed_in(client, world.admins["county_b"])
    with app.app_context():
        before = people_snapshot()
    response = upload(client, csv_bytes(basic_rows()), "a.csv", school=SCHOOL)
    assert response.status_code == 403
    with app.app_context():
        assert people_snapshot() == before


def test_city_admin_may_import_into_a_school_of_their_city(app, world, client):
    """Scope reaches down the tree: 长沙市's admin imports into a 芙蓉区 school."""
    signed_in(client, world.admins["city_a"])
    response = upload(client, csv_bytes(basic_rows()), "a.csv")
    assert response.status_code == 200
    assert "新增 4 人" in response.get_data(as_text=True)
