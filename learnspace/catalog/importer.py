"""Reading catalogue files (JSON tree or flat CSV in UTF-8/GBK) into plain rows, without touching the database.

JSON is a nested tree, a list of trees, or ``{"nodes": [...]}``; every node is
``{"key", "name", "level", "children": [...]}`` with an optional ``"grade"``
(on volumes), an optional ``"position"`` among its siblings (otherwise its place
in the list) and, on a top node only, ``"parent_key"`` to hang it under a node
that already exists (for example a province's own edition under ``xx-math``).
CSV has a header row with ``key,parent_key,level,name`` (optionally ``grade``;
Chinese headers 编号, 上级编号, 层级, 名称, 年级 work too), one node a row, in any order.

Problems are collected, never raised one by one, so a province sees every bad
row of its file in one report; checks against the database happen in
:mod:`learnspace.catalog.operations`.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import BinaryIO

from ..errors import ValidationError
from ..text_files import detect_encoding
from .models import LEVEL_NAMES, LEVELS

#: Catalogue files are outlines, not data dumps: a whole province fits in a few MB.
MAX_BYTES = 20 * 1024 * 1024
MAX_REPORTED = 1000
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
#: the facet columns the names are copied into (catalog_nodes.stage/subject/edition), and name itself
NAME_LIMITS = {"stage": 16, "subject": 16, "edition": 32}
NAME_MAX = 120
GRADE_MAX = 16

LEVEL_WORDS = {level: level for level in LEVELS}
LEVEL_WORDS.update({name: level for level, name in LEVEL_NAMES.items()})
LEVEL_WORDS.update({"版本": "edition", "教材": "edition", "册": "volume", "单元": "chapter", "章节": "chapter",
                    "课": "section", "课时": "section"})
CSV_HEADERS = {
    "key": "key", "编号": "key", "节点编号": "key", "标识": "key",
    "parent_key": "parent_key", "parent": "parent_key", "上级编号": "parent_key", "上级": "parent_key",
    "level": "level", "层级": "level",
    "name": "name", "名称": "name",
    "grade": "grade", "年级": "grade",
}
REQUIRED_COLUMNS = ("key", "parent_key", "level", "name")


@dataclass
class Row:
    """One node as read from a file; ``number`` is the CSV line or the JSON node's ordinal."""

    number: int
    key: str
    parent_key: str | None
    level: str | None
    name: str
    grade: str | None
    position: int = 0
    #: the raw level text, for the report when it is not a known level
    level_text: str = ""
    #: in a JSON tree, the number of the enclosing node (its parent even when that one's key is bad)
    parent_row: int | None = None
    #: already reported as unreadable: no further checks
    broken: bool = False


@dataclass
class Problems:
    """Every problem of a file, each as {row, key, reason}; ``unit`` is 行 (CSV) or 个节点 (JSON)."""

    unit: str = "行"
    items: list = field(default_factory=list)
    count: int = 0

    def add(self, row: int, key: str, reason: str) -> None:
        self.count += 1
        if len(self.items) < MAX_REPORTED:
            self.items.append({"row": row, "key": key, "reason": reason, "where": f"第 {row} {self.unit}"})


def read_catalogue(stream: BinaryIO, filename: str) -> tuple[list[Row], Problems]:
    """Read a JSON or CSV catalogue file into rows plus the problems found in the file itself."""
    data = stream.read(MAX_BYTES + 1)
    if not data.strip():
        raise ValidationError(f"文件“{filename}”是空的")
    if len(data) > MAX_BYTES:
        raise ValidationError(f"文件“{filename}”超过 {MAX_BYTES // (1024 * 1024)} MB，教材目录文件不应这么大，请检查文件")
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ValidationError("不支持 Excel 文件，请在 Excel 中“另存为” CSV（UTF-8 或 GBK）后再导入")
    if _looks_like_json(data, filename):
        return _read_json(data, filename)
    return _read_csv(data, filename)


def _looks_like_json(data: bytes, filename: str) -> bool:
    start = data.lstrip(codecs.BOM_UTF8).lstrip()[:1]
    return start in (b"{", b"[") or filename.lower().endswith(".json")


def level_of(text: str) -> str | None:
    """Map a level written in English or Chinese (学段, 学科, 教材版本, 册次, 章, 节) to its code."""
    return LEVEL_WORDS.get((text or "").strip().lower()) or LEVEL_WORDS.get((text or "").strip())


# --- JSON -----------------------------------------------------------------------------------

def _read_json(data: bytes, filename: str) -> tuple[list[Row], Problems]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"JSON 文件“{filename}”必须是 UTF-8 编码") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"JSON 格式错误（第 {exc.lineno} 行第 {exc.colno} 列）：{exc.msg}") from None
    if isinstance(document, dict) and "key" not in document:
        document = document.get("nodes", document.get("catalogue"))
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise ValidationError('JSON 文件应为一个节点、节点列表或 {"nodes": [...]}，'
                              '每个节点形如 {"key", "name", "level", "children": [...]}')
    rows: list[Row] = []
    problems = Problems(unit="个节点")
    for position, node in enumerate(document):
        _walk_json(node, None, position, rows, problems, top=True)
    return rows, problems


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else ""


