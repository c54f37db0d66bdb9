"""Who may see a person's space and what a student in restricted mode may do: decided here, on the server.

Restricted mode (受限模式) protects students under 14 whose guardian has not consented
(learnspace.accounts.consent; a student without a known birth date counts as under 14).
A restricted student:
  - still learns: watches lessons, resumes, keeps favourites and private notes, sees the weekly summary;
  - may not comment or ask questions under lessons (``can_comment``);
  - keeps notes private only (``can_share_notes``);
  - is not listed to classmates, and classmates cannot open the space (``can_view_space``);
  - neither follows nor is followed by other students (``can_follow``); following teachers is fine, and
    the school's teachers, who see the space anyway, may follow it.
Because classmates cannot see a restricted space, spaces.operations.follow_refusal (which requires
seeing the space and the same school) already refuses exactly what ``can_follow`` refuses.
The space itself stays visible to the student, the school's teachers and admins, as for every student.

Without restricted mode, a student's space is additionally visible to classmates (same school, grade
and class) who are not restricted themselves: that is what "classmates to follow" needs.
"""
from __future__ import annotations

from ..accounts.consent import is_restricted
from ..accounts.models import User
from ..accounts.scope import can_manage_school

__all__ = ["STUDENT_SPACE_PRIVATE", "RESTRICTED_COMMENT", "RESTRICTED_FOLLOW", "RESTRICTED_SHARE",
           "can_view_space", "is_restricted", "can_comment", "can_follow", "can_share_notes",
           "listed_to_classmates", "are_classmates", "comment_refusal"]

#: the message of a refused student space
STUDENT_SPACE_PRIVATE = "该学生空间仅对本人、本校教师和管理员可见"
RESTRICTED_COMMENT = "未满 14 周岁的学生需要监护人同意后才能发表评论，请联系班主任或学校管理员登记监护人同意"
RESTRICTED_FOLLOW = "受限模式（未满 14 周岁且尚未登记监护人同意）的学生不能关注同学，也不能被同学关注"
RESTRICTED_SHARE = "受限模式下笔记只能仅自己可见；监护人同意登记后才能分享笔记"


def are_classmates(a: User, b: User) -> bool:
    """Tell whether two different students sit in the same school, grade and class."""
    return (a.id != b.id and a.role == "student" and b.role == "student" and a.school_id is not None
            and a.school_id == b.school_id and bool(a.grade) and a.grade == b.grade
            and bool(a.class_name) and a.class_name == b.class_name)


def can_view_space(viewer: User | None, owner: User) -> bool:
    """Teachers' spaces are open to signed-in people; a student's to the student, their school's teachers and admins, and unrestricted classmates."""
    if viewer is None:
        return False
    if viewer.id == owner.id or owner.role == "teacher":
        return True
    if viewer.is_admin:
        return owner.school is not None and can_manage_school(viewer, owner.school)
    if viewer.role == "teacher":
        return owner.school_id is not None and viewer.school_id == owner.school_id
    if are_classmates(viewer, owner):
        return not is_restricted(owner) and not is_restricted(viewer)
    return False


def can_comment(user: User | None) -> bool:
    """Tell whether *user* may write comments at all (viewing the lesson is checked separately)."""
    return user is not None and not is_restricted(user)


def comment_refusal(user: User | None) -> str | None:
    """Return why *user* may not comment, or None when they may."""
    if user is None:
        return "请先登录再发表评论"
    return RESTRICTED_COMMENT if is_restricted(user) else None


def can_share_notes(user: User) -> bool:
    """Tell whether *user* may make a note visible in their space (restricted students keep notes private)."""
    return not is_restricted(user)


def listed_to_classmates(user: User) -> bool:
    """Tell whether *user* may appear in classmates' "classmates to follow" list."""
    return user.role == "student" and not is_restricted(user)


def can_follow(follower: User | None, followed: User) -> bool:
    """Anyone signed in follows a teacher; a student only by same-school people who see the space (never student↔student in restricted mode)."""
    if follower is None or follower.id == followed.id:
        return False
    if followed.role == "teacher":
        return True
    if followed.role != "student":
        return False
    if follower.role == "student" and (is_restricted(followed) or is_restricted(follower)):
        return False
    return (follower.school_id is not None and follower.school_id == followed.school_id
            and can_view_space(follower, followed))
