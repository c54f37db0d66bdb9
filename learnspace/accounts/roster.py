"""Roster import (名册导入): CSV in UTF-8 or GB18030/GBK, or XLSX, with Chinese headers.

All or nothing: every row is checked, good rows are written in batches inside the
caller's transaction, and if any row is bad ``RosterRejected`` lists every bad
row so the caller rolls the whole file back. Files are streamed, never read whole.
"""
from __future__ import annotations

import codecs
import csv
import io
import logging
import re
import zipfile
from dataclasses import dataclass, field
from typing import BinaryIO, Callable, Iterator

from sqlalchemy import insert, select

from ..audit import operations as audit
from ..errors import ValidationError
from ..exports import UNSAFE_TEXT_RE
from ..extensions import db
from ..orgs.grades import grade_fits_school
from ..orgs.models import School
from ..search.outbox import TEACHER
from ..search.outbox import enqueue as enqueue_for_search
from ..text_files import detect_encoding
from . import idcard
from .models import User
from .operations import set_id_card

log = logging.getLogger(__name__)

HEADERS = {
    "姓名": "real_name", "角色": "role", "学校标识码": "school_code", "学籍号": "student_number",
    "教师编号": "teacher_number", "身份证号": "id_card", "年级": "grade", "班级": "class_name",
}
REQUIRED_HEADERS = ("姓名", "角色")
ROLE_WORDS = {"学生": "student", "student": "student", "教师": "teacher", "老师": "teacher", "teacher": "teacher"}
NAME_RE = re.compile(r"^[\u3400-\u9fffA-Za-z·•\u00b7 .\-]{1,64}$")
NUMBER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,31}$")
BATCH = 500
MAX_REPORTED = 1000


class RosterRejected(ValidationError):
    """The file has bad rows; ``details`` lists each as {row, column, reason}."""


@dataclass
class RosterResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rows: int = 0
    #: rows imported as they are but worth a look, each {row, column, reason} (at most MAX_REPORTED)
    warnings: list = field(default_factory=list)

    def summary(self) -> str:
        text = f"共 {self.rows} 行：新增 {self.created} 人，更新 {self.updated} 人，未变 {self.unchanged} 人"
        return text + (f"；{len(self.warnings)} 条提醒，请核对" if self.warnings else "")


@dataclass
class _Row:
    number: int
    real_name: str
    role: str
    student_number: str | None
    teacher_number: str | None
    id_card: str | None
    grade: str | None
    class_name: str | None
    id_hash: str | None = None


@dataclass
class _Problems:
    items: list = field(default_factory=list)
    count: int = 0

    def add(self, row: int, column: str, reason: str) -> None:
        self.count += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append({"row": row, "column": column, "reason": reason})


# --- reading -------------------------------------------------------------------

def sniff_kind(head: bytes, filename: str) -> str:
    """Tell CSV from XLSX by content; refuse old .xls and other binaries."""
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError("不支持旧版 Excel（.xls）文件，请在 Excel 中“另存为” .xlsx 或 CSV 后再导入")
    if b"\x00" in head[:4096] and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ValidationError(f"文件“{filename}”不是 CSV 或 XLSX 表格，请检查文件")
    return "csv"


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores typed-in numbers as floats
    return str(value).strip()


