"""Verbs of the lessons domain: make, change, publish, withdraw, delete and list lessons.

Publishing rule (decided here): a lesson can be published once it has a ready
recording. The national activity wants all four parts (recording, lesson plan,
courseware, exercises) and the lesson page always says which are missing, but a
teacher may share the recording with their students before the documents are
written; "complete" (Lesson.is_complete) stays the stricter, separate fact.
"""
from __future__ import annotations

import logging
import re
import unicodedata

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..activity import operations as activity
from ..audit import operations as audit
from ..catalog.models import CatalogNode, SchoolEdition
from ..db import utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..search.outbox import enqueue as enqueue_for_search
from . import uploads  # the upload lifecycle owns how a file's objects are removed
from .models import LANGUAGES, LESSON_TYPES, PART_KINDS, VISIBILITIES, Lesson
from .permissions import visible_clause

log = logging.getLogger(__name__)

TITLE_MAX = 120
DESCRIPTION_MAX = 5000
#: catalogue levels a lesson may hang on
LESSON_NODE_LEVELS = ("chapter", "section")
EDITABLE_FIELDS = ("title", "description", "catalog_node", "lesson_type", "language", "visibility")

# Bidirectional overrides and isolates can make a title read differently from what it is.
_BIDI_CONTROLS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class LessonInvalid(ValidationError):
    """One or more fields of a lesson are not acceptable; ``errors`` maps field name to message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("；".join(errors.values()), details=list(errors.values()))
        self.errors = errors


def _has_control_chars(text: str, allow: str = "") -> bool:
    return bool(_BIDI_CONTROLS.search(text)) or any(
        unicodedata.category(ch) == "Cc" and ch not in allow for ch in text)


def _clean_title(title: str | None, errors: dict) -> str:
    title = (title or "").strip()
    if not title:
        errors["title"] = "请填写课程标题"
    elif len(title) > TITLE_MAX:
        errors["title"] = f"课程标题最多 {TITLE_MAX} 个字（现在 {len(title)} 个）"
    elif _has_control_chars(title):
        errors["title"] = "课程标题含有不可见的控制字符，请删除后重试"
    return title


def _clean_description(description: str | None, errors: dict) -> str:
    description = (description or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = f"课程简介最多 {DESCRIPTION_MAX} 个字（现在 {len(description)} 个）"
    elif _has_control_chars(description, allow="\n\t"):
        errors["description"] = "课程简介含有不可见的控制字符，请删除后重试"
    return description


def node_problem(node: CatalogNode | None) -> str | None:
    """Say why a lesson cannot hang on catalogue *node*, or return None when it can."""
    if node is None:
        return "请选择这节课对应的教材章节"
    if node.level not in LESSON_NODE_LEVELS:
        return "请一直选到“章”或“节”这一级，课程要挂在具体的章节上"
    if not (node.stage and node.subject and node.edition and node.grade):
        return "该章节缺少学段、学科、年级或教材版本信息，请联系管理员检查教材目录"
    return None


def _resolve_node(node: CatalogNode | int | str | None, errors: dict) -> CatalogNode | None:
    if node is not None and not isinstance(node, CatalogNode):
        try:
            node = db.session.get(CatalogNode, int(node))
        except (TypeError, ValueError):
            node = None
        if node is None:
            errors["catalog_node"] = "所选的教材章节不存在，请重新选择"
            return None
    problem = node_problem(node)
    if problem:
        errors["catalog_node"] = problem
        return None
    return node


def _check_choices(fields: dict, errors: dict) -> None:
    if "lesson_type" in fields and fields["lesson_type"] not in LESSON_TYPES:
        errors["lesson_type"] = "请选择课型：" + "、".join(LESSON_TYPES)
    if "language" in fields and fields["language"] not in LANGUAGES:
        errors["language"] = "请选择授课语言：" + "、".join(LANGUAGES.values())
    if "visibility" in fields and fields["visibility"] not in VISIBILITIES:
        errors["visibility"] = "请选择谁可以查看：" + "、".join(VISIBILITIES.values())


def _apply_node(lesson: Lesson, node: CatalogNode) -> None:
    lesson.catalog_node = node
    lesson.catalog_node_id = node.id
    lesson.stage, lesson.subject, lesson.grade, lesson.edition = node.stage, node.subject, node.grade, node.edition


def create_lesson(teacher: User, *, title: str, description: str = "", catalog_node: CatalogNode | int | None,
                  lesson_type: str, language: str = "zh", visibility: str = "school") -> Lesson:
    """Create a draft lesson of *teacher* on a chapter or section of the catalogue."""
    if teacher is None or teacher.role != "teacher":
        raise PermissionDenied("只有教师可以创建课程")
    if teacher.school_id is None:
        raise ValidationError("您还没有所属学校，暂时不能创建课程；请联系学校管理员核对名册")
    errors: dict[str, str] = {}
    title = _clean_title(title, errors)
    description = _clean_description(description, errors)
    node = _resolve_node(catalog_node, errors)
    _check_choices({"lesson_type": lesson_type, "language": language, "visibility": visibility}, errors)
    if errors:
        raise LessonInvalid(errors)
    lesson = Lesson(title=title, description=description, lesson_type=lesson_type, language=language,
                    visibility=visibility, status="draft", teacher_id=teacher.id, school_id=teacher.school_id)
    _apply_node(lesson, node)
    db.session.add(lesson)
    db.session.flush()
    audit.record("lesson.create", target=f"lesson:{lesson.id}", detail=f"node={node.key}")
    log.info("lesson %s created by user %s", lesson.id, teacher.id)
    return lesson


def update_lesson(lesson: Lesson, **fields) -> Lesson:
    """Change a lesson's title, description, chapter, type, language or visibility."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"cannot update {', '.join(sorted(unknown))}")
    errors: dict[str, str] = {}
    if "title" in fields:
        fields["title"] = _clean_title(fields["title"], errors)
    if "description" in fields:
        fields["description"] = _clean_description(fields["description"], errors)
    if "catalog_node" in fields:
        fields["catalog_node"] = _resolve_node(fields["catalog_node"], errors)
    _check_choices(fields, errors)
    if errors:
        raise LessonInvalid(errors)
    node = fields.pop("catalog_node", None)
    if node is not None and node.id != lesson.catalog_node_id:
        _apply_node(lesson, node)
    changed = [name for name, value in fields.items() if getattr(lesson, name) != value]
    for name in changed:
        setattr(lesson, name, fields[name])
    if node is not None:
        changed.append("catalog_node")
    db.session.flush()
    enqueue_for_search("lesson", lesson.id)
    audit.record("lesson.update", target=f"lesson:{lesson.id}", detail=",".join(changed) or None)
    return lesson


