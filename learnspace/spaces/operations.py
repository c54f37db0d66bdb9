"""Verbs of the spaces domain: activation creates the one space of a person."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import User
from ..audit import operations as audit
from ..errors import ValidationError
from ..extensions import db
from .models import ACTIVATION_METHODS, Space

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
