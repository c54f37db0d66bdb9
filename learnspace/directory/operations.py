"""Browsing: spaces by region → school → teacher, recently updated spaces, lesson counts per catalogue node.

Decisions, kept in one place:

* Only teachers' spaces are listed. A student's space is a private learning record
  (``spaces.permissions.can_view_space``), so no directory list, count or "recently
  updated" view ever names a student, not even to people of the student's own school;
  classmates find each other through the student space (learning package), not here.
* A listed teacher is one who is rostered at the school now, is not disabled and has
  activated their space. Every listed owner is also checked with ``can_view_space``.
* Lesson counts are of lessons the viewer may see (``lessons.permissions.visible_clause``),
  counted at the school the lesson was made at (``Lesson.school_id``).
* "Recently updated": a space is updated when its owner published a lesson, uploaded a
  lesson file or sent an announcement (``UPDATE_KINDS`` of ``activity.ActivityDay``), or
  saved their profile or photo (``spaces.TeacherProfile.updated_dt``); the time shown is
  the latest of these in the last ``RECENT_DAYS`` Asia/Shanghai days. Signing in,
  watching, comments and notes do not update a space: they show visitors nothing new.
* A teacher's subjects are those of their profile; without one, those of their lessons
  the viewer may see.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import String, func, literal, select, union_all
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..activity.models import ActivityDay
from ..activity.operations import KINDS
from ..catalog.models import CatalogNode
from ..china_time import CHINA, local_day
from ..errors import NotFound
from ..extensions import db
from ..lessons.models import Lesson
from ..lessons.operations import facet_counts, filter_clauses
from ..lessons.permissions import visible_clause
from ..orgs import operations as orgs
from ..orgs.models import Region, School
from ..spaces.models import Space, TeacherProfile
from ..spaces.permissions import can_view_space

#: actions that change what visitors find in a teacher's space
UPDATE_KINDS = ("publish", "upload", "announce")
#: the pseudo-kind of a saved profile or photo, and its name
PROFILE_KIND = "profile"
UPDATE_NAMES = {**{kind: KINDS[kind] for kind in UPDATE_KINDS}, PROFILE_KIND: "更新资料"}
#: how far back "recently updated" looks, in days (Asia/Shanghai calendar days)
RECENT_DAYS = 30
#: lessons shown on a school page, newest first
SCHOOL_LESSONS = 10


@dataclass
class Counts:
    """What a region or school holds for one viewer."""

    teachers: int = 0
    lessons: int = 0


@dataclass
class TeacherEntry:
    owner: User
    space: Space
    lessons: int = 0
    subjects: list[str] = field(default_factory=list)


@dataclass
class UpdatedEntry:
    owner: User
    space: Space
    updated_dt: datetime
    #: Chinese names of the kinds of update in the window, e.g. ["发布课程", "发布公告"]
    kinds: list[str] = field(default_factory=list)


# --- regions and schools ---------------------------------------------------------------------

def get_region(code: str) -> Region:
    """Load a region by its 6-digit code or raise NotFound."""
    if not (code or "").isdigit() or len(code) != 6:
        raise NotFound("行政区划代码应为 6 位数字，请从上级区划重新进入")
    return orgs.get_region(code)


def get_school(code: str) -> School:
    """Load a school by its 10-digit code or raise NotFound."""
    if not (code or "").isdigit() or len(code) != 10:
        raise NotFound("学校标识码应为 10 位数字，请从学校所在区县重新进入")
    return orgs.get_school_by_code(code)


def sub_regions(region: Region | None) -> list[Region]:
    """Return the regions directly below *region* (the provinces for None), by code."""
    parent = Region.parent_code.is_(None) if region is None else Region.parent_code == region.code
    return list(db.session.scalars(select(Region).where(parent).order_by(Region.code)))


def schools_of_county(county: Region) -> list[School]:
    """Return the schools of a county, by school code."""
    return list(db.session.scalars(select(School).where(School.county_code == county.code).order_by(School.code)))


def _listed_teachers():
    """Teachers who have a space and may sign in: the people the directory lists."""
    return (select(User.id).join(Space, Space.owner_id == User.id)
            .where(User.role == "teacher", User.is_disabled.is_(False)))


def _county_counts(viewer: User | None, within: Region | None) -> tuple[dict[str, int], dict[str, int]]:
    """Return (teachers, lessons) per county code, each in one grouped query."""
    teachers = (select(School.county_code, func.count(User.id)).join(User, User.school_id == School.id)
                .where(User.id.in_(_listed_teachers())).group_by(School.county_code))
    lessons = (select(School.county_code, func.count(Lesson.id)).join(School, Lesson.school_id == School.id)
               .where(visible_clause(viewer)).group_by(School.county_code))
    if within is not None:
        prefix = School.county_code.startswith(orgs.region_prefix(within.code), autoescape=True)
        teachers, lessons = teachers.where(prefix), lessons.where(prefix)
    return dict(db.session.execute(teachers).all()), dict(db.session.execute(lessons).all())


def region_counts(viewer: User | None, parent: Region | None, regions: list[Region]) -> dict[str, Counts]:
    """Return teachers with spaces and lessons visible to *viewer* inside each of *regions* (children of *parent*)."""
    teachers, lessons = _county_counts(viewer, parent)
    found = {r.code: Counts() for r in regions}
    prefixes = [(orgs.region_prefix(r.code), found[r.code]) for r in regions]
    for county, number in teachers.items():
        for prefix, counts in prefixes:
            if county.startswith(prefix):
                counts.teachers += number
    for county, number in lessons.items():
        for prefix, counts in prefixes:
            if county.startswith(prefix):
                counts.lessons += number
    return found


def school_counts(viewer: User | None, schools: list[School]) -> dict[int, Counts]:
    """Return teachers with spaces and lessons visible to *viewer* for each school, in two grouped queries."""
    ids = [s.id for s in schools]
    found = {i: Counts() for i in ids}
    if not ids:
        return found
    for school_id, number in db.session.execute(
            select(User.school_id, func.count(User.id)).where(User.id.in_(_listed_teachers()), User.school_id.in_(ids))
            .group_by(User.school_id)):
        found[school_id].teachers = number
    for school_id, number in db.session.execute(
            select(Lesson.school_id, func.count(Lesson.id)).where(visible_clause(viewer), Lesson.school_id.in_(ids))
            .group_by(Lesson.school_id)):
        found[school_id].lessons = number
    return found


def teachers_of_school(viewer: User | None, school: School) -> list[TeacherEntry]:
    """Return the school's teachers with spaces, with their lessons visible to *viewer*; most lessons first."""
    rows = db.session.execute(
        select(User, Space, TeacherProfile.subjects).join(Space, Space.owner_id == User.id)
        .outerjoin(TeacherProfile, TeacherProfile.user_id == User.id).options(selectinload(User.school))
        .where(User.school_id == school.id, User.role == "teacher", User.is_disabled.is_(False))
        .order_by(User.id)).all()
    entries, taught = {}, {}
    for user, space, subjects in rows:
        if can_view_space(viewer, user):
            entries[user.id] = TeacherEntry(user, space)
            taught[user.id] = [s for s in (subjects or "").split("、") if s]
    if entries:
        for teacher_id, subject, number in db.session.execute(
                select(Lesson.teacher_id, Lesson.subject, func.count(Lesson.id))
                .where(visible_clause(viewer), Lesson.teacher_id.in_(list(entries)))
                .group_by(Lesson.teacher_id, Lesson.subject).order_by(func.count(Lesson.id).desc(), Lesson.subject)):
            entries[teacher_id].lessons += number
            entries[teacher_id].subjects.append(subject)
        for teacher_id, subjects in taught.items():
            if subjects:
                entries[teacher_id].subjects = subjects
    return sorted(entries.values(), key=lambda e: (-e.lessons, e.owner.id))


