"""Verbs of the spaces domain: activation creates the one space of a person; following, profiles,
announcements and the visit counter make it worth opening.

Follow rule (decided here): anyone signed in may follow a teacher; following a
student needs permission to see that student's space (spaces.permissions.can_view_space,
which also carries the minors' rules) and the same school. Nobody follows themself,
and only teachers and students (the people who own spaces) can be followed.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..audit import operations as audit
from ..errors import PermissionDenied, ValidationError
from ..extensions import db
from .models import ACTIVATION_METHODS, Follow, Space
from .permissions import can_view_space

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