def _csv_rows(stream: BinaryIO, head: bytes) -> tuple[Iterator[list[str]], int | None]:
    encoding = detect_encoding(head)
    total = None
    if stream.seekable():
        lines = 0
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            lines += chunk.count(b"\n")
        total = max(lines - 1, 0)
        stream.seek(0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    return ([_cell(v) for v in row] for row in csv.reader(text)), total


def _xlsx_rows(stream: BinaryIO) -> tuple[Iterator[list[str]], int | None]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ValidationError(f"无法读取该 XLSX 文件（{type(exc).__name__}），请确认文件未损坏") from None
    sheet = book.worksheets[0]
    total = (sheet.max_row - 1) if sheet.max_row else None
    return ([_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)), total


def read_table(stream: BinaryIO, filename: str) -> tuple[Iterator[list[str]], int | None]:
    """Return an iterator over rows of strings and an estimate of the data rows."""
    head = stream.read(1 << 20)
    if not head:
        raise ValidationError("文件是空的")
    stream.seek(0)
    kind = sniff_kind(head, filename)
    return _xlsx_rows(stream) if kind == "xlsx" else _csv_rows(stream, head)


# --- checking one row -------------------------------------------------------------

def _parse_row(number: int, values: dict[str, str], school: School, problems: _Problems) -> _Row | None:
    before = problems.count
    name = values.get("real_name", "")
    if not name:
        problems.add(number, "姓名", "姓名不能为空")
    elif not NAME_RE.match(name):
        problems.add(number, "姓名", f"姓名“{name[:20]}”含有不允许的字符或过长")
    role = ROLE_WORDS.get(values.get("role", "").lower())
    if role is None:
        problems.add(number, "角色", f"角色“{values.get('role', '')[:10]}”无效，应为“学生”或“教师”")
    school_code = values.get("school_code", "")
    if school_code and school_code != school.code:
        problems.add(number, "学校标识码",
                     f"学校标识码“{school_code[:12]}”与导入的学校（{school.code}）不一致")
    student_number = values.get("student_number") or None
    teacher_number = values.get("teacher_number") or None
    if role == "student":
        if not student_number:
            problems.add(number, "学籍号", "学生必须填写学籍号")
        elif not NUMBER_RE.match(student_number):
            problems.add(number, "学籍号", "学籍号只能包含字母、数字和“-”（不能以“-”开头），且不超过 32 位")
        teacher_number = None
    elif role == "teacher":
        if not teacher_number:
            problems.add(number, "教师编号", "教师必须填写教师编号")
        elif not NUMBER_RE.match(teacher_number):
            problems.add(number, "教师编号", "教师编号只能包含字母、数字和“-”（不能以“-”开头），且不超过 32 位")
        student_number = None
    id_card = values.get("id_card") or None
    if id_card:
        try:
            id_card = idcard.validate(id_card)
        except ValidationError as exc:
            hint = "（Excel 可能把它当成了数字，请把该列设为“文本”格式）" if "E+" in id_card.upper() else ""
            problems.add(number, "身份证号", exc.message + hint)
            id_card = None
    grade, class_name = values.get("grade") or None, values.get("class_name") or None
    if grade and len(grade) > 16:
        problems.add(number, "年级", "年级不超过 16 个字")
    elif grade and UNSAFE_TEXT_RE.search(grade):
        problems.add(number, "年级", "年级不能以 = + - @ 开头，也不能含有 < > 或控制字符")
    if class_name and len(class_name) > 32:
        problems.add(number, "班级", "班级不超过 32 个字")
    elif class_name and UNSAFE_TEXT_RE.search(class_name):
        problems.add(number, "班级", "班级不能以 = + - @ 开头，也不能含有 < > 或控制字符")
    if problems.count > before:
        return None
    return _Row(number, name, role, student_number, teacher_number, id_card, grade, class_name,
                idcard.lookup_hash(id_card) if id_card else None)


# --- writing a batch ----------------------------------------------------------------

def _existing(rows: list[_Row]) -> tuple[dict, dict, dict]:
    def load(column, keys):
        keys = [k for k in keys if k]
        if not keys:
            return {}
        return {getattr(u, column.key): u for u in db.session.scalars(select(User).where(column.in_(keys)))}

    return (load(User.student_number, [r.student_number for r in rows]),
            load(User.teacher_number, [r.teacher_number for r in rows]),
            load(User.id_card_hash, [r.id_hash for r in rows]))


def _apply_batch(rows: list[_Row], school: School, problems: _Problems, result: RosterResult) -> None:
    by_student, by_teacher, by_id = _existing(rows)
    creates = []
    for row in rows:
        person = by_student.get(row.student_number) if row.role == "student" else by_teacher.get(row.teacher_number)
        column, key = ("学籍号", row.student_number) if row.role == "student" else ("教师编号", row.teacher_number)
        if person is not None and person.school_id != school.id:
            other = person.school.name if person.school else "其他单位"
            problems.add(row.number, column, f"{column}“{key}”已在“{other}”的名册中；如为转学，请由管理员办理转学")
            continue
        holder = by_id.get(row.id_hash) if row.id_hash else None
        if holder is not None and holder is not person:
            problems.add(row.number, "身份证号", "该身份证号已属于平台上的另一个人")
            continue
        fields = dict(real_name=row.real_name, role=row.role, student_number=row.student_number,
                      teacher_number=row.teacher_number, grade=row.grade, class_name=row.class_name)
        if person is None:
            # Every dict has the same keys, so the INSERT is batched rather than split by key set.
            creates.append(dict(fields, school_id=school.id, id_card_hash=row.id_hash,
                                id_card_encrypted=idcard.encrypt(row.id_card) if row.id_card else None,
                                id_card_masked=idcard.mask(row.id_card) if row.id_card else None))
            continue
        if person.real_name != row.real_name and "teacher" in (person.role, row.role):
            # The teacher's lessons show the name: one outbox row, expanded into them by the index writer.
            enqueue_for_search(TEACHER, person.id)
        changed = False
        for name, value in fields.items():
            if getattr(person, name) != value:
                setattr(person, name, value)
                changed = True
        if row.id_card and person.id_card_hash != row.id_hash:
            set_id_card(person, row.id_card)
            changed = True
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    if creates:
        # One multi-row INSERT per batch: far faster than adding ORM objects one by one.
        db.session.execute(insert(User.__table__), creates)
        result.created += len(creates)
    db.session.flush()


# --- the operation ----------------------------------------------------------------------

def import_roster(stream: BinaryIO, filename: str, school: School,
                  progress: Callable[[int, int | None], None] | None = None) -> RosterResult:
    """Check every row and write the roster of *school*; raise RosterRejected listing bad rows."""
    rows, total = read_table(stream, filename)
    try:
        header = next(rows)
    except StopIteration:
        raise ValidationError("文件是空的") from None
    columns = [HEADERS.get(h.strip().lstrip("\ufeff")) for h in header]
    missing = [h for h in REQUIRED_HEADERS if HEADERS[h] not in columns]
    if missing:
        raise ValidationError(f"表头缺少“{'、'.join(missing)}”列。第一行应为表头：{'、'.join(HEADERS)}")
    if "student_number" not in columns and "teacher_number" not in columns:
        raise ValidationError("表头至少需要“学籍号”或“教师编号”列")

    problems, result = _Problems(), RosterResult()
    seen: dict[tuple[str, str], int] = {}
    batch: list[_Row] = []
    number = 1
    try:
        for number, values in enumerate(rows, start=2):
            if not any(values):
                continue
            record = {col: (values[i] if i < len(values) else "") for i, col in enumerate(columns) if col}
            row = _parse_row(number, record, school, problems)
            if row is None:
                continue
            result.rows += 1
            if not grade_fits_school(row.grade, school.stage) and len(result.warnings) < MAX_REPORTED:
                # imported anyway: the school's stage may be out of date, but a 七年级 in a 小学 is usually a typo
                result.warnings.append({"row": number, "column": "年级", "reason": (
                    f"年级“{row.grade}”不属于{school.stage}（{school.name}）；已照常导入，"
                    "请核对年级是否填错，或请管理员核对学校的学段")})
            duplicate = False
            for kind, label, key in (("s", "学籍号", row.student_number), ("t", "教师编号", row.teacher_number),
                                     ("i", "身份证号", row.id_hash)):
                if key and (kind, key) in seen:
                    problems.add(number, label, f"与第 {seen[(kind, key)]} 行重复")
                    duplicate = True
                elif key:
                    seen[(kind, key)] = number
            if duplicate:
                continue
            batch.append(row)
            if len(batch) >= BATCH:
                _apply_batch(batch, school, problems, result)
                batch.clear()
                if progress:
                    progress(number - 1, total)
    except UnicodeDecodeError:
        raise ValidationError(f"第 {number + 1} 行附近有无法识别的字符，请把文件另存为 UTF-8 或 GBK 编码的 CSV") from None
    except csv.Error as exc:
        raise ValidationError(f"第 {number + 1} 行 CSV 格式错误：{exc}") from None
    if batch:
        _apply_batch(batch, school, problems, result)
    if progress:
        progress(number - 1, total)
    if problems.count:
        shown = "" if problems.count <= MAX_REPORTED else f"（仅列出前 {MAX_REPORTED} 条）"
        raise RosterRejected(f"名册中有 {problems.count} 处错误，整个文件未导入{shown}。请改正后重新导入。",
                             details=problems.items)
    if result.rows == 0:
        raise ValidationError("文件中没有任何数据行")
    audit.record("roster.import", target=f"school:{school.code}",
                 detail=f"rows={result.rows} created={result.created} updated={result.updated}")
    log.info("roster for school %s: %s rows", school.code, result.rows)
    return result