def newest_lessons(viewer: User | None, *, school: School | None = None, node: CatalogNode | None = None,
                   limit: int = SCHOOL_LESSONS, filters: dict[str, str] | None = None) -> list[Lesson]:
    """Return the newest lessons *viewer* may see, of one school or under one catalogue node, narrowed by *filters*."""
    newest = func.coalesce(Lesson.published_dt, Lesson.created_dt)
    stmt = (select(Lesson).where(visible_clause(viewer), *filter_clauses(filters))
            .options(selectinload(Lesson.files), selectinload(Lesson.teacher), selectinload(Lesson.school))
            .order_by(newest.desc(), Lesson.id.desc()).limit(limit))
    if school is not None:
        stmt = stmt.where(Lesson.school_id == school.id)
    if node is not None:
        stmt = stmt.where(Lesson.catalog_node_id.in_(
            select(CatalogNode.id).where(CatalogNode.path.startswith(node.path, autoescape=True))))
    return list(db.session.scalars(stmt))


def _update_events(days: int):
    """Return a subquery of (user_id, at, kind): every update of a space in the last *days* local days."""
    since = local_day() - timedelta(days=days - 1)
    since_dt = datetime(since.year, since.month, since.day, tzinfo=CHINA)
    return union_all(
        select(ActivityDay.user_id.label("user_id"), ActivityDay.last_dt.label("at"), ActivityDay.kind.label("kind"))
        .where(ActivityDay.kind.in_(UPDATE_KINDS), ActivityDay.day >= since),
        select(TeacherProfile.user_id, TeacherProfile.updated_dt, literal(PROFILE_KIND, String(16)))
        .where(TeacherProfile.updated_dt >= since_dt),
    ).subquery()


