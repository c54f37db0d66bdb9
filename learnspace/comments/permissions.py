"""Who may read, write, hide and moderate comments, and how an author's name is shown to whom.

Reading a thread needs a signed-in viewer who may see the lesson (lessons.permissions.can_view):
threads carry pupils' names, so anonymous visitors of a public lesson see only that there are
comments. Writing also needs the lesson to be published and the writer not to be a student in
restricted mode (spaces.permissions.comment_refusal, owned by the learning records domain).
A student author's full name is shown only to people of the student's own school and to admins
over it; anyone else sees the surname and 同学 (e.g. 张同学), so pupils never appear by name
outside their school.
"""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.scope import can_manage_school
from ..lessons.models import Lesson
from ..lessons.permissions import can_view
from ..spaces.permissions import comment_refusal
from .models import Comment


def can_read(viewer: User | None, lesson: Lesson) -> bool:
    """Signed-in people who may see the lesson read its comments."""
    return viewer is not None and can_view(viewer, lesson)


def post_refusal(viewer: User | None, lesson: Lesson) -> str | None:
    """Return why *viewer* may not write under *lesson*, or None when they may."""
    if viewer is None:
        return "请先登录再发表评论"
    if not can_view(viewer, lesson):
        return "您没有查看这节课的权限，不能评论"
    if lesson.status != "published":
        return "课程发布后才能评论"
    if viewer.is_disabled:
        return "账号已停用"
    return comment_refusal(viewer)


def is_lesson_teacher(user: User | None, lesson: Lesson) -> bool:
    return user is not None and user.id == lesson.teacher_id


def can_moderate(user: User | None, lesson: Lesson) -> bool:
    """Admins whose scope includes the lesson's school decide reports about its comments."""
    return user is not None and user.is_admin and can_manage_school(user, lesson.school)


def sees_hidden(viewer: User | None, comment: Comment, lesson: Lesson) -> bool:
    """The author, the lesson's teacher and the admins over the school still read a hidden comment."""
    return viewer is not None and (viewer.id == comment.author_id or is_lesson_teacher(viewer, lesson)
                                   or can_moderate(viewer, lesson))


def author_label(viewer: User | None, author: User) -> str:
    """Return the name to show for *author* to *viewer*: pupils are named in full only inside their school."""
    if author.role != "student" or viewer is None:
        return author.real_name if author.role != "student" else _pupil(author)
    if viewer.id == author.id or (author.school_id is not None and viewer.school_id == author.school_id):
        return author.real_name
    if viewer.is_admin and author.school is not None and can_manage_school(viewer, author.school):
        return author.real_name
    return _pupil(author)


def _pupil(author: User) -> str:
    return (author.real_name[:1] or "某") + "同学"
