"""The roster import operation: formats, all-or-nothing rejection with a full report, re-import."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from learnspace.accounts import idcard
from learnspace.accounts.models import User
from learnspace.accounts.roster import RosterRejected, import_roster
from learnspace.errors import ValidationError
from learnspace.extensions import db
from learnspace.orgs.operations import get_school_by_code
from tests.fixtures.rosters import (
    HEADER,
    SAMPLE_CSV,
    SCHOOL,
    bad_check_digit,
    basic_rows,
    big_csv,
    csv_bytes,
    people_snapshot,
    student,
    teacher,
    user_count,
    valid_id,
    xlsx_bytes,
)

#: people the world fixture already has
WORLD_STUDENT_A1 = ("张小明", "G430102201501010011", valid_id("43010220150101001"))
WORLD_STUDENT_B1 = "G430202201502020022"


def run(data: bytes, filename: str = "roster.csv", school: str = SCHOOL, progress=None):
    """Import *data* into *school* and commit, as the CLI and the page do."""
    result = import_roster(io.BytesIO(data), filename, get_school_by_code(school), progress=progress)
    db.session.commit()
    return result


def rejected(data: bytes, filename: str = "roster.csv", school: str = SCHOOL) -> ValidationError:
    """Import *data*, expect a refusal, roll back as the callers do and return the error."""
    with pytest.raises(ValidationError) as info:
        import_roster(io.BytesIO(data), filename, get_school_by_code(school))
    db.session.rollback()
    return info.value


def by_number(number: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where((User.student_number == number) | (User.teacher_number == number)))


def problems_of(error: ValidationError) -> set[tuple[int, str]]:
    assert isinstance(error, RosterRejected), error.message
    return {(p["row"], p["column"]) for p in error.details}


def reason(error: RosterRejected, row: int, column: str) -> str:
    return next(p["reason"] for p in error.details if p["row"] == row and p["column"] == column)


# --- accepted formats ---------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_supported_encoding_creates_the_same_people(world, ctx, encoding):
    """UTF-8, UTF-8 with BOM (Excel's "CSV UTF-8") and GBK/GB18030 files all import with correct Chinese text."""
    before = user_count()
    result = run(csv_bytes(basic_rows(), encoding=encoding))

    assert (result.rows, result.created, result.updated, result.unchanged) == (4, 4, 0, 0)
    assert user_count() == before + 4
    school = get_school_by_code(SCHOOL)
    third = by_number("G430102201601010103")
    assert (third.real_name, third.role, third.grade, third.class_name, third.school_id) == (
        "欧阳小三", "student", "四年级", "2班", school.id)
    teacher_row = by_number("T430102000199")
    assert (teacher_row.real_name, teacher_row.role, teacher_row.student_number) == ("刘老师", "teacher", None)
    number = valid_id("43010220160101010")
    first = by_number("G430102201601010101")
    assert first.id_card_masked == idcard.mask(number) == "430***********0108"
    assert idcard.decrypt(first.id_card_encrypted) == number
    assert first.id_card_hash == idcard.lookup_hash(number)
    assert by_number("G430102201601010102").id_card_hash is None


def test_xlsx_with_a_student_number_typed_as_a_number_cell_keeps_the_digits(world, ctx):
    """Excel stores a typed-in 学籍号 as a number (int or float); it imports as the same digits, no ".0"."""
    rows = basic_rows() + [
        ["周数字", "学生", 4301020001, 20160101001, None, None, "三年级", "3班"],
        ["吴浮点", "学生", SCHOOL, 20160101002.0, None, None, "三年级", "3班"],
    ]
    result = run(xlsx_bytes(rows), "名册.xlsx")

    assert (result.rows, result.created) == (6, 6)
    assert by_number("20160101001").real_name == "周数字"
    assert by_number("20160101002").real_name == "吴浮点"
    assert by_number("20160101002.0") is None
    assert by_number("G430102201601010103").class_name == "2班"


def test_xlsx_is_recognised_by_content_not_by_file_name(world, ctx):
    """An XLSX saved under a .csv name is still read as a workbook."""
    result = run(xlsx_bytes(basic_rows()), "roster.csv")
    assert result.created == 4


def test_column_order_does_not_matter_and_unknown_columns_are_ignored(world, ctx):
    """Headers are matched by name: reordered columns and an extra 备注 column import correctly."""
    header = ["学籍号", "备注", "班级", "姓名", "角色"]
    rows = [["G430102201601019999", "转入生", "5班", "郑列序", "学生"]]
    run(csv_bytes(rows, header=header))
    person = by_number("G430102201601019999")
    assert (person.real_name, person.class_name, person.grade) == ("郑列序", "5班", None)


def test_the_committed_sample_roster_imports(world, ctx):
    """tests/fixtures/rosters/sample-roster.csv is a valid example of the format."""
    result = run(SAMPLE_CSV.read_bytes(), SAMPLE_CSV.name)
    assert (result.rows, result.created) == (3, 3)
    assert by_number("T430102000201").real_name == "孙老师"


# --- re-import -------------------------------------------------------------------------

def test_reimporting_the_same_file_changes_nothing(world, ctx):
    """The second import of an unchanged file creates and updates nobody and leaves updated_dt alone."""
    data = csv_bytes(basic_rows())
    run(data)
    count, before = user_count(), people_snapshot()

    again = run(data)

    assert (again.rows, again.created, again.updated, again.unchanged) == (4, 0, 0, 4)
    assert user_count() == count
    assert people_snapshot() == before  # includes every updated_dt and the encrypted ID blobs


def test_a_changed_row_updates_only_that_person(world, ctx):
    """Changing one person's class and name updates that person (updated=1) and nobody else."""
    run(csv_bytes(basic_rows()))
    before = {row[0]: row for row in people_snapshot()}
    changed = basic_rows()
    changed[1] = student("陈二改", "G430102201601010102", class_name="9班")

    result = run(csv_bytes(changed))

    assert (result.created, result.updated, result.unchanged) == (0, 1, 3)
    person = by_number("G430102201601010102")
    assert (person.real_name, person.class_name) == ("陈二改", "9班")
    assert person.updated_dt > before[person.id][-1]
    after = {row[0]: row for row in people_snapshot()}
    assert {pid for pid in after if after[pid] != before[pid]} == {person.id}


def test_an_existing_person_gets_an_id_card_added_by_a_later_roster(world, ctx):
    """A re-import that adds an ID-card number to a known person counts as an update and stores it encrypted."""
    rows = basic_rows()
    run(csv_bytes(rows))
    number = valid_id("43010220160202020")
    rows[1] = student("陈二", "G430102201601010102", number)

    result = run(csv_bytes(rows))

    assert (result.created, result.updated) == (0, 1)
    assert by_number("G430102201601010102").id_card_masked == idcard.mask(number)


# --- whole-file refusals -------------------------------------------------------------------

NOT_A_TABLE = [
    pytest.param(b"", "roster.csv", "文件是空的", id="empty-file"),
    pytest.param(b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(range(256)) * 8,
                 "roster.csv", "不是 CSV 或 XLSX", id="renamed-exe"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "roster.xls", "旧版 Excel", id="old-xls"),
    pytest.param(b"PK\x03\x04" + b"this is not really a zip archive" * 20, "roster.xlsx", "无法读取该 XLSX",
                 id="corrupt-xlsx"),
    pytest.param(csv_bytes([]), "roster.csv", "没有任何数据行", id="header-only"),
    pytest.param(b"\r\n\r\n", "roster.csv", "表头缺少", id="blank-lines-only"),
    pytest.param(csv_bytes([["陈一", "G1"]], header=["姓名", "学籍号"]), "roster.csv", "表头缺少“角色”列",
                 id="missing-role-header"),
    pytest.param(csv_bytes([["学生", "G1"]], header=["角色", "学籍号"]), "roster.csv", "表头缺少“姓名”列",
                 id="missing-name-header"),
    pytest.param(csv_bytes([["陈一", "学生"]], header=["姓名", "角色"]), "roster.csv", "学籍号",
                 id="no-number-column"),
    pytest.param(csv_bytes([["陈一", "学生", "G1"]], header=["name", "role", "number"]), "roster.csv", "表头缺少",
                 id="english-headers"),
    pytest.param("姓名,角色,学籍号\r\n".encode() + b"\x80\x80\xff\xfe\x81,\xff\r\n", "roster.csv", "编码",
                 id="undecodable-bytes"),
]


@pytest.mark.parametrize(("data", "filename", "message"), NOT_A_TABLE)
def test_a_file_that_is_not_a_usable_roster_is_refused_and_nothing_changes(world, ctx, data, filename, message):
    """Empty, binary, .xls, corrupt, header-only, header-less or undecodable files get a clear Chinese message."""
    before = people_snapshot()
    error = rejected(data, filename)
    assert message in error.message
    assert people_snapshot() == before


def test_bytes_that_break_the_detected_encoding_later_in_the_file_are_refused(world, ctx):
    """A file that starts as UTF-8 and turns into GBK after the first megabyte is refused with a line hint."""
    data = (csv_bytes(basic_rows()) + b"\r\n" * 600_000
            + csv_bytes([student("后来者", "G430102201601018888")], header=None, encoding="gbk"))
    before = people_snapshot()
    error = rejected(data)
    assert "无法识别的字符" in error.message and "行" in error.message
    assert people_snapshot() == before
    assert by_number("G430102201601010101") is None


def test_an_unclosed_quote_is_reported_at_the_row_where_it_starts(world, ctx):
    """A malformed CSV (a quote never closed) is refused, naming row 3, and nothing is written."""
    data = csv_bytes(basic_rows()[:1]) + '陈二,学生,4301020001,"G430102201601010102,,,三年级,1班\r\n'.encode() \
        + csv_bytes(basic_rows()[2:], header=None)
    before = people_snapshot()
    error = rejected(data)
    text = error.message + " ".join(f"第 {p['row']} 行" for p in error.details)
    assert "第 3 行" in text
    assert people_snapshot() == before


def test_a_field_longer_than_the_csv_limit_is_a_format_error(world, ctx):
    """A CSV field over the csv module's limit is refused as a CSV format error naming its row."""
    data = csv_bytes(basic_rows()[:1] + [["长" * 140_000, "学生", SCHOOL, "G430102201601017777"]])
    before = people_snapshot()
    error = rejected(data)
    assert "CSV 格式错误" in error.message and "第 3 行" in error.message
    assert people_snapshot() == before


# --- row problems: every bad row is reported, nothing is written ---------------------------------

def _expect_rejection(rows, header=HEADER):
    """Import a file that also renames an existing person; expect a row report and nothing changed."""
    name, number, _ = WORLD_STUDENT_A1
    rows = [student("张改名", number)] + rows  # a valid update of a known person: must not happen
    before, count = people_snapshot(), user_count()
    error = rejected(csv_bytes(rows, header=header))
    assert isinstance(error, RosterRejected), error.message
    assert "整个文件未导入" in error.message
    assert user_count() == count
    assert people_snapshot() == before
    assert by_number(number).real_name == name
    return error


def test_every_bad_row_is_reported_with_row_column_and_chinese_reason(world, ctx):
    """One file with many kinds of mistakes: the report lists each bad row once, good rows are not written."""
    rows = [
        student("好学生", "G430102201601016001"),                                   # row 3: fine
        student("校验错", "G430102201601016002", bad_check_digit("43010220160101010")),  # row 4
        ["坏角色", "校长", SCHOOL, "G430102201601016003", "", "", "", ""],             # row 5
        student("别校", "G430102201601016004", school="4302020001"),                 # row 6
        ["", "学生", SCHOOL, "G430102201601016005", "", "", "", ""],                 # row 7
        ["无学籍", "学生", SCHOOL, "", "", "", "", ""],                                # row 8
        teacher("无编号", ""),                                                       # row 9
        student("生日错", "G430102201601016006", valid_id("43010220161332010")),      # row 10: month 13
        student("短号", "G430102201601016007", "1234"),                              # row 11
        student("年级长", "G430102201601016008", grade="一" * 17),                    # row 12
        student("好学生二", "G430102201601016009"),                                  # row 13: fine
    ]
    error = _expect_rejection(rows)

    assert problems_of(error) == {
        (4, "身份证号"), (5, "角色"), (6, "学校标识码"), (7, "姓名"), (8, "学籍号"), (9, "教师编号"),
        (10, "身份证号"), (11, "身份证号"), (12, "年级"),
    }
    assert "9 处错误" in error.message
    assert "校验位" in reason(error, 4, "身份证号")
    assert "校长" in reason(error, 5, "角色") and "学生" in reason(error, 5, "角色")
    assert "4302020001" in reason(error, 6, "学校标识码") and SCHOOL in reason(error, 6, "学校标识码")
    assert "不能为空" in reason(error, 7, "姓名")
    assert "出生日期" in reason(error, 10, "身份证号")
    assert "18 位" in reason(error, 11, "身份证号")
    assert by_number("G430102201601016001") is None and by_number("G430102201601016009") is None


def test_a_duplicate_student_number_in_one_file_names_both_rows(world, ctx):
    """Two rows with the same 学籍号: the later row is reported and the reason names the earlier row."""
    rows = basic_rows() + [student("重复者", "G430102201601010101")]
    error = _expect_rejection(rows)
    # row 2 is the prepended world student, so basic_rows() fill rows 3-6 and the duplicate is row 7
    assert problems_of(error) == {(7, "学籍号")}
    assert "第 3 行" in reason(error, 7, "学籍号")


def test_a_duplicate_id_card_in_one_file_is_reported(world, ctx):
    """The same 身份证号 on two rows of one file is refused."""
    number = valid_id("43010220160404040")
    error = _expect_rejection([student("甲", "G430102201601015001", number),
                               student("乙", "G430102201601015002", number)])
    assert problems_of(error) == {(4, "身份证号")}
    assert "第 3 行" in reason(error, 4, "身份证号")


def test_a_student_number_of_another_school_is_refused(world, ctx):
    """A 学籍号 already on the roster of 荷塘区第一小学 cannot be claimed by 芙蓉区第一小学's file."""
    error = _expect_rejection([student("抢号者", WORLD_STUDENT_B1)])
    assert problems_of(error) == {(3, "学籍号")}
    text = reason(error, 3, "学籍号")
    assert "荷塘区第一小学" in text and "转学" in text
    assert by_number(WORLD_STUDENT_B1).real_name == "王小红"


def test_an_id_card_of_another_person_is_refused(world, ctx):
    """A new person cannot be given the 身份证号 an existing person already has."""
    error = _expect_rejection([student("冒用者", "G430102201601014001", WORLD_STUDENT_A1[2])])
    assert problems_of(error) == {(3, "身份证号")}
    assert "另一个人" in reason(error, 3, "身份证号")
    assert "43010220150101001" not in reason(error, 3, "身份证号")


@pytest.mark.parametrize("name", [
    "<script>alert(1)</script>",
    "=cmd|' /C calc'!A0",
    "+SUM(A1:A2)",
    "@SUM(1)",
    "张三\u202e",
    "张" * 65,
])
def test_hostile_or_overlong_names_are_refused_by_the_name_rules(world, ctx, name):
    """HTML, spreadsheet formulas, control characters and over-long names are refused in 姓名."""
    error = _expect_rejection([student(name, "G430102201601013001")])
    assert problems_of(error) == {(3, "姓名")}
    assert "姓名" in reason(error, 3, "姓名")


@pytest.mark.parametrize(("column", "index", "value"), [
    ("班级", 7, "=cmd|' /C calc'!A0"),
    ("班级", 7, "@SUM(A1)"),
    ("年级", 6, "+三年级"),
    ("年级", 6, "<b>三年级"),
    ("班级", 7, "1班\x1b[31m"),
])
def test_formulas_markup_and_control_characters_are_refused_in_grade_and_class(world, ctx, column, index, value):
    """年级 and 班级 land in exported spreadsheets, so formula-like, markup and control text is refused."""
    row = student("正常名", "G430102201601013002")
    row[index] = value
    error = _expect_rejection([row])
    assert problems_of(error) == {(3, column)}
    assert "不能以 = + - @ 开头" in reason(error, 3, column)


def test_ordinary_grade_and_class_text_is_accepted(world, ctx):
    """Class names with digits, brackets and spaces such as 高一(3)班 or 初二 2 班 import unchanged."""
    run(csv_bytes([student("甲", "G430102201601013101", grade="高一", class_name="高一(3)班"),
                   student("乙", "G430102201601013102", grade="八年级", class_name="初二 2 班")]))
    assert by_number("G430102201601013101").class_name == "高一(3)班"
    assert by_number("G430102201601013102").class_name == "初二 2 班"


def test_the_report_covers_rows_in_later_batches_too(world, ctx):
    """Bad rows after the first write batch (500 rows) are reported as well, and nothing is kept."""
    rows = [student(f"学生{chr(0x4e00 + i)}", f"G43010220160200{i:04d}") for i in range(1200)]
    rows[10][1] = "家长"
    rows[1100][5] = "123"
    error = _expect_rejection(rows)
    assert problems_of(error) == {(13, "角色"), (1103, "身份证号")}
    assert by_number("G430102201602000000") is None


# --- big files --------------------------------------------------------------------------------

def test_a_20000_row_file_imports_with_increasing_progress(world, ctx):
    """20,000 students import in one go; progress reports grow to the row count (the 100k figure is a benchmark)."""
    calls = []
    count = user_count()
    result = run(big_csv(20_000), progress=lambda done, total: calls.append((done, total)))

    assert (result.rows, result.created) == (20_000, 20_000)
    assert user_count() == count + 20_000
    done = [d for d, _ in calls]
    assert len(calls) >= 20_000 // 500
    assert done == sorted(done) and len(set(done)) >= 20_000 // 500
    assert done[-1] == 20_000
    assert {t for _, t in calls} == {20_000}
    last = by_number(f"G{SCHOOL}00019999")
    assert (last.real_name, last.class_name) == ("学生一九九九九", "40班")
