"""``learnspace import-roster FILE --school CODE [--admin LOGIN]``: the same operation as the admin page."""
from __future__ import annotations

from sqlalchemy import select

from learnspace.accounts.models import User
from learnspace.audit.models import AuditEntry
from learnspace.cli import main
from learnspace.extensions import db
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


def import_roster(app, tmp_path, data: bytes, *args: str, filename: str = "roster.csv"):
    """Write *data* to a file and run the command through the real click group."""
    path = tmp_path / filename
    path.write_bytes(data)
    return app.test_cli_runner().invoke(main, ["import-roster", str(path), *args])


def snapshot(app):
    with app.app_context():
        return people_snapshot(), user_count()


def test_import_roster_creates_people_and_prints_the_summary(app, world, tmp_path):
    """A UTF-8 BOM CSV imports; the command prints the Chinese summary and exits 0."""
    result = import_roster(app, tmp_path, csv_bytes(basic_rows(), encoding="utf-8-sig"), "--school", SCHOOL)

    assert result.exit_code == 0, result.output
    assert "共 4 行：新增 4 人，更新 0 人，未变 0 人" in result.output
    with app.app_context():
        person = db.session.scalar(select(User).where(User.teacher_number == "T430102000199"))
        assert (person.real_name, person.school.code) == ("刘老师", SCHOOL)
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "roster.import")).all()
        assert [(e.result, e.target, e.ip) for e in entries] == [("success", f"school:{SCHOOL}", "cli")]


def test_running_the_same_import_twice_changes_nothing_the_second_time(app, world, tmp_path):
    """The second run of the same XLSX reports 新增 0 人，更新 0 人 and leaves every row as it was."""
    data = xlsx_bytes(basic_rows())
    assert import_roster(app, tmp_path, data, "--school", SCHOOL, filename="r.xlsx").exit_code == 0
    before = snapshot(app)
    result = import_roster(app, tmp_path, data, "--school", SCHOOL, filename="r.xlsx")
    assert result.exit_code == 0, result.output
    assert "新增 0 人，更新 0 人，未变 4 人" in result.output
    assert snapshot(app) == before


def test_admin_in_scope_may_import_with_their_name_in_the_audit_log(app, world, tmp_path):
    """--admin county-a imports into a school of 芙蓉区 and the audit entry names that admin."""
    result = import_roster(app, tmp_path, csv_bytes(basic_rows()), "--school", SCHOOL,
                           "--admin", world.admins["county_a"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin_id = db.session.scalar(select(User.id).where(User.login_name == world.admins["county_a"]))
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "roster.import"))
        assert (entry.actor_id, entry.result) == (admin_id, "success")


def test_admin_outside_scope_is_refused_and_nothing_changes(app, world, tmp_path):
    """--admin school-b1 (荷塘区第一小学) cannot import into 芙蓉区第一小学: exit 1, clear message, no rows."""
    before = snapshot(app)
    result = import_roster(app, tmp_path, csv_bytes(basic_rows()), "--school", SCHOOL,
                           "--admin", world.admins["school_b1"])
    assert result.exit_code == 1
    assert "无权管理学校“芙蓉区第一小学”" in result.output
    assert "Traceback" not in result.output
    assert snapshot(app) == before
    with app.app_context():
        denied = db.session.scalars(select(AuditEntry).where(AuditEntry.result == "denied")).all()
        assert [(e.action, e.target) for e in denied] == [("admin.scope", f"school:{SCHOOL}")]


def test_unknown_admin_login_is_refused(app, world, tmp_path):
    """--admin with a login that is not an administrator stops before reading the file."""
    before = snapshot(app)
    result = import_roster(app, tmp_path, csv_bytes(basic_rows()), "--school", SCHOOL, "--admin", "nobody")
    assert result.exit_code == 1
    assert "找不到管理员账号“nobody”" in result.output
    assert snapshot(app) == before


def test_unknown_school_code_is_refused(app, world, tmp_path):
    """--school 9999999999 names the unknown code and writes no one."""
    before = snapshot(app)
    result = import_roster(app, tmp_path, csv_bytes(basic_rows()), "--school", "9999999999")
    assert result.exit_code == 1
    assert "学校标识码“9999999999”不存在" in result.output
    assert snapshot(app) == before


def test_bad_rows_are_listed_one_per_line_and_nothing_is_written(app, world, tmp_path):
    """Every bad row is printed as 第 N 行 [列] 原因; the existing person's rename in the same file is not applied."""
    rows = [
        student("张改名", "G430102201501010011"),
        student("校验错", "G430102201601011001", bad_check_digit("43010220160101010")),
        student("别校学籍", "G430202201502020022"),
        ["坏角色", "家长", SCHOOL, "G430102201601011003", "", "", "", ""],
    ]
    before = snapshot(app)
    result = import_roster(app, tmp_path, csv_bytes(rows, encoding="gbk"), "--school", SCHOOL)

    assert result.exit_code == 1
    assert "名册中有 3 处错误，整个文件未导入" in result.output
    assert "第 3 行 [身份证号] 身份证号校验位不正确" in result.output
    assert "第 4 行 [学籍号] 学籍号“G430202201502020022”已在“荷塘区第一小学”的名册中" in result.output
    assert "第 5 行 [角色] 角色“家长”无效" in result.output
    assert "Traceback" not in result.output
    assert snapshot(app) == before


def test_a_binary_file_is_refused_with_a_message(app, world, tmp_path):
    """A renamed executable is refused by content with a readable message and exit code 1."""
    before = snapshot(app)
    result = import_roster(app, tmp_path, b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "--school", SCHOOL,
                           filename="roster.csv")
    assert result.exit_code == 1
    assert "不是 CSV 或 XLSX 表格" in result.output
    assert snapshot(app) == before


def test_a_missing_file_is_a_usage_error(app, world, tmp_path):
    """A path that does not exist is rejected by the command line parser (exit 2)."""
    result = app.test_cli_runner().invoke(main, ["import-roster", str(tmp_path / "nope.csv"), "--school", SCHOOL])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_a_big_file_shows_a_progress_bar_and_imports_everything(app, world, tmp_path):
    """A 3,000-row GB18030 file reports progress (导入名册 … 3000/3000) and imports every row."""
    from tests.fixtures.rosters import big_csv

    with app.app_context():
        count = user_count()
    result = import_roster(app, tmp_path, big_csv(3000, encoding="gb18030"), "--school", SCHOOL)
    assert result.exit_code == 0, result.output
    assert "共 3000 行：新增 3000 人" in result.output
    assert "导入名册" in result.output and "3000/3000" in result.output
    with app.app_context():
        assert user_count() == count + 3000


def test_a_grade_outside_the_schools_stage_prints_a_warning_and_imports(app, world, tmp_path):
    """七年级 in the 小学: exit 0, the person is imported, and the row is named in a 提醒 line."""
    rows = [student("陈一", "G1", grade="三年级"), student("陈七", "G7", grade="七年级")]
    result = import_roster(app, tmp_path, csv_bytes(rows), "--school", SCHOOL)
    assert result.exit_code == 0, result.output
    assert "新增 2 人" in result.output and "1 条提醒" in result.output
    assert [line for line in result.output.splitlines() if "提醒：" in line] == [
        "  提醒：第 3 行 [年级] 年级“七年级”不属于小学（芙蓉区第一小学）；已照常导入，请核对年级是否填错，或请管理员核对学校的学段"]
    with app.app_context():
        assert db.session.scalar(select(User.grade).where(User.student_number == "G7")) == "七年级"
