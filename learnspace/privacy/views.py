"""我的数据 (a person's own page) and the same actions for a school admin acting for a guardian."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..accounts import consent
from ..accounts import operations as accounts
from ..accounts.scope import require_person
from ..errors import LearnSpaceError
from ..extensions import db
from ..transactions import rollback_keeping
from . import operations
from .forms import ActionForm, DeleteForm

bp = Blueprint("privacy", __name__)


def _page(subject, *, admin: bool):
    requests = operations.requests_of(subject)
    pending_delete = next((r for r in requests if r.kind == "delete" and r.state == "pending" and not r.job_failed),
                          None)
    return render_template("privacy/data.html", subject=subject, admin=admin, requests=requests,
                           pending_delete=pending_delete, form=ActionForm(), delete_form=DeleteForm(),
                           export_days=operations.EXPORT_DAYS,
                           cooling_hours=operations.cooling_off().total_seconds() / 3600,
                           minor=consent.needs_consent(subject), deletable=subject.role in operations.DELETABLE_ROLES)


def _run(action, done: str, back: str):
    try:
        action()
    except LearnSpaceError as exc:
        rollback_keeping()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(back)


def _subject(user_id: int | None):
    """Return (subject, admin?, page url) for the person's own page or an admin's page for *user_id*."""
    me = current_user.user
    if user_id is None:
        return me, False, url_for("privacy.mine")
    subject = accounts.get_user(user_id)
    require_person(me, subject)
    return subject, True, url_for("privacy.for_person", user_id=user_id)


@bp.get("/me/data")
@login_required
def mine():
    return _page(current_user.user, admin=False)


@bp.get("/admin/people/<int:user_id>/data")
@login_required
def for_person(user_id: int):
    subject, _, _ = _subject(user_id)
    return _page(subject, admin=True)


@bp.post("/me/data/export", defaults={"user_id": None})
@bp.post("/admin/people/<int:user_id>/data/export")
@login_required
def export(user_id):
    subject, _, back = _subject(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(back)
    return _run(lambda: operations.request_export(subject, current_user.user),
                "已开始准备数据包，完成后在本页下载（通常几分钟）", back)


@bp.get("/me/data/<int:request_id>/download", defaults={"user_id": None})
@bp.get("/admin/people/<int:user_id>/data/<int:request_id>/download")
@login_required
def download(request_id: int, user_id):
    subject, _, back = _subject(user_id)
    req = operations.get_request(request_id, subject)
    try:
        url = operations.download_url(req)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(back)
    db.session.commit()
    return redirect(url)


@bp.post("/me/data/delete", defaults={"user_id": None})
@bp.post("/admin/people/<int:user_id>/data/delete")
@login_required
def delete(user_id):
    subject, _, back = _subject(user_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        return redirect(back)
    return _run(lambda: operations.request_deletion(subject, current_user.user, password=form.password.data or "",
                                                    confirm_name=form.confirm_name.data or ""),
                "注销申请已提交；冷静期结束后将删除全部个人数据，在此之前可以撤销", back)


@bp.post("/me/data/<int:request_id>/cancel", defaults={"user_id": None})
@bp.post("/admin/people/<int:user_id>/data/<int:request_id>/cancel")
@login_required
def cancel(request_id: int, user_id):
    subject, _, back = _subject(user_id)
    if not ActionForm().validate_on_submit():
        return redirect(back)
    req = operations.get_request(request_id, subject)
    return _run(lambda: operations.cancel_deletion(req, current_user.user), "注销申请已撤销，数据不会被删除", back)
