"""A person's space page."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..admin.permissions import can_manage_school
from ..errors import NotFound, PermissionDenied
from ..extensions import db
from . import operations
from .models import Space

bp = Blueprint("spaces", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("spaces/welcome.html")
    if current_user.is_admin:
        return redirect(url_for("admin.dashboard"))
    return redirect(url_for("spaces.mine"))


@bp.get("/space")
@login_required
def mine():
    space = operations.space_of(current_user.user)
    if space is None:
        return render_template("spaces/not_activated.html"), 200
    return render_template("spaces/space.html", space=space, owner=current_user.user, is_owner=True)


@bp.get("/spaces/<int:space_id>")
@login_required
def show(space_id: int):
    space = db.session.get(Space, space_id)
    if space is None:
        raise NotFound("该空间不存在")
    owner = space.owner
    viewer = current_user.user
    allowed = (
        owner.id == viewer.id
        or owner.role == "teacher"
        or (viewer.is_admin and owner.school is not None and can_manage_school(viewer, owner.school))
        or (viewer.role == "teacher" and viewer.school_id == owner.school_id)
    )
    if not allowed:
        # Students' spaces are private to the student, their teachers and their school's admins.
        raise PermissionDenied("该学生空间仅对本人、本校教师和管理员可见")
    return render_template("spaces/space.html", space=space, owner=owner, is_owner=owner.id == viewer.id)
