"""Who may see and who may change a lesson: decided here, on the server, for every route."""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.scope import can_manage_school, school_scope
from ..errors import NotFound
from ..extensions import db
from ..orgs.models import School
from .models import Lesson

#: what a viewer who may not see a lesson is told (the same as for a lesson that does not exist)
HIDDEN_LESSON = "课程不存在，或您没有查看权限。"


def visible_lesson(user: User | None, lesson_id: int) -> Lesson:
    """Return the lesson if *user* may see it; NotFound otherwise, so hidden lessons do not reveal they exist."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not can_view(user, lesson):
        raise NotFound(HIDDEN_LESSON)
    return lesson


def can_edit(user: User | None, lesson: Lesson) -> bool:
    """Only the teacher who made the lesson changes it."""
    return user is not None and user.id == lesson.teacher_id


def can_view(user: User | None, lesson: Lesson) -> bool:
    """Apply status and visibility: drafts and withdrawn lessons only for their teacher and admins."""
    if user is not None and (user.id == lesson.teacher_id
                             or (user.is_admin and can_manage_school(user, lesson.school))):
        return True
    if lesson.status != "published":
        return False
    if lesson.visibility == "public":
        return True
    if user is None or user.school is None:
        return False
    if lesson.visibility == "school":
        return user.school_id == lesson.school_id
    if lesson.visibility == "region":
        return user.school.county_code == lesson.school.county_code
    return False  # private


def visible_clause(user: User | None):
    """Return a SQL condition on Lesson selecting exactly the lessons can_view lets *user* see.

    Lists filter in the database with this, so a page of 20 is 20 visible lessons;
    keep it in step with can_view above (tests compare the two on every case).
    """
    from sqlalchemy import false, or_, select


    published = Lesson.status == "published"
    allowed = [published & (Lesson.visibility == "public")]
    if user is None:
        return allowed[0]
    allowed.append(Lesson.teacher_id == user.id)
    if user.is_admin:
        allowed.append(Lesson.school_id.in_(select(School.id).where(school_scope(user))))
    if user.school_id is not None and user.school is not None:
        allowed.append(published & (Lesson.visibility == "school") & (Lesson.school_id == user.school_id))
        same_county = select(School.id).where(School.county_code == user.school.county_code)
        allowed.append(published & (Lesson.visibility == "region") & Lesson.school_id.in_(same_county))
    return or_(false(), *allowed)
