"""``learnspace import-catalog FILE``: the same import as the operation, with a progress bar and clear failures."""
from __future__ import annotations

from sqlalchemy import func, select

from learnspace.audit.models import AuditEntry
from learnspace.catalog.models import CatalogNode
from learnspace.cli import main
from learnspace.extensions import db
from tests.fixtures.catalog import csv_bytes, json_bytes, province_edition, standalone_rows


def import_catalog(app, tmp_path, data: bytes, filename: str, *args: str):
    path = tmp_path / filename
    path.write_bytes(data)
    return app.test_cli_runner().invoke(main, ["import-catalog", str(path), *args])


def node_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(CatalogNode))


def test_import_prints_the_summary_and_a_second_run_changes_nothing(app, tmp_path):
    """A GBK CSV imports (exit 0, Chinese summary, audit entry); the same file again adds and updates none."""
    data = csv_bytes(standalone_rows(), encoding="gbk")
    first = import_catalog(app, tmp_path, data, "高中数学.csv")
    assert first.exit_code == 0, first.output
    assert "导入完成。共 7 个节点：新增 7 个，更新 0 个，未变 0 个" in first.output
    second = import_catalog(app, tmp_path, data, "高中数学.csv")
    assert second.exit_code == 0, second.output
    assert "新增 0 个，更新 0 个，未变 7 个" in second.output
    assert node_count(app) == 7
    with app.app_context():
        entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "catalog.import")).all()
        assert [(e.target, e.ip) for e in entries] == [("file:高中数学.csv", "cli")]


def test_a_bad_file_exits_non_zero_lists_every_bad_row_and_writes_nothing(app, tmp_path):
    """Two bad lines: exit code 1, both lines named with their reasons, no traceback, no nodes."""
    rows = standalone_rows() + [["t-x1", "t-missing", "chapter", "第二章 函数"], ["t-x2", "t-gz", "chapter", ""]]
    result = import_catalog(app, tmp_path, csv_bytes(rows), "bad.csv")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "教材目录文件“bad.csv”中有 3 处错误，整个文件未导入" in result.output
    assert "第 9 行（t-x1）：上级编号“t-missing”不存在" in result.output
    assert "第 10 行（t-x2）：层级顺序错误" in result.output and "第 10 行（t-x2）：名称不能为空" in result.output
    assert node_count(app) == 0


def test_an_unreadable_file_and_an_unknown_parent_subject_fail_cleanly(app, tmp_path):
    """Broken JSON names line and column; an edition whose subject is not loaded yet names the missing key."""
    broken = import_catalog(app, tmp_path, b'{"key": "x",\n "name": }', "broken.json")
    assert broken.exit_code == 1 and "JSON 格式错误（第 2 行" in broken.output
    orphan = import_catalog(app, tmp_path, json_bytes(province_edition()), "hn.json")
    assert orphan.exit_code == 1 and "上级编号“cz-math”不存在" in orphan.output
    assert node_count(app) == 0


def test_dry_run_checks_the_file_without_saving(app, tmp_path):
    result = import_catalog(app, tmp_path, csv_bytes(standalone_rows()), "check.csv", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "检查通过，未保存（--dry-run）。共 7 个节点：新增 7 个" in result.output
    assert node_count(app) == 0
