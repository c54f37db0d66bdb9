"""Importing a province's catalogue file: JSON or CSV (UTF-8/GBK), stable keys, all or nothing."""
from __future__ import annotations

import io

import pytest

from learnspace.catalog import operations
from learnspace.catalog.operations import CatalogueRejected
from learnspace.errors import NotFound, ValidationError
from learnspace.extensions import db
from tests.fixtures.catalog import csv_bytes, json_bytes, node, province_edition, standalone_rows, tree_snapshot


@pytest.fixture
def shipped(ctx):
    operations.load_shipped_catalogue()
    db.session.commit()


def run_import(data: bytes, filename: str):
    return operations.import_catalogue_file(io.BytesIO(data), filename)


def rejected(data: bytes, filename: str) -> CatalogueRejected:
    """Import a bad file and check that not a single node was added or changed, even unflushed."""
    before = tree_snapshot()
    with pytest.raises(CatalogueRejected) as info:
        run_import(data, filename)
    assert not db.session.new and not db.session.dirty
    assert tree_snapshot() == before
    return info.value


def reasons(exc: CatalogueRejected) -> dict[int, str]:
    return {d["row"]: d["reason"] for d in exc.details}


# --- good files ---------------------------------------------------------------------------------

def test_json_edition_under_a_shipped_subject_gets_paths_positions_and_facets(shipped):
    """A province's edition hangs under cz-math; its sections know 初中 · 数学 · 湘教版 · 七年级."""
    assert operations.import_catalogue(io.BytesIO(json_bytes(province_edition())), "hn.json") == 6
    edition, section = node("hn-cz-math-xj"), node("hn-cz-math-xj-g7a-u1-s2")
    assert edition.parent_id == node("cz-math").id
    assert (section.stage, section.subject, section.edition, section.grade) == ("初中", "数学", "湘教版", "七年级")
    assert [n.key for n in operations.ancestors(section)] == [
        "cz", "cz-math", "hn-cz-math-xj", "hn-cz-math-xj-g7a", "hn-cz-math-xj-g7a-u1"]
    assert [n.name for n in operations.children(node("hn-cz-math-xj-g7a").id)] == ["第1章 有理数", "第2章 代数式"]
    assert set(operations.subtree_ids(node("hn-cz-math-xj-g7a-u1"))) == {
        node(k).id for k in ("hn-cz-math-xj-g7a-u1", "hn-cz-math-xj-g7a-u1-s1", "hn-cz-math-xj-g7a-u1-s2")}
    assert operations.label(section) == "初中 · 数学 · 湘教版 · 七年级上册 · 第1章 有理数 · 1.2 数轴、相反数与绝对值"


def test_reimporting_the_same_file_changes_nothing(shipped):
    """Same file twice: the second import reports 0 added and 0 updated, and no column changes."""
    data = json_bytes(province_edition())
    run_import(data, "hn.json")
    db.session.commit()
    before = tree_snapshot()
    result = run_import(data, "hn.json")
    assert (result.created, result.updated, result.unchanged) == (0, 0, 6)
    assert tree_snapshot() == before


def test_a_changed_name_updates_that_node_in_place(shipped):
    """A renamed section keeps its id; only it is counted as updated."""
    run_import(json_bytes(province_edition()), "hn.json")
    db.session.commit()
    old_id = node("hn-cz-math-xj-g7a-u1-s1").id
    document = province_edition()
    document["children"][0]["children"][0]["children"][0]["name"] = "1.1 正数与负数"
    result = run_import(json_bytes(document), "hn.json")
    assert (result.created, result.updated) == (0, 1)
    renamed = node("hn-cz-math-xj-g7a-u1-s1")
    assert (renamed.id, renamed.name) == (old_id, "1.1 正数与负数")


def test_renaming_an_edition_alone_updates_the_facet_of_every_node_below_it(shipped):
    """A file with only the edition node renames it; its volumes, chapters and sections follow."""
    run_import(json_bytes(province_edition()), "hn.json")
    db.session.commit()
    rename = {"key": "hn-cz-math-xj", "name": "湘教版（2024）", "level": "edition", "parent_key": "cz-math"}
    assert operations.import_catalogue(io.BytesIO(json_bytes(rename)), "rename.json") == 1
    assert node("hn-cz-math-xj-g7a-u1-s2").edition == "湘教版（2024）"
    assert node("hn-cz-math-xj-g7a").edition == "湘教版（2024）"
    assert node("cz-math-pep").edition == "人教版"


