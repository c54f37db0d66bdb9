"""Exports: CSV with a BOM and Chinese headers, XLSX that openpyxl opens, RFC 5987 file names, the CLI's same numbers."""
from __future__ import annotations

import csv
import io
from urllib.parse import quote

import pytest
from openpyxl import load_workbook

from tests.fixtures.people import signed_in
from tests.fixtures.stats import RANGE, build_stats_world

HEADER = ["单位", "代码", "名册人数", "已开通空间", "开通率(%)", "期间新开通", "周活跃空间", "周活跃率(%)",
          "月活跃空间", "月活跃率(%)", "期间上传课程", "期间发布课程", "累计浏览", "名册教师", "有发布课程的教师",
          "教师发布率(%)"]
A1 = ["芙蓉区第一小学", "4301020001", "6", "4", "66.7", "3", "2", "50.0", "3", "75.0", "2", "1", "7", "3", "1", "33.3"]
A2 = ["芙蓉区第二中学", "4301020002", "2", "2", "100.0", "2", "1", "50.0", "1", "50.0", "0", "0", "3", "1", "1", "100.0"]
TOTAL = ["合计（芙蓉区）", "430102", "8", "6", "75.0", "5", "3", "50.0", "4", "66.7", "2", "1", "10", "4", "2", "50.0"]


def _cells(rows) -> list[list[str]]:
    """Cells as text, numbers written the same way however they were stored (XLSX reads 50.0 back as 50)."""
    def one(value):
        if value is None or value == "":
            return ""
        try:
            return f"{float(value):g}"
        except ValueError:
            return str(value)
    return [[one(v) for v in row] for row in rows]


@pytest.fixture
def sw(app, world):
    return build_stats_world(app, world)


def test_csv_starts_with_a_bom_and_has_chinese_headers_and_the_county_table(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    response = client.get("/stats/export.csv", query_string=RANGE)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows == [HEADER, A1, A2, TOTAL]
    disposition = response.headers["Content-Disposition"]
    name = "空间统计-芙蓉区-20261001-20261118.csv"
    assert disposition.startswith("attachment;") and f"filename*=UTF-8''{quote(name)}" in disposition
    assert response.headers["Cache-Control"] == "no-store"


def test_xlsx_opens_with_openpyxl_with_the_same_table_and_an_explanation_sheet(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    response = client.get("/stats/export.xlsx", query_string=RANGE)
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "filename*=UTF-8''" + quote("空间统计-芙蓉区-20261001-20261118.xlsx") in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["空间统计", "说明"]
    assert _cells(book["空间统计"].iter_rows(values_only=True)) == _cells([HEADER, A1, A2, TOTAL])
    sheet = book["空间统计"]
    assert isinstance(sheet["C2"].value, int) and isinstance(sheet["E2"].value, float)  # numbers, not text
    notes = [row[0] for row in book["说明"].iter_rows(values_only=True)]
    assert "单位：芙蓉区（430102）" in notes and any("2026-10-01 至 2026-11-18" in n for n in notes)


def test_school_export_lists_grades_and_classes_and_only_counts(app, sw):
    client = signed_in(app, sw.admins["school_a1"])
    rows = list(csv.reader(io.StringIO(client.get("/stats/export.csv", query_string=RANGE)
                                       .get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["三年级 1班", "三年级 2班", "未分年级/班级", "合计（芙蓉区第一小学）"]
    text = "\n".join(",".join(r) for r in rows)
    for name in ("张小明", "刘小军", "李老师", "G430102201501010011"):  # no personal data, counts only
        assert name not in text


def test_role_filter_reaches_the_export(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    rows = list(csv.reader(io.StringIO(client.get("/stats/export.csv", query_string={**RANGE, "role": "student"})
                                       .get_data().decode("utf-8-sig"))))
    assert rows[-1][:4] == ["合计（芙蓉区）", "430102", "4", "3"]
    assert rows[-1][10:] == ["", "", "", "", "", ""]  # lesson figures do not apply to students


def test_ranking_exports_score_parts_and_underlying_numbers(app, sw):
    client = signed_in(app, sw.admins["platform"])
    response = client.get("/stats/ranking/export.xlsx", query_string={**RANGE, "region": "all", "level": "county"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data()))["评优排名"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["名次", "得分", "开通率(%)"] and "名册人数" in header
    csv_body = client.get("/stats/ranking/export.csv", query_string={**RANGE, "level": "school"}).get_data()
    assert csv_body.startswith(b"\xef\xbb\xbf") and "名次,得分".encode() in csv_body


def test_cli_prints_the_same_numbers_as_table_csv_and_xlsx(app, sw, tmp_path):
    from learnspace.cli import main

    runner = app.test_cli_runner()
    base = ["stats", "activation", "--region", "430102", "--from", RANGE["from"], "--to", RANGE["to"]]
    table = runner.invoke(main, base)
    assert table.exit_code == 0, table.output
    assert "芙蓉区（430102） · 2026-10-01 至 2026-11-18" in table.output
    lines = table.output.splitlines()
    assert lines[1].split()[:3] == ["单位", "代码", "名册人数"]
    assert lines[3].split()[:4] == ["芙蓉区第一小学", "4301020001", "6", "4"]
    assert lines[-1].split()[:4] == ["合计（芙蓉区）", "430102", "8", "6"]

    printed = runner.invoke(main, base + ["--format", "csv"])
    assert list(csv.reader(io.StringIO(printed.output))) == [HEADER, A1, A2, TOTAL]

    target = tmp_path / "芙蓉区.csv"
    written = runner.invoke(main, base + ["--format", "csv", "--output", str(target)])
    assert written.exit_code == 0 and target.read_bytes().startswith(b"\xef\xbb\xbf")

    workbook = tmp_path / "芙蓉区.xlsx"
    result = runner.invoke(main, base + ["--format", "xlsx", "--output", str(workbook)])
    assert result.exit_code == 0, result.output
    assert _cells(load_workbook(workbook)["空间统计"].iter_rows(values_only=True)) == _cells([HEADER, A1, A2, TOTAL])

    missing = runner.invoke(main, base + ["--format", "xlsx"])
    assert missing.exit_code == 1 and "--output" in missing.output


def test_school_export_lists_grades_in_school_order_not_by_character_code(app, sw):
    """七年级, 五年级, 四年级 pupils added to 三年级: the export reads 三 四 五 七 (character code gives 七 三 五 四)."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.operations import get_school_by_code

    with app.app_context():
        school = get_school_by_code("4301020001")
        for number, grade in (("G7", "七年级"), ("G5", "五年级"), ("G4", "四年级")):
            db.session.add(User(role="student", real_name="学生", school_id=school.id, student_number=number,
                                grade=grade, class_name="1班"))
        db.session.commit()
    client = signed_in(app, sw.admins["school_a1"])
    rows = list(csv.reader(io.StringIO(client.get("/stats/export.csv", query_string=RANGE)
                                       .get_data().decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == ["三年级 1班", "三年级 2班", "四年级 1班", "五年级 1班", "七年级 1班",
                                        "未分年级/班级", "合计（芙蓉区第一小学）"]
