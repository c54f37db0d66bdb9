"""Local sign-in, sign-out and activation with a one-time code."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from ..audit import operations as audit
from ..errors import LearnSpaceError
from ..extensions import db, login_manager
from ..spaces import operations as spaces
from . import operations
from .forms import ActivationForm, LoginForm
from .models import LoginPrincipal

bp = Blueprint("accounts", __name__)


def client_ip() -> str:
    return request.remote_addr or "unknown"


def init_login(app) -> None:
    """Wire Flask-Login to the server-side session table."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录。"
    login_manager.session_protection = None  # sessions are revocable on the server instead

    @login_manager.user_loader
    def _load(token: str):
        row = operations.load_session(token)
        return LoginPrincipal(row.user, token) if row else None

    @app.before_request
    def _audit_context():
        # Resolve the user first so the audit context names who acts.
        actor = current_user.id if current_user.is_authenticated else None
        audit.set_context(actor, client_ip())

    @app.after_request
    def _commit_session_touch(response):
        # load_session may have updated last_seen_dt or expired a session.
        if db.session.dirty:
            db.session.commit()
        return response


def safe_next(target: str | None) -> str | None:
    """Accept only same-site relative paths as redirect targets."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def _sign_in(user) -> None:
    session.clear()  # a new session id at every login: no fixation
    token, _ = operations.start_session(user)
    session.permanent = True
    login_user(LoginPrincipal(user, token))
    g.audit_actor_id = user.id


def _landing_for(user) -> str:
    return url_for("admin.dashboard") if user.is_admin else url_for("spaces.mine")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(_landing_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = operations.authenticate(form.login_name.data, form.password.data, client_ip())
        except LearnSpaceError as exc:
            db.session.commit()  # keep the failure count and the audit entry
            flash(exc.message, "error")
            status = exc.status_code
        else:
            _sign_in(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or _landing_for(user))
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    operations.end_session(current_user.token)
    audit.record("auth.logout", target=f"user:{current_user.id}")
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/activate", methods=["GET", "POST"])
def activate():
    form = ActivationForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = operations.redeem_activation_code(form.real_name.data, form.code.data,
                                                     form.password.data, client_ip())
            spaces.activate(user, "code")
        except LearnSpaceError as exc:
            db.session.commit()  # keep the failure count and the audit entry
            flash(exc.message, "error")
            status = exc.status_code
        else:
            _sign_in(user)
            db.session.commit()
            flash(f"欢迎，{user.real_name}！您的个人学习空间已开通。以后请用账号 {user.login_name} 和新密码登录。",
                  "success")
            return redirect(url_for("spaces.mine"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/activate.html", form=form), status
