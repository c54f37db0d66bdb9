"""Verbs of the spaces domain: activation creates the one space of a person; following, profiles,
announcements and the visit counter make it worth opening.

Follow rule (decided here): anyone signed in may follow a teacher; following a
student needs permission to see that student's space (spaces.permissions.can_view_space)
and the same school, and no student follows or is followed by a student in restricted
mode (spaces.permissions.can_follow). Nobody follows themself, and only teachers and
students (the people who own spaces) can be followed. follow_refusal says which rule refused.
"""
from __future__ import annotations

import logging
import unicodedata
from collections import OrderedDict

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..accounts.models import User
from ..activity import operations as activity
from ..audit import operations as audit
from ..catalog.models import CatalogNode
from ..china_time import local_day
from ..db import utcnow
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..lessons.models import PART_KINDS, VISIBILITIES, Lesson
from ..lessons.owner_space import OwnerSpace
from ..lessons.permissions import visible_clause
from ..moderation.operations import check_text
from ..orgs.grades import GRADES_OF_STAGE
from ..transactions import conflict_insert
from . import photos
from .models import (
    ACTIVATION_METHODS,
    DEFAULT_VISIBILITY_CHOICES,
    Announcement,
    Follow,
    Space,
    SpaceVisit,
    TeacherProfile,
)
from .permissions import RESTRICTED_FOLLOW, can_follow, can_view_space

log = logging.getLogger(__name__)

SPACE_ROLES = ("student", "teacher")


def space_of(user: User) -> Space | None:
    """Return the person's space, or None when not activated yet."""
    return db.session.scalar(select(Space).where(Space.owner_id == user.id))


def activate(user: User, method: str) -> Space:
    """Create the person's space exactly once; later calls return the same space.

    Two sign-ins at the same moment both try to insert; the unique owner_id
    makes one of them fail, and that one then reads the winner's row.
    """
    if method not in ACTIVATION_METHODS:
        raise ValueError(f"unknown activation method {method}")
    if user.role not in SPACE_ROLES:
        raise ValidationError("只有教师和学生拥有个人学习空间")
    existing = space_of(user)
    if existing is not None:
        return existing
    space = Space(owner_id=user.id, activated_school_id=user.school_id, activation_method=method)
    try:
        with db.session.begin_nested():
            db.session.add(space)
    except IntegrityError:
        log.info("space for user %s was activated concurrently", user.id)
        existing = space_of(user)
        if existing is None:
            raise
        return existing
    audit.record("space.activate", target=f"user:{user.id}", detail=method)
    return space


def activate_on_identity_confirmed(person: User, method: str) -> str | None:
    """Activate the space of a person an identity provider vouched for; return a welcome line when it is new.

    The receiver of accounts.signals.identity_confirmed (connected in create_app).
    """
    if person.role not in SPACE_ROLES or space_of(person) is not None:
        return None  # a returning person: one query, nothing to activate
    activate(person, method)
    return "您的个人学习空间已开通"


# --- following -------------------------------------------------------------------------------------

def follow_refusal(follower: User | None, followed: User) -> str | None:
    """Say why *follower* may not follow *followed*, or return None when they may."""
    if follower is None:
        return "请先登录再关注"
    if follower.id == followed.id:
        return "不能关注自己"
    if followed.role not in SPACE_ROLES:
        return "只能关注教师和学生的个人空间"
    if followed.role == "student":
        if not can_view_space(follower, followed):
            return "您不能查看该学生的空间，因此不能关注"
        if follower.school_id is None or follower.school_id != followed.school_id:
            return "只能关注本校的学生"
    if not can_follow(follower, followed):  # restricted mode of minors, decided in permissions
        return RESTRICTED_FOLLOW
    return None


def follow(follower: User, followed: User) -> Follow:
    """Make *follower* follow *followed*; following again returns the existing follow."""
    refusal = follow_refusal(follower, followed)
    if refusal:
        raise PermissionDenied(refusal)
    existing = _follow_row(follower, followed)
    if existing is not None:
        return existing
    row = Follow(follower_id=follower.id, followed_id=followed.id)
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:  # a second click in flight inserted it first
        existing = _follow_row(follower, followed)
        if existing is None:
            raise
        return existing
    return row


def unfollow(follower: User, followed: User) -> bool:
    """Stop *follower* following *followed*; return whether they were following."""
    result = db.session.execute(delete(Follow).where(Follow.follower_id == follower.id,
                                                     Follow.followed_id == followed.id))
    return result.rowcount > 0


