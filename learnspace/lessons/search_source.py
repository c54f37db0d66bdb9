"""What the search index knows about a lesson: the lessons domain's document source.

Registered in create_app with ``learnspace.search.documents.register_source("lesson", …)``
so the search service never imports lesson models.
"""
from __future__ import annotations

from typing import Iterator

from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from ..catalog.models import CatalogNode
from ..extensions import db
from ..search.documents import register_expander, register_source
from ..search.outbox import CATALOG_NODE, SCHOOL, TEACHER
from .models import Lesson

DOC_TYPE = "lesson"
#: ids per SELECT … IN (…) when fetching documents
FETCH_CHUNK = 500


def _node_ids(node: CatalogNode | None) -> list[int]:
    if node is None:
        return []
    return [int(part) for part in (node.path or "").strip("/").split("/") if part.isdigit()]


def _chapter_names(node: CatalogNode | None, parents: dict[int, CatalogNode]) -> str:
    if node is None:
        return ""
    names = [node.name]
    if node.level == "section" and node.parent_id in parents:
        names.insert(0, parents[node.parent_id].name)
    return " ".join(names)


#: the volume names a lesson's 册次 facet holds: 八年级上册 → 上册, 必修第一册 stays whole
VOLUME_ENDINGS = ("上册", "下册", "全一册")


def volume_of(name: str) -> str:
    """The 册次 of a volume node's name: 上册, 下册 or 全一册 when the name ends so, else the whole name."""
    return next((ending for ending in VOLUME_ENDINGS if name.endswith(ending)), name)


def _volume(node: CatalogNode | None, volumes: dict[int, str]) -> str:
    return next((volumes[i] for i in _node_ids(node) if i in volumes), "")


def _document(lesson: Lesson, parents: dict[int, CatalogNode], volumes: dict[int, str]) -> dict:
    county = lesson.school.county_code if lesson.school else ""
    node = lesson.catalog_node
    return {
        "id": lesson.id,
        "title": lesson.title,
        "description": lesson.description or "",
        "teacher_name": lesson.teacher.real_name if lesson.teacher else "",
        "school_name": lesson.school.name if lesson.school else "",
        # The node's facets when it has them: a catalogue edit (an edition renamed) reaches the index
        # through the node, while the lesson's own copy is what it was filed under.
        "stage": (node.stage if node is not None else None) or lesson.stage,
        "subject": (node.subject if node is not None else None) or lesson.subject,
        "grade": (node.grade if node is not None else None) or lesson.grade,
        "edition": (node.edition if node is not None else None) or lesson.edition,
        "volume": _volume(node, volumes),
        "node_id": lesson.catalog_node_id,
        "node_ids": _node_ids(node) or [lesson.catalog_node_id],
        "chapter": _chapter_names(node, parents),
        "lesson_type": lesson.lesson_type,
        "language": lesson.language,
        "level": "",  # filled by the evaluation issue
        "province_code": county[:2] + "0000" if county else "",
        "city_code": county[:4] + "00" if county else "",
        "county_code": county,
        "school_id": lesson.school_id,
        "teacher_id": lesson.teacher_id,
        "visibility": lesson.visibility,
        "published_dt": lesson.published_dt,
        "views": lesson.view_count or 0,
    }


def fetch(ids) -> dict[int, dict | None]:
    """Return the search document of each lesson id; None for lessons that are not published or gone."""
    ids = sorted({int(i) for i in ids})
    out: dict[int, dict | None] = {i: None for i in ids}
    for start in range(0, len(ids), FETCH_CHUNK):
        chunk = ids[start:start + FETCH_CHUNK]
        lessons = db.session.scalars(
            select(Lesson).where(Lesson.id.in_(chunk), Lesson.status == "published")
            .options(selectinload(Lesson.teacher), selectinload(Lesson.school),
                     selectinload(Lesson.catalog_node))
            .execution_options(populate_existing=True)).all()
        parent_ids = {l.catalog_node.parent_id for l in lessons
                      if l.catalog_node is not None and l.catalog_node.level == "section"}
        parents = {}
        if parent_ids:
            parents = {n.id: n for n in db.session.scalars(select(CatalogNode).where(CatalogNode.id.in_(parent_ids)))}
        path_ids = {i for l in lessons for i in _node_ids(l.catalog_node)}
        volumes = {}
        if path_ids:
            volumes = {i: volume_of(name) for i, name in db.session.execute(
                select(CatalogNode.id, CatalogNode.name).where(CatalogNode.id.in_(path_ids),
                                                               CatalogNode.level == "volume"))}
        for lesson in lessons:
            out[lesson.id] = _document(lesson, parents, volumes)
    return out


def all_ids() -> Iterator[int]:
    """Yield the id of every published lesson, in id order, a page at a time."""
    last = 0
    while True:
        page = db.session.scalars(select(Lesson.id).where(Lesson.status == "published", Lesson.id > last)
                                  .order_by(Lesson.id).limit(10_000)).all()
        if not page:
            return
        yield from page
        last = page[-1]


def _published_ids(condition) -> list[tuple[str, int]]:
    ids = db.session.scalars(select(Lesson.id).where(condition, Lesson.status == "published")).all()
    return [(DOC_TYPE, i) for i in ids]


def lessons_of_schools(ids: list[int]) -> list[tuple[str, int]]:
    """The lessons that show these schools' names (one indexed SELECT, however many lessons)."""
    return _published_ids(Lesson.school_id.in_(ids))


def lessons_of_teachers(ids: list[int]) -> list[tuple[str, int]]:
    """The lessons that show these teachers' names."""
    return _published_ids(Lesson.teacher_id.in_(ids))


def lessons_under_nodes(ids: list[int]) -> list[tuple[str, int]]:
    """The lessons filed under these catalogue nodes or below them (their chapter names, paths and facets)."""
    out: list[tuple[str, int]] = []
    for start in range(0, len(ids), 100):
        chunk = ids[start:start + 100]
        below = select(CatalogNode.id).where(or_(*(CatalogNode.path.contains(f"/{i}/", autoescape=True)
                                                   for i in chunk)))
        out += _published_ids(Lesson.catalog_node_id.in_(below))
    return out


def register() -> None:
    """Make lessons searchable: hand the search service this module's functions."""
    register_source(DOC_TYPE, fetch, all_ids)
    register_expander(SCHOOL, lessons_of_schools)
    register_expander(TEACHER, lessons_of_teachers)
    register_expander(CATALOG_NODE, lessons_under_nodes)
