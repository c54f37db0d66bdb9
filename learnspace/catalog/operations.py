"""Verbs of the textbook catalogue: reading the tree, importing catalogue files, schools' edition choices.

Nodes are identified across imports by their ``key``; the integer ``id`` is
what lessons and URLs use, and it never changes once a key exists. Importing
is all or nothing: every row is checked first and nothing is written when one
is bad. Nodes are never deleted by an import (lessons point at them), only
added, renamed, reordered or moved under another parent of the right level.

Key scheme of the shipped data (``learnspace/catalog/data/*.json``)::

    xx | cz                                   学段: 小学 (xiaoxue), 初中 (chuzhong)
    xx-math, xx-chinese                       学科
    xx-math-pep, xx-math-bsd, xx-chinese-tb   教材版本: 人教版, 北师大版, 部编版（统编版）
    xx-math-pep-g3a, cz-math-pep-g8b          册次: g<年级 1-9><a 上册 | b 下册>
    xx-math-pep-g3a-u1                        章/单元 (unit n)
    xx-math-pep-g3a-u1-s2                     节/课 (section n)

A province that loads its own editions should use its own prefix (for example
``hn-``): shipped keys belong to the shipped data, and ``learnspace init``
puts their names back.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ..audit import operations as audit
from ..errors import Conflict, NotFound, ValidationError
from ..extensions import db
from ..orgs.grades import GRADES_OF_STAGE, STAGES_OF_SCHOOL
from ..orgs.models import School
from ..search.outbox import CATALOG_NODE
from ..search.outbox import enqueue as enqueue_for_search
from .importer import Problems, Row, check_rows, read_catalogue
from .models import LEVEL_NAMES, LEVELS, CatalogNode, SchoolEdition
from .signals import facets_changed

log = logging.getLogger(__name__)

LEVEL_INDEX = {level: index for index, level in enumerate(LEVELS)}
DATA_DIR = Path(__file__).parent / "data"
#: loaded first, so every edition file can hang its tree under a stage and subject
SHIPPED_ROOTS = "stages.json"

_GRADE_IN_NAME = re.compile(r"([一二三四五六七八九]年级|高[一二三])")


class CatalogueRejected(ValidationError):
    """The file has bad rows; ``details`` lists each as {row, key, reason, where}."""


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated

    @property
    def total(self) -> int:
        return self.created + self.updated + self.unchanged

    def add(self, other: ImportResult) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged

    def summary(self) -> str:
        return f"共 {self.total} 个节点：新增 {self.created} 个，更新 {self.updated} 个，未变 {self.unchanged} 个"


# --- reading the tree ----------------------------------------------------------------------------

def get_node(node_id) -> CatalogNode:
    """Load a catalogue node by id or raise NotFound."""
    try:
        node = db.session.get(CatalogNode, int(node_id))
    except (TypeError, ValueError):
        node = None
    if node is None:
        raise NotFound("教材目录节点不存在，可能已被删除，请刷新页面后重新选择")
    return node


def get_node_by_key(key: str) -> CatalogNode:
    """Load a catalogue node by its stable key or raise NotFound."""
    node = db.session.scalar(select(CatalogNode).where(CatalogNode.key == key))
    if node is None:
        raise NotFound(f"教材目录中没有编号为“{key}”的节点")
    return node


def children(node_id: int | None) -> list[CatalogNode]:
    """Return the children of a node in book order; with None, the stages."""
    parent = CatalogNode.parent_id.is_(None) if node_id is None else CatalogNode.parent_id == node_id
    return list(db.session.scalars(select(CatalogNode).where(parent)
                                   .order_by(CatalogNode.position, CatalogNode.id)))


def child_counts(nodes: list[CatalogNode]) -> dict[int, int]:
    """Return how many children each of *nodes* has (nodes without children are left out)."""
    ids = [n.id for n in nodes]
    if not ids:
        return {}
    rows = db.session.execute(select(CatalogNode.parent_id, func.count()).where(CatalogNode.parent_id.in_(ids))
                              .group_by(CatalogNode.parent_id))
    return {parent_id: count for parent_id, count in rows}


def children_of_many(nodes: list[CatalogNode]) -> dict[int, list[CatalogNode]]:
    """Return the children of several nodes at once, keyed by parent id, in book order."""
    found: dict[int, list[CatalogNode]] = {n.id: [] for n in nodes}
    if nodes:
        for child in db.session.scalars(select(CatalogNode).where(CatalogNode.parent_id.in_(list(found)))
                                        .order_by(CatalogNode.position, CatalogNode.id)):
            found[child.parent_id].append(child)
    return found


def ancestors(node: CatalogNode) -> list[CatalogNode]:
    """Return the ancestors of *node*, root first, without the node itself."""
    ids = [int(part) for part in node.path.strip("/").split("/") if part][:-1]
    if not ids:
        return []
    found = {n.id: n for n in db.session.scalars(select(CatalogNode).where(CatalogNode.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def subtree_condition(node: CatalogNode):
    """Return a SQL condition on CatalogNode selecting *node* and everything below it."""
    return CatalogNode.path.startswith(node.path, autoescape=True)


def subtree_ids(node: CatalogNode) -> list[int]:
    """Return the ids of *node* and all its descendants (through the materialised path)."""
    return list(db.session.scalars(select(CatalogNode.id).where(subtree_condition(node))))


def label(node: CatalogNode) -> str:
    """Return the full name of a node, e.g. “小学 · 数学 · 人教版 · 三年级上册 · 1 时、分、秒”."""
    return " · ".join([a.name for a in ancestors(node)] + [node.name])


def grade_from_name(name: str) -> str | None:
    """Read the grade from a volume name such as 三年级上册 or 高一 (None for 必修 第一册)."""
    match = _GRADE_IN_NAME.search(name or "")
    return match.group(1) if match else None


# --- importing -------------------------------------------------------------------------------------

def import_catalogue(stream: BinaryIO, filename: str) -> int:
    """Import a JSON or CSV catalogue file, all or nothing; return how many nodes were added or changed."""
    return import_catalogue_file(stream, filename).changed


def import_catalogue_file(stream: BinaryIO, filename: str,
                          progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Import a catalogue file and return the counts; raise CatalogueRejected listing every bad row."""
    rows, problems = read_catalogue(stream, filename)
    result = _import_rows(rows, problems, filename, progress)
    if result.changed:
        audit.record("catalog.import", target=f"file:{Path(filename).name[:80]}",
                      detail=f"created={result.created} updated={result.updated} unchanged={result.unchanged}")
    log.info("catalogue %s: %s", Path(filename).name, result)
    return result