def _follow_row(follower: User, followed: User) -> Follow | None:
    return db.session.scalar(select(Follow).where(Follow.follower_id == follower.id,
                                                  Follow.followed_id == followed.id))


def is_following(follower: User | None, followed: User) -> bool:
    """Return whether *follower* follows *followed*."""
    return follower is not None and _follow_row(follower, followed) is not None


def followers_count(user: User) -> int:
    """Count the people following *user*."""
    return db.session.scalar(select(func.count(Follow.id)).where(Follow.followed_id == user.id))


def following_of(user: User) -> list[User]:
    """Return the people *user* follows, most recently followed first."""
    return list(db.session.scalars(
        select(User).join(Follow, Follow.followed_id == User.id).where(Follow.follower_id == user.id)
        .order_by(Follow.created_dt.desc(), Follow.id.desc())))


# --- the teacher's profile -----------------------------------------------------------------------

#: subjects a teacher can say they teach (the national curriculum's names)
SUBJECTS = ("语文", "数学", "英语", "道德与法治", "思想政治", "历史", "地理", "物理", "化学", "生物", "科学",
            "信息技术", "音乐", "美术", "体育与健康", "劳动", "综合实践活动", "心理健康")
#: grades a teacher can say they teach, in school order
GRADES = tuple(grade for grades in GRADES_OF_STAGE.values() for grade in grades)
INTRODUCTION_MAX = 500
ANNOUNCEMENT_MAX = 500


