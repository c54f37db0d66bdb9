"""Who may see and who may change a lesson: decided here, on the server, for every route."""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.scope import can_manage_school
from .models import Lesson


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