def recently_updated(viewer: User | None, *, school: School | None = None, region: Region | None = None,
                     limit: int = 10, days: int = RECENT_DAYS) -> list[UpdatedEntry]:
    """Return teachers' spaces of a school or region updated in the last *days* days, latest first."""
    events = _update_events(days)
    people = _listed_teachers()
    if school is not None:
        people = people.where(User.school_id == school.id)
    if region is not None:
        people = people.join(School, User.school_id == School.id).where(
            School.county_code.startswith(orgs.region_prefix(region.code), autoescape=True))
    recent = (select(events.c.user_id, func.max(events.c.at).label("updated_dt"))
              .where(events.c.user_id.in_(people)).group_by(events.c.user_id).subquery())
    rows = db.session.execute(
        select(User, Space, recent.c.updated_dt).join(recent, recent.c.user_id == User.id)
        .join(Space, Space.owner_id == User.id).options(selectinload(User.school))
        .order_by(recent.c.updated_dt.desc(), User.id).limit(limit)).all()
    entries = [UpdatedEntry(user, space, updated) for user, space, updated in rows if can_view_space(viewer, user)]
    if entries:
        kinds: dict[int, set[str]] = {}
        for user_id, kind in db.session.execute(select(events.c.user_id, events.c.kind).distinct()
                                                .where(events.c.user_id.in_([e.owner.id for e in entries]))):
            kinds.setdefault(user_id, set()).add(kind)
        for entry in entries:
            entry.kinds = [name for kind, name in UPDATE_NAMES.items() if kind in kinds.get(entry.owner.id, ())]
    return entries


# --- lessons per catalogue node ----------------------------------------------------------------

def _common_path(nodes: list[CatalogNode]) -> str:
    """Return the deepest materialised path shared by all *nodes* ("/" when they share nothing)."""
    parts = [n.path.strip("/").split("/") for n in nodes]
    shared: list[str] = []
    for column in zip(*parts):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    return "/" + "".join(f"{p}/" for p in shared)


def lesson_counts(viewer: User | None, nodes: list[CatalogNode],
                  filters: dict[str, str] | None = None) -> dict[int, int]:
    """Return node id → lessons *viewer* may see (passing *filters*) at that node or anywhere below it.

    One grouped query: visible lessons counted per catalogue path under the nodes'
    common ancestor; each path then adds its count to every listed node on it.
    """
    if not nodes:
        return {}
    counts = {n.id: 0 for n in nodes}
    stmt = (select(CatalogNode.path, func.count(Lesson.id)).join(Lesson, Lesson.catalog_node_id == CatalogNode.id)
            .where(visible_clause(viewer), *filter_clauses(filters)).group_by(CatalogNode.path))
    common = _common_path(nodes)
    if common != "/":
        stmt = stmt.where(CatalogNode.path.startswith(common, autoescape=True))
    for path, number in db.session.execute(stmt):
        for part in path.strip("/").split("/"):
            node_id = int(part)
            if node_id in counts:
                counts[node_id] += number
    return counts


#: catalogue node attributes a list filter can rule out (lesson type and language narrow only the lessons)
NODE_FILTERS = ("stage", "subject", "edition", "grade")


def node_fits(node: CatalogNode, filters: dict[str, str]) -> bool:
    """Whether *node* can hold lessons passing *filters*: an attribute it has (stage … grade) must agree."""
    return all(getattr(node, name) in (None, "", filters[name]) for name in NODE_FILTERS if name in filters)


def catalog_facet_counts(viewer: User | None, node: CatalogNode | None,
                         filters: dict[str, str]) -> dict[str, list[tuple[str, int]]]:
    """Filter name → (value, lessons) of the visible lessons under *node* (the whole catalogue if None)."""
    where = []
    if node is not None:
        where.append(Lesson.catalog_node_id.in_(
            select(CatalogNode.id).where(CatalogNode.path.startswith(node.path, autoescape=True))))
    return facet_counts(viewer, filters, where=where)