def _has_control_chars(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\n\t" for ch in text)


def _clean_text(text: str | None, maximum: int, what: str) -> str:
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if len(text) > maximum:
        raise ValidationError(f"{what}最多 {maximum} 个字（现在 {len(text)} 个）")
    if _has_control_chars(text):
        raise ValidationError(f"{what}含有不可见的控制字符，请删除后重试")
    return text


def _require_teacher(user: User, action: str) -> None:
    if user is None or user.role != "teacher":
        raise PermissionDenied(f"只有教师可以{action}")


def profile_of(user: User) -> TeacherProfile | None:
    """Return the teacher's profile, or None when they have not written one."""
    return db.session.scalar(select(TeacherProfile).where(TeacherProfile.user_id == user.id))


def _profile_for_change(teacher: User) -> TeacherProfile:
    profile = profile_of(teacher)
    if profile is None:
        profile = TeacherProfile(user_id=teacher.id, subjects="", grades="", introduction="",
                                 default_visibility="school")
        db.session.add(profile)
    return profile


def update_profile(teacher: User, *, subjects: list[str], grades: list[str], introduction: str,
                   default_visibility: str) -> TeacherProfile:
    """Save what a teacher teaches, their introduction and the default visibility of their new lessons."""
    _require_teacher(teacher, "编辑教师资料")
    unknown = [s for s in subjects if s not in SUBJECTS]
    if unknown:
        raise ValidationError("请从列表中选择任教学科（不认识：" + "、".join(unknown[:3]) + "）")
    unknown = [g for g in grades if g not in GRADES]
    if unknown:
        raise ValidationError("请从列表中选择任教年级（不认识：" + "、".join(unknown[:3]) + "）")
    if default_visibility not in DEFAULT_VISIBILITY_CHOICES:
        raise ValidationError("请选择新课程默认谁可以查看：" + "、".join(VISIBILITIES.values()))
    introduction = _clean_text(introduction, INTRODUCTION_MAX, "个人简介")
    check_text(introduction, "个人简介")
    profile = _profile_for_change(teacher)
    profile.subjects = "、".join(s for s in SUBJECTS if s in subjects)
    profile.grades = "、".join(g for g in GRADES if g in grades)
    profile.introduction = introduction
    profile.default_visibility = default_visibility
    profile.updated_dt = utcnow()
    db.session.flush()
    audit.record("space.profile", target=f"user:{teacher.id}")
    return profile


def default_visibility(user: User) -> str:
    """Return the visibility the new-lesson form preselects for *user*."""
    profile = profile_of(user)
    return profile.default_visibility if profile is not None else "school"


def quota_of(user: User) -> int | None:
    """Return the storage quota set on *user*'s space, or None for the configured default."""
    return db.session.scalar(select(Space.quota_bytes).where(Space.owner_id == user.id))


def lock_space(user: User) -> None:
    """Lock *user*'s space row until commit, so two uploads cannot both pass the quota check (PostgreSQL)."""
    db.session.execute(select(Space.id).where(Space.owner_id == user.id).with_for_update())


#: what lessons ask of a teacher's space (provided to them in create_app)
OWNER_SPACE = OwnerSpace(quota_bytes=quota_of, lock=lock_space, default_visibility=default_visibility)


def set_photo(teacher: User, data: bytes) -> TeacherProfile:
    """Store a JPEG, PNG or WebP photo (decided by its bytes) as the teacher's profile photo."""
    _require_teacher(teacher, "上传照片")
    content_type = photos.check_photo(data)
    profile = _profile_for_change(teacher)
    old_key = profile.photo_key
    profile.photo_key = photos.store_photo(teacher.id, data, content_type)
    profile.photo_content_type = content_type
    profile.updated_dt = utcnow()
    db.session.flush()
    photos.remove_after_commit(old_key)
    audit.record("space.photo", target=f"user:{teacher.id}", detail=content_type)
    return profile


def remove_photo(teacher: User) -> None:
    """Take the teacher's photo down; the stored object goes once the change is committed."""
    profile = profile_of(teacher)
    if profile is None or profile.photo_key is None:
        return
    photos.remove_after_commit(profile.photo_key)
    profile.photo_key = None
    profile.photo_content_type = None
    profile.updated_dt = utcnow()
    db.session.flush()
    audit.record("space.photo_remove", target=f"user:{teacher.id}")


# --- announcements -------------------------------------------------------------------------------

def post_announcement(author: User, body: str) -> Announcement:
    """Post a short announcement in the teacher's space for their followers."""
    _require_teacher(author, "发布公告")
    body = _clean_text(body, ANNOUNCEMENT_MAX, "公告")
    if not body:
        raise ValidationError("请填写公告内容")
    check_text(body, "公告")
    announcement = Announcement(author_id=author.id, body=body)
    db.session.add(announcement)
    db.session.flush()
    activity.record(author, "announce")
    return announcement


def delete_announcement(user: User, announcement_id: int) -> None:
    """Delete one of the user's own announcements."""
    announcement = db.session.get(Announcement, announcement_id)
    if announcement is None:
        raise NotFound("公告不存在")
    if announcement.author_id != user.id:
        raise PermissionDenied("只能删除自己发布的公告")
    db.session.delete(announcement)
    db.session.flush()


def announcements_of(user: User, limit: int = 5) -> list[Announcement]:
    """Return the newest announcements of *user*."""
    return list(db.session.scalars(select(Announcement).where(Announcement.author_id == user.id)
                                   .order_by(Announcement.created_dt.desc(), Announcement.id.desc()).limit(limit)))


def announcements_for(follower: User, limit: int = 10) -> list[Announcement]:
    """Return the newest announcements of the people *follower* follows (and may still see)."""
    rows = db.session.scalars(
        select(Announcement).join(Follow, Follow.followed_id == Announcement.author_id)
        .where(Follow.follower_id == follower.id).options(selectinload(Announcement.author))
        .order_by(Announcement.created_dt.desc(), Announcement.id.desc()).limit(limit))
    return [a for a in rows if can_view_space(follower, a.author)]


# --- the visit counter ---------------------------------------------------------------------------

def record_visit(space: Space, visitor: User, at=None) -> None:
    """Count *visitor* once per Asia/Shanghai day in *space*; the owner's own visits never count."""
    if visitor is None or visitor.id == space.owner_id:
        return
    at = at or utcnow()
    # One statement that ignores a repeat, so reloads and parallel tabs never raise.
    db.session.execute(conflict_insert(SpaceVisit).values(space_id=space.id, visitor_id=visitor.id,
                                                 day=local_day(at), first_dt=at)
                       .on_conflict_do_nothing(index_elements=["space_id", "visitor_id", "day"]))


def visit_count(space: Space) -> int:
    """Count the distinct visitor-days of *space*."""
    return db.session.scalar(select(func.count(SpaceVisit.id)).where(SpaceVisit.space_id == space.id))


# --- what the space shows --------------------------------------------------------------------------

#: the most lessons the grouped list shows; more are reached through the lesson list
SPACE_LESSONS_MAX = 200
RESOURCES_MAX = 30
RESOURCE_KINDS = ("lesson_plan", "courseware", "exercises")


def space_lessons(owner: User, viewer: User | None) -> list[Lesson]:
    """Return the owner's lessons to show: all of them to the owner, the published visible ones to others."""
    stmt = select(Lesson).where(Lesson.teacher_id == owner.id)
    if viewer is None or viewer.id != owner.id:
        stmt = stmt.where(Lesson.status == "published", visible_clause(viewer))
    newest = func.coalesce(Lesson.published_dt, Lesson.created_dt)
    return list(db.session.scalars(
        stmt.options(selectinload(Lesson.files), selectinload(Lesson.catalog_node))
        .order_by(newest.desc(), Lesson.id.desc()).limit(SPACE_LESSONS_MAX)))


def group_by_chapter(lessons: list[Lesson]) -> list[dict]:
    """Group lessons by subject, then textbook chapter, in book order.

    Returns [{"subject", "count", "complete", "chapters": [{"label", "node", "lessons"}]}].
    """
    ancestor_ids = {int(part) for lesson in lessons for part in lesson.catalog_node.path.strip("/").split("/") if part}
    nodes = {n.id: n for n in db.session.scalars(select(CatalogNode).where(CatalogNode.id.in_(ancestor_ids)))} \
        if ancestor_ids else {}

    def chain(lesson: Lesson) -> list[CatalogNode]:
        return [nodes[int(p)] for p in lesson.catalog_node.path.strip("/").split("/") if p and int(p) in nodes]

    subjects: OrderedDict[str, dict] = OrderedDict()
    for lesson in lessons:
        path = chain(lesson) or [lesson.catalog_node]
        chapter = next((n for n in path if n.level == "chapter"), path[-1])
        volume = next((n for n in path if n.level == "volume"), None)
        subject_name = f"{lesson.stage}{lesson.subject}"
        group = subjects.setdefault(subject_name, {"subject": subject_name, "count": 0, "complete": 0,
                                                   "chapters": OrderedDict(), "order": len(subjects)})
        group["count"] += 1
        group["complete"] += lesson.is_complete
        label = " · ".join(x for x in (lesson.edition, volume.name if volume else None, chapter.name) if x)
        sort_key = tuple((n.position, n.id) for n in path if n.level in ("edition", "volume", "chapter"))
        entry = group["chapters"].setdefault(chapter.id, {"label": label, "node": chapter, "lessons": [],
                                                          "sort": sort_key})
        section = lesson.catalog_node
        entry["lessons"].append((0 if section.id == chapter.id else 1, section.position, section.id, lesson))
    result = []
    for group in subjects.values():
        chapters = sorted(group["chapters"].values(), key=lambda c: c["sort"])
        for chapter in chapters:
            chapter["lessons"] = [item[-1] for item in sorted(chapter["lessons"], key=lambda i: i[:3])]
            del chapter["sort"]
        result.append({"subject": group["subject"], "count": group["count"], "complete": group["complete"],
                       "chapters": chapters})
    return result


def resources_of(lessons: list[Lesson], limit: int = RESOURCES_MAX) -> list[dict]:
    """Return the ready materials (lesson plans, courseware, exercises) of *lessons*, newest first."""
    files = [(f, lesson) for lesson in lessons for f in lesson.files
             if f.kind in RESOURCE_KINDS and f.status == "ready"]
    files.sort(key=lambda pair: (pair[0].ready_dt or pair[0].created_dt, pair[0].id), reverse=True)
    return [{"file": f, "lesson": lesson, "kind_name": PART_KINDS[f.kind]} for f, lesson in files[:limit]]


def following_visible_to(user: User, viewer: User | None) -> list[User]:
    """Return whom *user* follows, leaving out people whose space *viewer* may not see."""
    return [person for person in following_of(user) if can_view_space(viewer, person)]


def space_context(space: Space, viewer: User | None) -> dict:
    """Gather what a space page shows to *viewer*: profile, lessons by chapter, resources, followers, visits."""
    owner = space.owner
    is_owner = viewer is not None and viewer.id == owner.id
    context = {
        "profile": profile_of(owner),
        "followers": followers_count(owner),
        "visits": visit_count(space),
        "is_following": is_following(viewer, owner) if not is_owner else False,
        "follow_refusal": follow_refusal(viewer, owner) if not is_owner else None,
        "following": following_visible_to(owner, viewer),
        "feed": announcements_for(owner) if is_owner else [],
    }
    if owner.role == "teacher":
        lessons = space_lessons(owner, viewer)
        context.update(
            groups=group_by_chapter(lessons), lesson_total=len(lessons),
            lesson_complete=sum(1 for lesson in lessons if lesson.is_complete),
            lessons_capped=len(lessons) >= SPACE_LESSONS_MAX,
            resources=resources_of(lessons), announcements=announcements_of(owner))
    return context
