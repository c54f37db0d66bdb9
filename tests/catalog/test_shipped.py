"""The catalogue shipped with LearnSpace: what it contains, its shape, and loading it again."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

from sqlalchemy import select

from learnspace.catalog import operations
from learnspace.catalog.models import LEVELS, CatalogNode
from learnspace.extensions import db
from tests.fixtures.catalog import node, tree_snapshot

ROOT = Path(__file__).resolve().parents[2]
KEY_SCHEME = re.compile(r"^(xx|cz)(-(math|chinese)(-(pep|bsd|tb)(-g[1-9][ab](-u\d+(-s\d+)?)?)?)?)?$")


def all_nodes() -> list[CatalogNode]:
    return list(db.session.scalars(select(CatalogNode).order_by(CatalogNode.id)))


def names_under(key: str) -> list[str]:
    return [n.name for n in operations.children(node(key).id)]


def test_shipped_catalogue_has_both_stages_and_the_required_editions(ctx):
    """人教版 and 北师大版 maths for 小学 and 初中, 部编版 语文 for two grades, each with several volumes."""
    added = operations.load_shipped_catalogue()
    nodes = all_nodes()
    assert added == len(nodes) > 400

    assert [n.name for n in operations.children(None)] == ["小学", "初中"]
    editions = {(n.stage, n.subject, n.name) for n in nodes if n.level == "edition"}
    assert editions == {("小学", "数学", "人教版"), ("小学", "数学", "北师大版"), ("初中", "数学", "人教版"),
                        ("初中", "数学", "北师大版"), ("小学", "语文", "部编版（统编版）"),
                        ("初中", "语文", "部编版（统编版）")}
    assert names_under("xx-math") == names_under("cz-math") == ["人教版", "北师大版"]  # "position" in the files
    volumes = [n for n in nodes if n.level == "volume"]
    per_edition: dict[int, int] = {}
    for volume in volumes:
        per_edition[volume.parent_id] = per_edition.get(volume.parent_id, 0) + 1
    assert len(per_edition) == 6 and all(count >= 1 for count in per_edition.values())
    assert sum(per_edition.values()) >= 13
    assert {n.grade for n in volumes if n.subject == "语文"} == {"三年级", "七年级"}
    # Every volume has chapters, and most chapters have sections.
    chapters = [n for n in nodes if n.level == "chapter"]
    assert {c.parent_id for c in chapters} == {v.id for v in volumes}
    assert sum(1 for n in nodes if n.level == "section") > 250


def test_chapter_names_are_those_of_the_real_textbooks(ctx):
    """人教版 三年级上册 and 八年级上/下册 list their units and chapters as the books do."""
    operations.load_shipped_catalogue()
    assert names_under("xx-math-pep-g3a") == [
        "1 时、分、秒", "2 万以内的加法和减法（一）", "3 测量", "4 万以内的加法和减法（二）", "5 倍的认识",
        "6 多位数乘一位数", "7 长方形和正方形", "8 分数的初步认识", "9 数学广角——集合", "10 总复习"]
    assert names_under("cz-math-pep-g8a") == [
        "第十一章 三角形", "第十二章 全等三角形", "第十三章 轴对称", "第十四章 整式的乘法与因式分解", "第十五章 分式"]
    assert "第十七章 勾股定理" in names_under("cz-math-pep-g8b")
    assert names_under("cz-math-pep-g8b-u2") == ["17.1 勾股定理", "17.2 勾股定理的逆定理"]
    assert names_under("xx-chinese-tb-g3a-u1")[:3] == ["1 大青树下的小学", "2 花的学校", "3 不懂就要问"]
    assert names_under("cz-chinese-tb-g7a-u1")[0] == "1 春"


def test_levels_follow_the_tree_order_and_paths_match_parents(ctx):
    """Each node is exactly one level below its parent, and its path is the parent's path plus its own id."""
    operations.load_shipped_catalogue()
    nodes = {n.id: n for n in all_nodes()}
    for item in nodes.values():
        parent = nodes.get(item.parent_id)
        if parent is None:
            assert (item.level, item.path) == ("stage", f"/{item.id}/")
        else:
            assert LEVELS.index(item.level) == LEVELS.index(parent.level) + 1, item.key
            assert item.path == f"{parent.path}{item.id}/"


def test_facets_are_copied_down_from_stage_subject_edition_and_volume(ctx):
    """A section knows its stage, subject, edition and grade; levels above the volume carry no grade."""
    operations.load_shipped_catalogue()
    section = node("xx-math-pep-g3a-u1-s1")
    assert (section.stage, section.subject, section.edition, section.grade) == ("小学", "数学", "人教版", "三年级")
    chapter = node("cz-math-pep-g8b-u2")
    assert (chapter.name, chapter.edition, chapter.grade) == ("第十七章 勾股定理", "人教版", "八年级")
    assert node("cz-chinese-tb-g7a-u1-s1").edition == "部编版（统编版）"
    assert (node("xx-math-bsd").subject, node("xx-math-bsd").grade) == ("数学", None)
    assert (node("cz").stage, node("cz").subject, node("cz").edition) == ("初中", None, None)
    for item in all_nodes():
        if item.level in ("volume", "chapter", "section"):
            assert None not in (item.stage, item.subject, item.edition, item.grade), item.key


def test_keys_follow_the_documented_scheme_one_part_per_level(ctx):
    """Keys such as xx-math-pep-g3a-u1-s1: the number of parts is the depth, and no key is reused."""
    operations.load_shipped_catalogue()
    for item in all_nodes():
        assert KEY_SCHEME.match(item.key), item.key
        assert len(item.key.split("-")) == LEVELS.index(item.level) + 1, item.key
        parent = db.session.get(CatalogNode, item.parent_id) if item.parent_id else None
        assert parent is None or item.key.startswith(parent.key + "-")


def test_loading_again_changes_nothing_and_keeps_every_id(ctx):
    """The second load reports 0 changes and every node keeps its id, name, path and facets."""
    first = operations.load_shipped()
    db.session.commit()
    before = tree_snapshot()
    again = operations.load_shipped()
    db.session.commit()
    assert (again.created, again.updated, again.unchanged) == (0, 0, first.created)
    assert tree_snapshot() == before


def test_init_loads_the_catalogue_and_a_second_init_adds_nothing(app):
    """``learnspace init`` prints how many nodes it added; run again it adds and updates none."""
    from learnspace.cli import main

    runner = app.test_cli_runner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    match = re.search(r"catalogue: (\d+) nodes added, 0 updated \((\d+) shipped\)", first.output)
    assert match and match.group(1) == match.group(2) and int(match.group(1)) > 400, first.output
    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert f"catalogue: 0 nodes added, 0 updated ({match.group(2)} shipped)" in second.output


def test_setup_cfg_ships_every_catalogue_file_as_package_data():
    """The package_data glob in setup.cfg matches each JSON file under learnspace/catalog/data."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg", encoding="utf-8")
    pattern = config["options.package_data"]["learnspace"].strip()
    shipped = sorted(p.name for p in (ROOT / "learnspace").glob(pattern))
    assert shipped == sorted(p.name for p in (ROOT / "learnspace" / "catalog" / "data").glob("*.json"))
    assert "stages.json" in shipped and len(shipped) >= 7
