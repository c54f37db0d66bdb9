"""Who may see a person's space: decided here, on the server, for every page that shows one."""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.scope import can_manage_school

#: the message of a refused student space
STUDENT_SPACE_PRIVATE = "该学生空间仅对本人、本校教师和管理员可见"


def can_view_space(viewer: User | None, owner: User) -> bool:
    """Teachers' spaces are open to signed-in people; a student's only to the student, their school's teachers and admins."""
    if viewer is None:
        return False
    if viewer.id == owner.id or owner.role == "teacher":
        return True
    if viewer.is_admin:
        return owner.school is not None and can_manage_school(viewer, owner.school)
    return viewer.role == "teacher" and owner.school_id is not None and viewer.school_id == owner.school_id
