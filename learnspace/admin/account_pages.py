"""The admin-accounts page: list, create, disable and re-enable admin accounts within the admin's scope."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..accounts import admins
from ..accounts import operations as accounts
from ..accounts.scope import require_account
from ..errors import LearnSpaceError, PermissionDenied
from ..extensions import db
from ..transactions import rollback_keeping
from . import accounts as reads
from .forms import AdminAccountForm, EmptyForm


def _admin():
    return current_user.user


def _managers_only() -> None:
    if not admins.creatable_roles(_admin()):
        raise PermissionDenied("管理员账号由区域管理员或平台管理员管理；如需新增或停用学校管理员，请联系所在区县的管理员")


def accounts_page():
    """List the admin accounts in scope and create one (GET shows, POST creates)."""
    _managers_only()
    admin = _admin()
    form = AdminAccountForm()
    regions, schools = reads.region_choices(admin), reads.school_choices(admin)
    # Offer only roles there is something to choose for (a county has no region below it).
    roles = [r for r in admins.creatable_roles(admin)
             if (r != "region_admin" or regions) and (r != "school_admin" or schools)]
    # Lowest level first, so the preselected role is the one with the least power.
    form.role.choices = [(r, admins.role_words(r)) for r in reversed(roles)]
    form.region_code.choices = [("", "（请选择）")] + regions
    form.school_code.choices = [("", "（请选择）")] + schools
    status = 200
    if form.validate_on_submit():
        try:
            user = admins.create_admin_account(admin, form.login_name.data, form.real_name.data, form.role.data,
                                               region_code=form.region_code.data, school_code=form.school_code.data)
        except PermissionDenied:
            raise  # 403 page; the denial is already audited
        except LearnSpaceError as exc:
            rollback_keeping()
            flash(exc.message, "error")
            status = 400
        else:
            db.session.commit()
            flash(f"已设立{user.role_name}“{user.real_name}”（登录名 {user.login_name}）。"
                  "该账号尚未设置密码，请为其发放重置码后交给本人", "success")
            return redirect(url_for(".accounts_page"))
    elif form.is_submitted():
        flash("；".join(e for errs in form.errors.values() for e in errs) or "请求无效，请刷新页面后重试", "error")
        status = 400
    return render_template("admin/accounts.html", rows=reads.accounts_in_scope(admin), form=form,
                           action_form=EmptyForm(), show_region="region_admin" in roles,
                           show_school="school_admin" in roles), status


def _account(user_id: int):
    account = accounts.get_user(user_id)
    require_account(_admin(), account)
    return account


def account_disable(user_id: int):
    """Disable an admin account in scope (never oneself, never the last platform admin)."""
    account = _account(user_id)
    if EmptyForm().validate_on_submit():
        try:
            accounts.disable_user(account, by=_admin())
        except LearnSpaceError as exc:
            rollback_keeping()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"已停用“{account.real_name}”，其所有登录会话已失效", "success")
    return redirect(url_for(".accounts_page"))


def account_enable(user_id: int):
    """Re-enable a disabled admin account in scope."""
    account = _account(user_id)
    if EmptyForm().validate_on_submit():
        try:
            accounts.enable_user(account)
        except LearnSpaceError as exc:
            rollback_keeping()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash(f"已重新启用“{account.real_name}”", "success")
    return redirect(url_for(".accounts_page"))


def register(bp) -> None:
    """Add the admin-accounts routes to the admin blueprint."""
    bp.add_url_rule("/accounts", view_func=accounts_page, methods=["GET", "POST"])
    bp.add_url_rule("/accounts/<int:user_id>/disable", view_func=account_disable, methods=["POST"])
    bp.add_url_rule("/accounts/<int:user_id>/enable", view_func=account_enable, methods=["POST"])