def test_moving_a_volume_to_another_edition_moves_its_whole_subtree(shipped):
    """A volume re-parented by a CSV row gets a new path, and so do its chapters and sections."""
    run_import(json_bytes(province_edition()), "hn.json")
    db.session.commit()
    rows = [["hn-cz-math-xj-g7a", "cz-math-bsd", "volume", "七年级上册"]]
    result = run_import(csv_bytes(rows), "move.csv")
    assert (result.created, result.updated) == (0, 1)
    section = node("hn-cz-math-xj-g7a-u1-s1")
    assert section.path.startswith(node("cz-math-bsd").path)
    assert section.edition == "北师大版"
    assert node("hn-cz-math-xj-g7a-u1-s1").id in operations.subtree_ids(node("cz-math-bsd"))
    assert node("hn-cz-math-xj-g7a-u1-s1").id not in operations.subtree_ids(node("hn-cz-math-xj"))


def test_csv_with_chinese_headers_and_rows_in_any_order_builds_the_tree(ctx):
    """编号,上级编号,层级,名称 with 学段/学科/教材版本/册次/章/节 words; children may come before parents."""
    level_words = {"stage": "学段", "subject": "学科", "edition": "教材版本", "volume": "册次", "chapter": "章",
                   "section": "节"}
    rows = [[key, parent, level_words[level], name] for key, parent, level, name in standalone_rows()]
    result = run_import(csv_bytes(rows, header=["编号", "上级编号", "层级", "名称"], encoding="utf-8-sig"), "高中.csv")
    assert (result.created, result.updated) == (7, 0)
    section = node("t-gz-math-a-b1-u1-s2")
    assert (section.stage, section.subject, section.edition) == ("高中", "数学", "人教A版")
    assert section.grade is None  # 必修 第一册 names no grade
    assert [n.name for n in operations.children(node("t-gz-math-a-b1-u1").id)] == ["1.1 集合的概念", "1.2 集合间的基本关系"]


def test_gbk_csv_as_saved_by_excel_imports_with_chinese_intact(ctx):
    """A GBK-encoded CSV (Excel on Chinese Windows) is detected and read correctly."""
    data = csv_bytes(standalone_rows(), encoding="gbk")
    assert "集合".encode("utf-8") not in data
    assert operations.import_catalogue(io.BytesIO(data), "gbk.csv") == 7
    assert node("t-gz-math-a-b1-u1").name == "第一章 集合与常用逻辑用语"


def test_volume_grade_can_be_given_explicitly(ctx):
    """A grade column overrides what the volume name says (here a name without a grade)."""
    rows = [row + [""] for row in standalone_rows()]
    for row in rows:
        if row[0] == "t-gz-math-a-b1":
            row[4] = "高一"
    operations.import_catalogue(io.BytesIO(csv_bytes(rows, header=["key", "parent_key", "level", "name", "grade"])),
                                "g.csv")
    assert node("t-gz-math-a-b1-u1-s1").grade == "高一"


# --- bad files: every bad row reported, nothing written --------------------------------------------

def test_bad_json_reports_every_bad_node_and_writes_nothing(shipped):
    """Unknown parent, wrong level order, duplicate key, empty name, bad level, a line break: all listed at once."""
    document = [
        province_edition(),
        {"key": "hn-orphan", "name": "孤儿版", "level": "edition", "parent_key": "no-such-subject"},
        {"key": "hn-skip", "name": "跳级", "level": "chapter", "parent_key": "cz-math"},
        {"key": "hn-cz-math-xj-g7a", "name": "重复的册", "level": "volume", "parent_key": "hn-cz-math-xj"},
        {"key": "hn-noname", "name": "  ", "level": "volume", "parent_key": "hn-cz-math-xj"},
        {"key": "hn-level", "name": "怪层级", "level": "课本", "parent_key": "cz-math"},
        {"key": "hn-ctrl", "name": "第一章\n有理数", "level": "volume", "parent_key": "hn-cz-math-xj"},
    ]
    exc = rejected(json_bytes(document), "bad.json")
    found = reasons(exc)
    assert sorted(found) == [7, 8, 9, 10, 11, 12], exc.details  # the six good nodes come first
    assert "6 处错误" in exc.message and "整个文件未导入" in exc.message
    assert "不存在" in found[7] and "no-such-subject" in found[7]
    assert "层级顺序错误" in found[8] and "“章”的上级应为“册次”" in found[8] and "“学科”" in found[8]
    assert "重复" in found[9] and "第 2 个节点" in found[9]
    assert found[10] == "名称不能为空"
    assert "层级“课本”无效" in found[11]
    assert "控制字符" in found[12]
    assert all(d["where"] == f"第 {d['row']} 个节点" for d in exc.details)
    assert node("hn-cz-math-xj") is None  # the good part of the file was not written either