def load_shipped_catalogue() -> int:
    """Load the catalogue shipped with LearnSpace (idempotent); return how many nodes were added or changed."""
    return load_shipped().changed


def load_shipped(progress: Callable[[int, int], None] | None = None) -> ImportResult:
    """Load every shipped catalogue file, stages first, and return the summed counts."""
    files = sorted(DATA_DIR.glob("*.json"), key=lambda p: (p.name != SHIPPED_ROOTS, p.name))
    total = ImportResult()
    for path in files:
        with path.open("rb") as stream:
            rows, problems = read_catalogue(stream, path.name)
        total.add(_import_rows(rows, problems, path.name, progress))
    if total.changed:
        audit.record("catalog.load_shipped", detail=f"created={total.created} updated={total.updated}")
    return total


def _import_rows(rows: list[Row], problems: Problems, filename: str,
                 progress: Callable[[int, int], None] | None) -> ImportResult:
    if not rows and not problems.count:
        raise ValidationError(f"文件“{filename}”中没有任何节点")
    check_rows(rows, problems)
    existing = _check_against_tree(rows, problems)
    if problems.count:
        shown = "" if problems.count <= len(problems.items) else f"（仅列出前 {len(problems.items)} 条）"
        raise CatalogueRejected(f"教材目录文件“{filename}”中有 {problems.count} 处错误，整个文件未导入{shown}。"
                                "请改正后重新导入。", details=problems.items)
    try:
        return _write(rows, existing, progress)
    except IntegrityError:
        raise Conflict("另一个教材目录导入正在同时进行，请稍后重新导入") from None


def _load_by_keys(keys: set[str]) -> dict[str, CatalogNode]:
    found: dict[str, CatalogNode] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start:start + 500]
        found.update((n.key, n) for n in db.session.scalars(select(CatalogNode).where(CatalogNode.key.in_(chunk))))
    return found


