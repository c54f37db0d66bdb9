"""A person's space page (profile, lessons by chapter, announcements, follows, visits), and activation."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import panels
from ..accounts import codes
from ..accounts.forms import ActivationForm
from ..accounts.login import client_ip, sign_in
from ..accounts.models import User
from ..errors import LearnSpaceError, NotFound, PermissionDenied, ServiceUnavailable
from ..extensions import db
from ..lessons.models import PART_KINDS, STATUSES, VISIBILITIES
from ..storage import StorageError
from ..transactions import rollback_keeping
from . import operations, photos
from .forms import ActionForm, AnnouncementForm, PhotoForm, ProfileForm
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
    return _render_space(space, current_user.user)


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
    if owner.id != viewer.id:
        operations.record_visit(space, viewer)
        db.session.commit()
    return _render_space(space, viewer)


@bp.get("/people/<int:user_id>/space")
@login_required
def show_user(user_id: int):
    """Link to a person's space by their user id (the space page checks who may see it)."""
    person = db.session.get(User, user_id)
    space = operations.space_of(person) if person is not None else None
    if space is None:
        raise NotFound("该空间不存在或尚未开通")
    return redirect(url_for(".show", space_id=space.id))


def _render_space(space: Space, viewer):
    owner = space.owner
    return render_template("spaces/space.html", space=space, owner=owner, is_owner=owner.id == viewer.id,
                           page=operations.space_context(space, viewer),
                           panels_main=panels.render("space.main", viewer=viewer, owner=owner, space=space),
                           action_form=ActionForm(), announcement_form=AnnouncementForm(),
                           statuses=STATUSES, visibilities=VISIBILITIES, part_kinds=PART_KINDS)


def _space_of_user_or_404(space_id: int) -> Space:
    space = db.session.get(Space, space_id)
    if space is None or not can_view_space(current_user.user, space.owner):
        raise NotFound("该空间不存在，或您没有查看权限")
    return space


# --- following -----------------------------------------------------------------------------------

@bp.post("/spaces/<int:space_id>/follow")
@login_required
def follow(space_id: int):
    space = _space_of_user_or_404(space_id)
    operations.follow(current_user.user, space.owner)
    db.session.commit()
    flash(f"已关注{space.owner.real_name}，对方发布的公告会出现在您的空间里。", "success")
    return redirect(url_for(".show", space_id=space.id))


@bp.post("/spaces/<int:space_id>/unfollow")
@login_required
def unfollow(space_id: int):
    space = db.session.get(Space, space_id)
    if space is None:
        raise NotFound("该空间不存在")
    operations.unfollow(current_user.user, space.owner)  # always allowed, even when the space became private
    db.session.commit()
    flash(f"已取消关注{space.owner.real_name}。", "success")
    if can_view_space(current_user.user, space.owner):
        return redirect(url_for(".show", space_id=space.id))
    return redirect(url_for(".mine"))


# --- the teacher's profile, photo and announcements ----------------------------------------------

def _require_teacher() -> None:
    if current_user.role != "teacher":
        raise PermissionDenied("只有教师可以编辑教师资料")


@bp.route("/space/profile", methods=["GET", "POST"])
@login_required
def profile():
    _require_teacher()
    teacher = current_user.user
    current = operations.profile_of(teacher)
    form = ProfileForm(obj=None) if request.method == "POST" else ProfileForm(
        subjects=current.subject_list if current else [], grades=current.grade_list if current else [],
        introduction=current.introduction if current else "",
        default_visibility=current.default_visibility if current else "school")
    status = 200
    if form.validate_on_submit():
        try:
            operations.update_profile(teacher, subjects=form.subjects.data or [], grades=form.grades.data or [],
                                      introduction=form.introduction.data,
                                      default_visibility=form.default_visibility.data)
        except LearnSpaceError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = exc.status_code
        else:
            db.session.commit()
            flash("教师资料已保存。", "success")
            return redirect(url_for(".mine"))
    elif request.method == "POST":
        status = 400
    return render_template("spaces/profile.html", form=form, photo_form=PhotoForm(), profile=current,
                           space=operations.space_of(teacher), photo_accept=photos.PHOTO_ACCEPT,
                           photo_max_mb=photos.PHOTO_MAX_BYTES // 1024 // 1024, action_form=ActionForm()), status


@bp.post("/space/photo")
@login_required
def upload_photo():
    _require_teacher()
    form = PhotoForm()
    if not form.validate_on_submit():
        raise LearnSpaceError("请重新打开页面后再上传照片")
    upload = request.files.get("photo")
    data = upload.stream.read(photos.PHOTO_MAX_BYTES + 1) if upload else b""
    operations.set_photo(current_user.user, data)
    db.session.commit()
    flash("照片已更新。", "success")
    return redirect(url_for(".profile"))


@bp.post("/space/photo/delete")
@login_required
def delete_photo():
    _require_teacher()
    if not ActionForm().validate_on_submit():
        raise LearnSpaceError("请重新打开页面后再操作")
    operations.remove_photo(current_user.user)
    db.session.commit()
    flash("照片已删除。", "success")
    return redirect(url_for(".profile"))


@bp.get("/spaces/<int:space_id>/photo")
@login_required
def photo(space_id: int):
    space = db.session.get(Space, space_id)
    if space is None or not can_view_space(current_user.user, space.owner):
        raise NotFound("照片不存在")
    profile = operations.profile_of(space.owner)
    if profile is None or not profile.photo_key:
        raise NotFound("照片不存在")
    try:
        data = photos.read_photo(profile.photo_key)
    except KeyError:
        raise NotFound("照片不存在") from None
    except StorageError:
        raise ServiceUnavailable("照片暂时无法读取，请稍后再试") from None
    response = Response(data, mimetype=profile.photo_content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.post("/space/announcements")
@login_required
def announce():
    form = AnnouncementForm()
    if not form.validate_on_submit():
        raise LearnSpaceError("；".join(e for errors in form.errors.values() for e in errors) or "请重新打开页面后再发布")
    operations.post_announcement(current_user.user, form.body.data)
    db.session.commit()
    flash("公告已发布，关注您的人会在自己的空间里看到。", "success")
    return redirect(url_for(".mine") + "#announcements")


@bp.post("/space/announcements/<int:announcement_id>/delete")
@login_required
def delete_announcement(announcement_id: int):
    if not ActionForm().validate_on_submit():
        raise LearnSpaceError("请重新打开页面后再操作")
    operations.delete_announcement(current_user.user, announcement_id)
    db.session.commit()
    flash("公告已删除。", "success")
    return redirect(url_for(".mine") + "#announcements")


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    form = ActivationForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = codes.redeem_activation_code(form.real_name.data, form.code.data,
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