def _walk_json(node, parent: Row | None, position: int, rows: list[Row], problems: Problems, *,
               top: bool) -> None:
    number = len(rows) + 1
    parent_key = parent.key if parent else None
    if not isinstance(node, dict):
        problems.add(number, "", "节点必须是对象 {\"key\", \"name\", \"level\", \"children\"}")
        rows.append(Row(number, "", parent_key, None, "", None, position, "",
                        parent.number if parent else None, broken=True))
        return
    key = _text(node.get("key"))
    declared_parent = _text(node.get("parent_key")) or None
    if not top and declared_parent and declared_parent != parent_key:
        problems.add(number, key, f"parent_key“{declared_parent}”与所在位置的上级“{parent_key}”不一致")
    level_text = _text(node.get("level"))
    if isinstance(node.get("position"), int) and not isinstance(node.get("position"), bool):
        position = node["position"]  # lets separate files order sibling editions (人教版 before 北师大版)
    row = Row(number, key, parent_key if not top else declared_parent, level_of(level_text),
              _text(node.get("name")), _text(node.get("grade")) or None, position, level_text,
              parent.number if parent else None)
    for name in ("key", "name", "level"):
        if node.get(name) is not None and not isinstance(node.get(name), (str, int)):
            problems.add(number, key, f"“{name}”必须是文字")
    rows.append(row)
    children = node.get("children") or []
    if not isinstance(children, list):
        problems.add(number, key, "“children”必须是列表")
        return
    for child_position, child in enumerate(children):
        _walk_json(child, row, child_position, rows, problems, top=False)


# --- CSV ------------------------------------------------------------------------------------

def _read_csv(data: bytes, filename: str) -> tuple[list[Row], Problems]:
    encoding = detect_encoding(data[: 1 << 20])
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(f"第 {line} 行有无法识别的字符，请把文件另存为 UTF-8 或 GBK 编码的 CSV") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise ValidationError(f"文件“{filename}”是空的") from None
    except csv.Error as exc:
        raise ValidationError(f"第 1 行 CSV 格式错误：{exc}") from None
    columns = [CSV_HEADERS.get(h.strip().lstrip("\ufeff").lower()) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise ValidationError(f"表头缺少“{'、'.join(missing)}”列。第一行应为表头：key,parent_key,level,name"
                              "（或 编号,上级编号,层级,名称），可另加 grade（年级）列")
    rows: list[Row] = []
    positions: dict[str | None, int] = {}
    line = 1
    try:
        for line, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            record = {col: values[i].strip() for i, col in enumerate(columns) if col and i < len(values)}
            parent_key = record.get("parent_key") or None
            position = positions.get(parent_key, 0)
            positions[parent_key] = position + 1
            level_text = record.get("level", "")
            rows.append(Row(line, record.get("key", ""), parent_key, level_of(level_text),
                            record.get("name", ""), record.get("grade") or None, position, level_text))
    except csv.Error as exc:
        raise ValidationError(f"第 {line + 1} 行 CSV 格式错误：{exc}") from None
    return rows, Problems(unit="行")


# --- checks that need no database ------------------------------------------------------------

def check_rows(rows: list[Row], problems: Problems) -> None:
    """Add the problems each row has on its own, and duplicate keys within the file."""
    seen: dict[str, int] = {}
    level_names = "、".join(LEVEL_NAMES.values())
    for row in rows:
        if row.broken:
            continue
        if not row.key:
            problems.add(row.number, "", "编号（key）不能为空")
        elif not KEY_RE.match(row.key):
            problems.add(row.number, row.key[:80], "编号只能由字母、数字和 . _ - 组成，以字母或数字开头，不超过 80 个字符")
        elif row.key in seen:
            problems.add(row.number, row.key, f"编号“{row.key}”重复，与第 {seen[row.key]} {problems.unit}相同")
        else:
            seen[row.key] = row.number
        if row.level is None:
            shown = f"“{row.level_text[:20]}”" if row.level_text else "为空"
            problems.add(row.number, row.key, f"层级{shown}无效，应为 {level_names} 之一")
        if not row.name:
            problems.add(row.number, row.key, "名称不能为空")
        elif CONTROL_RE.search(row.name):
            problems.add(row.number, row.key, "名称中含有换行、制表符等控制字符，请删除后再导入")
        else:
            limit = NAME_LIMITS.get(row.level, NAME_MAX)
            if len(row.name) > limit:
                problems.add(row.number, row.key, f"{LEVEL_NAMES.get(row.level, '名称')}名称“{row.name[:20]}…”过长，"
                             f"不超过 {limit} 个字")
        if row.grade and len(row.grade) > GRADE_MAX:
            problems.add(row.number, row.key, f"年级“{row.grade[:20]}”过长，不超过 {GRADE_MAX} 个字")