def _check_against_tree(rows: list[Row], problems: Problems) -> dict[str, CatalogNode]:
    """Check parents, level order and level changes; return the existing nodes the file mentions."""
    in_file: dict[str, Row] = {}
    for row in rows:
        in_file.setdefault(row.key, row)
    by_number = {row.number: row for row in rows}
    existing = _load_by_keys({r.key for r in rows if r.key} | {r.parent_key for r in rows if r.parent_key})
    for row in rows:
        if row.broken or row.level is None:
            continue
        old = existing.get(row.key)
        if old is not None and old.level != row.level:
            problems.add(row.number, row.key, f"编号“{row.key}”已存在，层级为“{LEVEL_NAMES[old.level]}”，"
                         f"不能改为“{LEVEL_NAMES[row.level]}”")
        if row.level == "stage":
            if row.parent_key or row.parent_row:
                problems.add(row.number, row.key, "“学段”是最高一级，不能有上级")
            continue
        expected = LEVELS[LEVEL_INDEX[row.level] - 1]
        if row.parent_row is not None:
            parent = by_number[row.parent_row]
            if parent.broken or parent.level is None:
                continue  # the enclosing node is already reported
            parent_level, parent_name = parent.level, parent.key
        elif row.parent_key in in_file:
            parent_level, parent_name = in_file[row.parent_key].level, row.parent_key
            if parent_level is None:
                continue
        elif row.parent_key in existing:
            parent_level, parent_name = existing[row.parent_key].level, row.parent_key
        elif row.parent_key:
            problems.add(row.number, row.key, f"上级编号“{row.parent_key[:80]}”不存在（文件中和已有目录中都没有）")
            continue
        else:
            problems.add(row.number, row.key, f"“{LEVEL_NAMES[row.level]}”必须有上级（{LEVEL_NAMES[expected]}），"
                         "请填写上级编号")
            continue
        if parent_level != expected:
            problems.add(row.number, row.key, f"层级顺序错误：“{LEVEL_NAMES[row.level]}”的上级应为"
                         f"“{LEVEL_NAMES[expected]}”，而上级“{parent_name}”是“{LEVEL_NAMES[parent_level]}”")
    return existing


def _write(rows: list[Row], existing: dict[str, CatalogNode],
           progress: Callable[[int, int], None] | None) -> ImportResult:
    result = ImportResult()
    nodes = dict(existing)
    #: existing nodes whose move or rename must reach descendants the file does not list
    refresh: list[tuple[CatalogNode, str]] = []
    done = 0
    for level in LEVELS:
        level_rows = [r for r in rows if r.level == level]
        if not level_rows:
            continue
        new = False
        for row in level_rows:
            parent = nodes[row.parent_key] if row.parent_key else None
            parent_id = parent.id if parent else None
            node = nodes.get(row.key)
            if node is None:
                node = CatalogNode(key=row.key, level=level, name=row.name, parent_id=parent_id,
                                   position=row.position, path="/")
                db.session.add(node)
                nodes[row.key] = node
                result.created += 1
                new = True
                continue
            grade_changed = level == "volume" and node.grade != (row.grade or grade_from_name(row.name))
            moved = node.parent_id != parent_id
            if not (moved or grade_changed or node.name != row.name or node.position != row.position):
                result.unchanged += 1
                continue
            if moved or grade_changed or (node.name != row.name and level in ("stage", "subject", "edition")):
                refresh.append((node, node.path))
            if moved or grade_changed or node.name != row.name:
                # Lessons filed under the node show its name, path or facets: one outbox row for the subtree.
                enqueue_for_search(CATALOG_NODE, node.id)
            node.name, node.parent_id, node.position = row.name, parent_id, row.position
            result.updated += 1
        if new:
            db.session.flush()  # ids for the paths
        for row in level_rows:
            node = nodes[row.key]
            grade = (row.grade or grade_from_name(row.name)) if level == "volume" else None
            _fill(node, nodes[row.parent_key] if row.parent_key else None, grade)
        done += len(level_rows)
        if progress:
            progress(done, len(rows))
    db.session.flush()
    for node, old_path in refresh:
        _refresh_descendants(node, old_path)
    if refresh:
        facets_changed.send([node.id for node, _ in refresh])
    return result


def _fill(node: CatalogNode, parent: CatalogNode | None, grade: str | None) -> None:
    """Set the path and copy the facets down from the parent (grade starts at the volume)."""
    index = LEVEL_INDEX[node.level]
    node.path = (parent.path if parent else "/") + f"{node.id}/"
    node.stage = node.name if node.level == "stage" else parent.stage
    node.subject = node.name if node.level == "subject" else (parent.subject if index > 1 else None)
    node.edition = node.name if node.level == "edition" else (parent.edition if index > 2 else None)
    node.grade = grade if node.level == "volume" else (parent.grade if index > 3 else None)