def publish_problems(lesson: Lesson) -> list[str]:
    """Return why *lesson* cannot be published now (empty when it can)."""
    problems = []
    if lesson.status == "published":
        problems.append("课程已经发布")
    if lesson.ready_file("recording") is None:
        problems.append(f"请先上传{PART_KINDS['recording']}（视频上传完成后才能发布）")
    return problems


def publish(lesson: Lesson) -> Lesson:
    """Publish a draft or withdrawn lesson that has a ready recording."""
    problems = publish_problems(lesson)
    if problems:
        raise Conflict("暂时不能发布：" + "；".join(problems), details=problems)
    lesson.status = "published"
    lesson.published_dt = utcnow()
    db.session.flush()
    enqueue_for_search("lesson", lesson.id)
    activity.record(lesson.teacher, "publish")
    audit.record("lesson.publish", target=f"lesson:{lesson.id}",
                 detail=None if lesson.is_complete else "missing=" + ",".join(lesson.missing_parts))
    return lesson


def withdraw(lesson: Lesson) -> Lesson:
    """Take a published lesson back; only its teacher and admins see it until it is published again."""
    if lesson.status != "published":
        raise Conflict("只有已发布的课程可以撤回")
    lesson.status = "withdrawn"
    db.session.flush()
    enqueue_for_search("lesson", lesson.id)
    audit.record("lesson.withdraw", target=f"lesson:{lesson.id}")
    return lesson


def delete_lesson(lesson: Lesson) -> None:
    """Delete a lesson with all its files: rows and their MinIO objects."""
    lesson_id, count = lesson.id, len(lesson.files)
    for file in list(lesson.files):
        uploads.delete_file(file)
    db.session.flush()
    db.session.expire(lesson, ["files"])
    db.session.delete(lesson)
    enqueue_for_search("lesson", lesson_id)
    db.session.flush()
    audit.record("lesson.delete", target=f"lesson:{lesson_id}", detail=f"files={count}")
    log.info("lesson %s deleted with %s files", lesson_id, count)


