"""Issuing activation codes for a class: one batch, its printable page and XLSX, codes stored only as hashes."""
from __future__ import annotations

import io
import re
from urllib.parse import unquote

from openpyxl import load_workbook
from sqlalchemy import select

from tests.fixtures.people import CODE_RE, batch_xlsx, codes_from_html, give_login, issue_codes, signed_in, stored_text

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _code_rows(app):
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    with app.app_context():
        return list(db.session.execute(select(ActivationCode.user_id, ActivationCode.used_dt,
                                              ActivationCode.revoked_dt).order_by(ActivationCode.id)))


def test_printable_page_lists_each_unactivated_person_of_the_class_with_a_code(app, world):
    """The batch's print page: one slip per person of that class, each with a distinct grouped code, not cached."""
    client = signed_in(app, world.admins["school_a1"])
    response = issue_codes(client, world.schools["a1"], "三年级", "1班")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "no-store" in response.headers["Cache-Control"]
    codes = codes_from_html(response.get_data(as_text=True))
    assert set(codes) == {"张小明"}  # 李老师 has no class; 王小红 is another school
    assert re.fullmatch(CODE_RE, codes["张小明"])
    assert [row.user_id for row in _code_rows(app)] == [world.people["student_a1"]]


def test_xlsx_download_has_chinese_names_and_an_rfc5987_file_name(app, world):
    """The batch's XLSX: a real workbook with the names and codes; the file name is sent as filename*=UTF-8''."""
    client = signed_in(app, world.admins["county_a"])
    response = batch_xlsx(client, issue_codes(client, world.schools["a1"], "三年级", "1班"))
    assert response.status_code == 200
    assert response.mimetype == XLSX_TYPE
    assert "no-store" in response.headers["Cache-Control"]
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    match = re.search(r"filename\*=UTF-8''([^;]+)", disposition)
    assert match, disposition
    assert unquote(match.group(1)) == "激活码-芙蓉区第一小学-三年级1班.xlsx"
    disposition.encode("latin-1")  # the header itself stays ASCII-safe

    book = load_workbook(io.BytesIO(response.get_data()))
    sheet = book.active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert "芙蓉区第一小学" in rows[0][0]
    assert rows[1] == ["姓名", "角色", "学籍号/教师编号", "年级", "班级", "激活码"]
    data = rows[2:]
    assert len(data) == 1
    name, role, number, grade, klass, code = data[0]
    assert (name, role, number, grade, klass) == ("张小明", "学生", "G430102201501010011", "三年级", "1班")
    assert re.fullmatch(CODE_RE, code)


def test_codes_are_stored_only_as_hashes(app, world):
    """Neither the printed code nor its typed form appears anywhere in the database (the slip copy is encrypted)."""
    client = signed_in(app, world.admins["school_a1"])
    html = issue_codes(client, world.schools["a1"], "", "").get_data(as_text=True)
    issue = batch_xlsx(client, issue_codes(client, world.schools["a1"], "三年级", "1班"))
    codes = list(codes_from_html(html).values())
    sheet = load_workbook(io.BytesIO(issue.get_data())).active
    codes += [row[5] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert len(codes) == 2
    everything = stored_text(app)
    for code in codes:
        assert code not in everything
        assert code.replace("-", "") not in everything


def test_people_who_already_have_a_space_get_no_code(app, world):
    """An activated person is left out; a class where everyone is activated gets no codes at all."""
    give_login(app, world.people["student_a1"])
    client = signed_in(app, world.admins["school_a1"])
    response = issue_codes(client, world.schools["a1"], "三年级", "1班")
    assert response.status_code == 302  # back to the school page with a notice
    assert _code_rows(app) == []
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "没有尚未开通空间的人员" in page


def test_issuing_again_needs_confirmation_then_revokes_the_earlier_unused_code(app, world):
    """A second batch for a class first shows who loses a live code; only the confirmed POST voids it."""
    client = signed_in(app, world.admins["school_a1"])
    issue_codes(client, world.schools["a1"], "三年级", "1班")
    asked = issue_codes(client, world.schools["a1"], "三年级", "1班")
    assert asked.status_code == 200 and "确认重新生成激活码" in asked.get_data(as_text=True)
    assert len(_code_rows(app)) == 1 and _code_rows(app)[0].revoked_dt is None  # nothing changed yet
    issue_codes(client, world.schools["a1"], "三年级", "1班", confirm=True)
    rows = _code_rows(app)
    assert len(rows) == 2
    assert rows[0].revoked_dt is not None and rows[1].revoked_dt is None


def test_issuing_is_audited_with_a_count_but_no_codes(app, world):
    """One codes.issue entry per batch, naming the school, the batch and how many, never the codes."""
    from tests.fixtures.people import audit_log

    client = signed_in(app, world.admins["school_a1"])
    html = issue_codes(client, world.schools["a1"], "三年级", "1班").get_data(as_text=True)
    [code] = codes_from_html(html).values()
    entries = [e for e in audit_log(app) if e["action"] == "codes.issue"]
    assert len(entries) == 1
    assert entries[0]["target"] == f"school:{world.schools['a1']}"
    assert entries[0]["detail"].startswith("activation batch:") and entries[0]["detail"].endswith(" 1 codes")
    assert code not in repr(audit_log(app)) and code.replace("-", "") not in repr(audit_log(app))


def test_school_page_lists_classes_with_people_waiting_and_activated(app, world):
    """Each class with its number of people not yet activated (activation codes) and activated (reset codes)."""
    from learnspace.admin.operations import code_classes
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    with app.app_context():
        school = db.session.scalar(select(School).where(School.code == world.schools["a1"]))
        assert sorted(code_classes(school)) == [("", "", 1, 0), ("三年级", "1班", 1, 0)]
    give_login(app, world.people["student_a1"])
    with app.app_context():
        school = db.session.scalar(select(School).where(School.code == world.schools["a1"]))
        assert code_classes(school) == [("三年级", "1班", 0, 1), ("", "", 1, 0)]