def test_bad_gbk_csv_reports_every_bad_line_with_its_number(ctx):
    """Each bad line of a GBK CSV is reported with its line number and key; the good lines are not written."""
    rows = standalone_rows() + [
        ["t-gz-math", "t-gz", "subject", "数学（重复）"],        # line 9: duplicate key
        ["t-x1", "t-missing", "chapter", "第二章 函数"],           # line 10: unknown parent
        ["t-x2", "t-gz-math-a", "chapter", "第三章 跳过册次"],      # line 11: edition → chapter
        ["t-x3", "t-gz-math-a-b1", "volume", "册下面的册"],         # line 12: volume → volume
        ["t-x4", "t-gz-math-a-b1", "chapter", ""],                # line 13: empty name
        ["", "t-gz-math-a-b1", "chapter", "没有编号"],              # line 14: empty key
        ["t-x5", "", "section", "没有上级"],                        # line 15: no parent
        ["t-x6", "t-gz", "stage", "学段有上级"],                     # line 16: stage with a parent
    ]
    exc = rejected(csv_bytes(rows, encoding="gbk"), "bad.csv")
    found = reasons(exc)
    assert sorted(found) == list(range(9, 17)), exc.details
    assert "8 处错误" in exc.message
    assert "重复" in found[9] and "第 5 行" in found[9]
    assert "上级编号“t-missing”不存在" in found[10]
    assert "“章”的上级应为“册次”" in found[11]
    assert "“册次”的上级应为“教材版本”" in found[12]
    assert found[13] == "名称不能为空"
    assert "编号（key）不能为空" in found[14]
    assert "必须有上级" in found[15]
    assert "不能有上级" in found[16]
    assert all(d["where"] == f"第 {d['row']} 行" for d in exc.details)
    assert node("t-gz") is None


def test_changing_the_level_of_an_existing_key_is_refused(shipped):
    """A key that exists as a chapter cannot come back as a section."""
    rows = [["xx-math-pep-g3a-u1", "xx-math-pep-g3a-u2", "section", "1 时、分、秒"]]
    exc = rejected(csv_bytes(rows), "level.csv")
    assert "已存在，层级为“章”，不能改为“节”" in reasons(exc)[2]


@pytest.mark.parametrize("data, filename, words", [
    (b"", "empty.csv", "是空的"),
    (b'{"key": "a", "name": ', "broken.json", "JSON 格式错误（第 1 行"),
    (b"PK\x03\x04rest-of-a-zip", "book.xlsx", "另存为” CSV"),
    ("编号,名称\nt-gz,高中\n".encode("utf-8"), "cols.csv", "表头缺少“parent_key、level”列"),
    ('{"key": "t", "name": "小学", "level": "stage"}'.encode("gbk") + "错".encode("gbk"), "gbk.json", "UTF-8"),
    (b"[1, 2]", "numbers.json", "节点必须是对象"),
    (b'"just a string"', "str.json", "JSON 文件应为一个节点"),
])
def test_unreadable_files_are_refused_with_a_clear_message(ctx, data, filename, words):
    """Empty, broken JSON, Excel, missing columns, non-UTF-8 JSON, wrong shapes: a Chinese message, no writes."""
    before = tree_snapshot()
    with pytest.raises(ValidationError) as info:
        run_import(data, filename)
    assert words in info.value.message + "".join(d["reason"] for d in info.value.details)
    assert tree_snapshot() == before and not db.session.new


def test_reading_the_tree(shipped):
    """get_node refuses unknown ids in Chinese; children(None) are the stages; ancestors start at the root."""
    with pytest.raises(NotFound, match="教材目录节点不存在"):
        operations.get_node(987654)
    with pytest.raises(NotFound):
        operations.get_node("abc")
    with pytest.raises(NotFound, match="没有编号为“nope”"):
        operations.get_node_by_key("nope")
    section = node("xx-math-pep-g3a-u1-s2")
    assert operations.get_node(section.id) is section
    assert [n.level for n in operations.ancestors(section)] == ["stage", "subject", "edition", "volume", "chapter"]
    assert operations.ancestors(node("xx")) == []
    assert [n.key for n in operations.children(None)] == ["xx", "cz"]
    assert operations.children(section.id) == []
