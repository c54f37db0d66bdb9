"""A person's space page, and activation with a one-time code."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts import operations as accounts
from ..accounts.forms import ActivationForm
from ..accounts.login import client_ip, sign_in
from ..db import rollback_keeping
from ..errors import LearnSpaceError

from ..errors import NotFound, PermissionDenied
from ..extensions import db
from . import operations
from .models import Space
from .permissions import STUDENT_SPACE_PRIVATE, can_view_space

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
    if not can_view_space(viewer, owner):
        raise PermissionDenied(STUDENT_SPACE_PRIVATE)
    return render_template("spaces/space.html", space=space, owner=owner, is_owner=owner.id == viewer.id)


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    form = ActivationForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.redeem_activation_code(form.real_name.data, form.code.data,
                                                   form.password.data, client_ip())
            operations.activate(user, "code")
        except LearnSpaceError as exc:
            rollback_keeping()  # undo everything but the failure count and the audit entry
            flash(exc.message, "error")
            status = exc.status_code
        else:
            sign_in(user)
            db.session.commit()
            flash(f"欢迎，{user.real_name}！您的个人学习空间已开通。以后请用账号 {user.login_name} 和新密码登录。",
                  "success")
            return redirect(url_for("spaces.mine"))
    elif request.method == "POST":
        status = 400
    return render_template("spaces/activate.html", form=form), status