def _refresh_descendants(node: CatalogNode, old_path: str) -> None:
    below = db.session.scalars(select(CatalogNode).where(CatalogNode.path.startswith(old_path, autoescape=True),
                                                         CatalogNode.id != node.id))
    for child in sorted(below, key=lambda n: LEVEL_INDEX[n.level]):
        parent = db.session.get(CatalogNode, child.parent_id)
        _fill(child, parent, child.grade)
    db.session.flush()


# --- schools' edition choices -----------------------------------------------------------------------

def grades_of_school(school: School) -> list[tuple[str, str]]:
    """Return (catalogue stage, grade) pairs a school teaches, in school order."""
    stages = STAGES_OF_SCHOOL.get(school.stage, tuple(GRADES_OF_STAGE))
    return [(stage, grade) for stage in stages for grade in GRADES_OF_STAGE[stage]]


def editions_for_school(school: School) -> dict[tuple[str, str], CatalogNode]:
    """Return the school's chosen edition node per (grade, subject)."""
    rows = db.session.scalars(select(SchoolEdition).where(SchoolEdition.school_id == school.id))
    return {(row.grade, row.subject): row.edition_node for row in rows}


def edition_for(school: School, grade: str, subject: str) -> CatalogNode | None:
    """Return the edition a school uses for one grade and subject, if it has chosen one."""
    return db.session.scalar(select(CatalogNode).join(SchoolEdition, SchoolEdition.edition_node_id == CatalogNode.id)
                             .where(SchoolEdition.school_id == school.id, SchoolEdition.grade == grade,
                                    SchoolEdition.subject == subject))


def edition_options(school: School) -> list[dict]:
    """Return one entry per (grade, subject) the school can choose for, with the editions on offer.

    Each entry: ``{"stage", "grade", "subject", "editions": [node, ...], "covered": {node ids with a
    volume of that grade in the catalogue}, "chosen": node or None}``.
    """
    pairs = grades_of_school(school)
    stages = sorted({stage for stage, _ in pairs})
    subject = aliased(CatalogNode)
    editions = list(db.session.scalars(
        select(CatalogNode).join(subject, CatalogNode.parent_id == subject.id)
        .where(CatalogNode.level == "edition", CatalogNode.stage.in_(stages))
        .order_by(subject.position, subject.id, CatalogNode.position, CatalogNode.id)))
    by_subject: dict[tuple[str, str], list[CatalogNode]] = {}
    for node in editions:
        by_subject.setdefault((node.stage, node.subject), []).append(node)
    covered = {(edition_id, grade) for edition_id, grade in db.session.execute(
        select(CatalogNode.parent_id, CatalogNode.grade).where(CatalogNode.level == "volume",
                                                               CatalogNode.stage.in_(stages)))}
    chosen = editions_for_school(school)
    options = []
    for stage, grade in pairs:
        for (option_stage, subject), nodes in by_subject.items():
            if option_stage != stage:
                continue
            options.append({"stage": stage, "grade": grade, "subject": subject, "editions": nodes,
                            "covered": {n.id for n in nodes if (n.id, grade) in covered},
                            "chosen": chosen.get((grade, subject))})
    return options


def set_school_edition(school: School, grade: str, subject: str,
                       edition_node: CatalogNode | None) -> SchoolEdition | None:
    """Choose (or, with None, clear) the edition *school* uses for one grade and subject."""
    if grade not in {g for _, g in grades_of_school(school)}:
        raise ValidationError(f"{school.name}（{school.stage}）没有“{grade[:16]}”，不能为它选择教材版本")
    row = db.session.scalar(select(SchoolEdition).where(SchoolEdition.school_id == school.id,
                                                        SchoolEdition.grade == grade,
                                                        SchoolEdition.subject == subject))
    if edition_node is None:
        if row is not None:
            db.session.delete(row)
            db.session.flush()
        return None
    if edition_node.level != "edition":
        raise ValidationError(f"“{edition_node.name}”是{LEVEL_NAMES[edition_node.level]}，不是教材版本")
    if edition_node.subject != subject:
        raise ValidationError(f"“{edition_node.edition}”是{edition_node.subject}教材，不能用作{subject[:16]}教材")
    if grade not in GRADES_OF_STAGE.get(edition_node.stage, ()):
        raise ValidationError(f"“{edition_node.edition}”是{edition_node.stage}教材，不适用于{grade}")
    if row is None:
        row = SchoolEdition(school_id=school.id, grade=grade, subject=subject)
        db.session.add(row)
    row.edition_node = edition_node
    db.session.flush()
    return row


def count_nodes() -> int:
    """Return how many catalogue nodes exist."""
    return db.session.scalar(select(func.count()).select_from(CatalogNode))