def get_lesson(lesson_id: int) -> Lesson:
    """Return the lesson with this id, or raise NotFound."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None:
        raise NotFound("课程不存在")
    return lesson


#: what a list shows of each lesson (completeness, teacher, school), loaded in a few queries instead of per row
_FOR_LISTS = (selectinload(Lesson.files), selectinload(Lesson.teacher), selectinload(Lesson.school))


def lessons_of_teacher(teacher: User) -> list[Lesson]:
    """Return every lesson of *teacher*, any status, newest first."""
    return list(db.session.scalars(
        select(Lesson).where(Lesson.teacher_id == teacher.id).options(*_FOR_LISTS)
        .order_by(Lesson.created_dt.desc(), Lesson.id.desc())))


#: the list filters (same names and values as the search page's URL parameters) → the Lesson column
FILTER_COLUMNS = {"stage": Lesson.stage, "subject": Lesson.subject, "grade": Lesson.grade, "edition": Lesson.edition,
                  "lesson_type": Lesson.lesson_type, "language": Lesson.language}


def filter_clauses(filters: dict[str, str] | None) -> list:
    """SQL conditions on Lesson for *filters* (already cleaned: known names, short values); unknown names ignored."""
    return [FILTER_COLUMNS[name] == value for name, value in (filters or {}).items() if name in FILTER_COLUMNS]


def _visible(user: User | None, teacher_id: int | None, filters: dict[str, str] | None = None):
    stmt = select(Lesson).where(visible_clause(user), *filter_clauses(filters))
    if teacher_id is not None:
        stmt = stmt.where(Lesson.teacher_id == teacher_id)
    return stmt


def lessons_visible_to(user: User | None, limit: int = 20, offset: int = 0, *,
                       teacher_id: int | None = None, filters: dict[str, str] | None = None) -> list[Lesson]:
    """Return one page of the lessons *user* may see (optionally of one teacher, narrowed by *filters*), newest first."""
    newest = func.coalesce(Lesson.published_dt, Lesson.created_dt)
    stmt = (_visible(user, teacher_id, filters).options(*_FOR_LISTS).order_by(newest.desc(), Lesson.id.desc())
            .limit(limit).offset(offset))
    return list(db.session.scalars(stmt))


def count_lessons_visible_to(user: User | None, *, teacher_id: int | None = None,
                             filters: dict[str, str] | None = None) -> int:
    """Count the lessons *user* may see (optionally of one teacher, narrowed by *filters*)."""
    return db.session.scalar(select(func.count()).select_from(_visible(user, teacher_id, filters).subquery()))


def facet_counts(user: User | None, filters: dict[str, str] | None = None, *, teacher_id: int | None = None,
                 where=()) -> dict[str, list[tuple[str, int]]]:
    """Filter name → (value, lessons) of the lessons *user* may see that pass *filters*, most first.

    One grouped query over the filter columns (its rows are the distinct combinations, bounded by the
    catalogue, not by the number of lessons); *where* adds conditions (e.g. a catalogue subtree).
    """
    columns = list(FILTER_COLUMNS.values())
    stmt = select(*columns, func.count()).where(visible_clause(user), *filter_clauses(filters), *where)
    if teacher_id is not None:
        stmt = stmt.where(Lesson.teacher_id == teacher_id)
    totals: dict[str, dict[str, int]] = {name: {} for name in FILTER_COLUMNS}
    for row in db.session.execute(stmt.group_by(*columns)):
        number = row[-1]
        for name, value in zip(FILTER_COLUMNS, row[:-1]):
            if value:
                totals[name][value] = totals[name].get(value, 0) + number
    return {name: sorted(values.items(), key=lambda item: (-item[1], item[0])) for name, values in totals.items()}


#: above this many matching lessons the 课程 list and the catalogue offer filter values without counts: the grouped
#: count reads every matching row (about 250 ms at 200,000 visible lessons on PostgreSQL), the values below do not
FACET_COUNT_LIMIT = 20_000


def facet_values(filters: dict[str, str] | None = None) -> dict[str, list[tuple[str, None]]]:
    """Filter name → (value, None) of every value a lesson can have, without counts (cheap at any size).

    Stage, subject, edition and grade come from the catalogue (narrowed by the chosen ones), lesson types and
    languages from their fixed lists.
    """
    filters = filters or {}
    nodes = [CatalogNode.stage, CatalogNode.subject, CatalogNode.edition, CatalogNode.grade]
    stmt = select(*nodes).where(*[getattr(CatalogNode, name) == filters[name]
                                  for name in ("stage", "subject", "edition", "grade") if name in filters]).distinct()
    found: dict[str, set[str]] = {"stage": set(), "subject": set(), "edition": set(), "grade": set()}
    for row in db.session.execute(stmt):
        for name, value in zip(found, row):
            if value:
                found[name].add(value)
    values = {name: sorted(found[name]) for name in found}
    values["lesson_type"] = list(LESSON_TYPES) if "lesson_type" not in filters else [filters["lesson_type"]]
    values["language"] = list(LANGUAGES) if "language" not in filters else [filters["language"]]
    return {name: [(value, None) for value in values[name]] for name in FILTER_COLUMNS}


def follow_catalogue_facets(node_ids: list[int]) -> int:
    """Copy the catalogue's facets onto the lessons filed at or below *node_ids*; return how many rows changed.

    The receiver of catalog.signals.facets_changed (connected in create_app): a renamed edition or a moved
    volume must not leave the 课程 list filtering on the old name while the search shows the new one.
    """
    changed = 0
    for start in range(0, len(node_ids), 100):
        chunk = node_ids[start:start + 100]
        below = select(CatalogNode.id).where(or_(*(CatalogNode.path.contains(f"/{i}/", autoescape=True)
                                                   for i in chunk)))
        own = {name: select(getattr(CatalogNode, name)).where(CatalogNode.id == Lesson.catalog_node_id)
               .scalar_subquery() for name in ("stage", "subject", "grade", "edition")}
        result = db.session.execute(update(Lesson).where(Lesson.catalog_node_id.in_(below)).values(**own)
                                    .execution_options(synchronize_session="fetch"))
        changed += result.rowcount or 0
    return changed


def preferred_edition_ids(school_id: int | None) -> list[int]:
    """Return the catalogue edition nodes *school_id* has chosen, for offering them first."""
    # Read the choice table directly: it is the catalogue's stable model, and a school
    # that chose nothing simply gets the catalogue's own order.
    if school_id is None:
        return []
    return sorted(set(db.session.scalars(
        select(SchoolEdition.edition_node_id).where(SchoolEdition.school_id == school_id))))
