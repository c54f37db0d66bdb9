"""Local sign-in and sign-out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user

from ..audit import operations as audit
from ..errors import LearnSpaceError, NotFound
from ..extensions import db, login_manager
from ..transactions import rollback_keeping
from . import identities, oidc, operations
from .forms import LoginForm
from .login import client_ip, sign_in
from .models import LoginPrincipal
from .signals import confirm_identity

bp = Blueprint("accounts", __name__)


def init_login(app) -> None:
    """Wire Flask-Login to the server-side session table."""
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录。"
    login_manager.session_protection = None  # sessions are revocable on the server instead

    @login_manager.user_loader
    def _load(token: str):
        row = operations.load_session(token)
        if db.session.dirty:
            # Touched or expired: a later query may autoflush the change (and empty
            # session.dirty) before the request ends, so remember to commit it.
            g.session_row_changed = True
        return LoginPrincipal(row.user, token) if row else None

    @app.before_request
    def _audit_context():
        # Resolve the user first so the audit context names who acts.
        actor = current_user.id if current_user.is_authenticated else None
        audit.set_context(actor, client_ip())

    @app.after_request
    def _commit_session_touch(response):
        # load_session may have updated last_seen_dt or expired a session.
        if g.pop("session_row_changed", False) or db.session.dirty:
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
            rollback_keeping()  # undo everything but the failure count and the audit entry
            flash(exc.message, "error")
            status = exc.status_code
        else:
            sign_in(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or _landing_for(user))
    return render_template("accounts/login.html", form=form, providers=oidc.providers()), status


def _provider_or_404(name: str) -> oidc.Provider:
    provider = oidc.get_provider(name)
    if provider is None:
        raise NotFound("没有这个统一身份认证平台")
    return provider


def _oidc_failed(message: str, status: int):
    flash(message, "error")
    return render_template("accounts/login.html", form=LoginForm(), providers=oidc.providers()), status


@bp.get("/login/oidc/<name>")
def oidc_start(name: str):
    _provider_or_404(name)
    next_url = safe_next(request.args.get("next"))
    try:
        response = oidc.begin(name, url_for(".oidc_callback", name=name, _external=True))
    except oidc.SignInRefused as exc:
        audit.record("auth.oidc", result="failure", detail=f"provider={name} {exc.reason}")
        db.session.commit()
        return _oidc_failed("暂时无法连接统一身份认证平台，请稍后再试，或使用账号密码登录。", 503)
    session["oidc_next"] = next_url
    return response


@bp.get("/login/oidc/<name>/callback")
def oidc_callback(name: str):
    provider = _provider_or_404(name)
    next_url = safe_next(session.pop("oidc_next", None))
    try:
        subject, claims = oidc.finish(name)
    except oidc.SignInRefused as exc:
        audit.record("auth.oidc", result="failure", detail=f"provider={name} {exc.reason}")
        db.session.commit()
        return _oidc_failed("统一身份认证登录未能完成（登录信息无效或已过期），请重新登录。", 400)
    try:
        person = identities.bind_identity(
            name, subject, **{key: provider.claim(claims, key) for key in oidc.CLAIM_KEYS})
        welcome = confirm_identity(person, "oidc")
    except LearnSpaceError as exc:
        rollback_keeping()
        return _oidc_failed(exc.message, exc.status_code)
    if welcome:
        flash(f"欢迎，{person.real_name}！{'；'.join(welcome)}，以后用{provider.title}一键登录即可。", "success")
    sign_in(person)
    session["oidc_provider"] = name
    db.session.commit()
    return redirect(next_url or _landing_for(person))


@bp.post("/logout")
@login_required
def logout():
    provider = session.get("oidc_provider")
    operations.end_session(current_user.token)
    audit.record("auth.logout", target=f"user:{current_user.id}")
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已退出登录。", "info")
    if provider and oidc.get_provider(provider):
        # Also end the single sign-on session, so the next person at this computer is not signed in.
        end_url = oidc.end_session_url(provider, url_for("accounts.login", _external=True))
        if end_url:
            return redirect(end_url)
    return redirect(url_for("accounts.login"))
