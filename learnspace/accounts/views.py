"""Sign-in and sign-out (local and through identity providers), and the school admin's guardian consent page."""
from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, logout_user
from sqlalchemy import select

from ..audit import operations as audit
from ..errors import LearnSpaceError, NotFound, PermissionDenied
from ..extensions import db, login_manager
from ..orgs import operations as orgs
from ..orgs.grades import grade_sort_key
from ..transactions import rollback_keeping
from . import codes, consent, identities, oidc, operations, passwords
from .forms import ActionForm, ChangePasswordForm, ConsentForm, LoginForm, ResetForm
from .login import client_ip, sign_in
from .models import LoginPrincipal, User
from .scope import require_school
from .signals import confirm_identity

bp = Blueprint("accounts", __name__)

#: students per page of the consent list
CONSENT_PER_PAGE = 50


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


@bp.route("/reset", methods=["GET", "POST"])
def reset_password():
    form = ResetForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = codes.redeem_reset_code(form.number.data, form.real_name.data, form.code.data,
                                           form.password.data, client_ip())
        except LearnSpaceError as exc:
            rollback_keeping()  # undo everything but the failure count and the audit entry
            flash(exc.message, "error")
            status = exc.status_code
        else:
            db.session.commit()
            if current_user.is_authenticated and current_user.id == user.id:
                logout_user()  # the reset ended every session of this person, this browser's too
            flash(f"密码已重设，{user.real_name}。其他设备上的登录已全部退出，请用账号 {user.login_name} 和新密码登录。",
                  "success")
            return redirect(url_for(".login"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/reset.html", form=form), status


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
    session["oidc_signed_in_at"] = int(time.time())  # a recent provider sign-in may reset the local password
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


# --- changing one's own password ------------------------------------------------------------------

#: a provider sign-in this recent lets the person set a new local password without the current one
PROVIDER_RESET_SECONDS = 15 * 60


def _signed_in_through_provider(user) -> str | None:
    """The provider this browser signed in through lately, when it is linked to the person (self-service reset)."""
    name = session.get("oidc_provider")
    if time.time() - session.get("oidc_signed_in_at", 0) > PROVIDER_RESET_SECONDS:
        return None  # a browser left signed in for long must not let anyone pick a new password
    if name and any(identity.provider == name for identity in identities.identities_of(user)):
        return name
    return None


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    user = current_user.user
    provider = _signed_in_through_provider(user)
    form = ChangePasswordForm()
    status = 200
    if user.password_hash and form.validate_on_submit():
        try:
            ended = passwords.change_password(user, form.new_password.data, current_user.token,
                                              current_password=form.current_password.data,
                                              via_provider=provider is not None, ip=client_ip())
        except LearnSpaceError as exc:
            rollback_keeping()  # keep the failure count and the audit entry of a wrong current password
            flash(exc.message, "error")
            status = exc.status_code
        else:
            db.session.commit()
            flash("密码已修改。" + (f"您在其他 {ended} 处的登录已全部退出，" if ended else "")
                  + "以后请用新密码登录。", "success")
            return redirect(url_for(".change_password"))
    elif request.method == "POST":
        status = 400
    titles = {p.name: p.title for p in oidc.providers()}
    return render_template("accounts/password.html", form=form, has_password=bool(user.password_hash),
                           provider_title=titles.get(provider, provider) if provider else None,
                           linked=[titles.get(i.provider, i.provider) for i in identities.identities_of(user)]), status


# --- guardian consent (school admins) -------------------------------------------------------------

def _school_for_admin(code: str):
    if not current_user.is_authenticated:
        raise PermissionDenied("请先登录")
    school = orgs.get_school_by_code(code)
    require_school(current_user.user, school)
    return school


def _student_of(school, user_id: int) -> User:
    student = db.session.get(User, user_id)
    if student is None or student.school_id != school.id or student.role != "student":
        raise NotFound("本校没有这名学生")
    return student


@bp.get("/admin/schools/<code>/consent")
@login_required
def consent_page(code: str):
    school = _school_for_admin(code)
    grade = request.args.get("grade", "").strip()[:16]
    class_name = request.args.get("class_name", "").strip()[:32]
    if "|" in request.args.get("class", ""):  # the filter's one select carries "grade|class"
        grade, class_name = (part.strip() for part in request.args["class"].split("|", 1))
        grade, class_name = grade[:16], class_name[:32]
    show = request.args.get("show", "restricted")
    page = max(request.args.get("page", 1, type=int), 1)
    query = select(User).where(User.school_id == school.id, User.role == "student")
    if grade:
        query = query.where(User.grade == grade)
    if class_name:
        query = query.where(User.class_name == class_name)
    students = sorted(db.session.scalars(query.order_by(User.class_name, User.real_name, User.id)),
                      key=lambda user: grade_sort_key(user.grade))  # stable: keeps class and name order
    states = consent.consent_states(students)
    counts = {"all": len(states), "restricted": sum(s.restricted for s in states),
              "consented": sum(s.consent is not None for s in states),
              "over14": sum(s.age_band == "over14" for s in states)}
    if show == "restricted":
        states = [s for s in states if s.restricted]
    elif show == "consented":
        states = [s for s in states if s.consent is not None]
    total = len(states)
    states = states[(page - 1) * CONSENT_PER_PAGE: page * CONSENT_PER_PAGE]
    classes = sorted(db.session.execute(select(User.grade, User.class_name).distinct()
                                        .where(User.school_id == school.id, User.role == "student")).all(),
                     key=lambda row: (grade_sort_key(row[0]), row[1] or ""))
    return render_template("accounts/consent.html", school=school, states=states, counts=counts, total=total,
                           page=page, per_page=CONSENT_PER_PAGE, grade=grade, class_name=class_name, show=show,
                           classes=classes, form=ConsentForm(), action_form=ActionForm(),
                           notice_version=consent.NOTICE_VERSION, consent_age=consent.CONSENT_AGE,
                           today=consent.today())


def _back_to_consent(code: str):
    args = {k: v for k in ("grade", "class_name", "show", "page") if (v := request.form.get(k))}
    return redirect(url_for(".consent_page", code=code, **args))


@bp.post("/admin/schools/<code>/consent/<int:user_id>")
@login_required
def record_consent(code: str, user_id: int):
    school = _school_for_admin(code)
    form = ConsentForm()
    if not form.validate_on_submit():
        flash("请填写有效的签署日期（年-月-日）。", "error")
        return _back_to_consent(code)
    student = _student_of(school, user_id)
    try:
        consent.record_consent(student, current_user.user, form.guardian_name.data, form.relation.data,
                                form.given_on.data)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back_to_consent(code)
    db.session.commit()
    flash(f"已登记{student.real_name}的监护人同意，空间已解除受限模式。", "success")
    return _back_to_consent(code)


@bp.post("/admin/schools/<code>/consent/<int:user_id>/withdraw")
@login_required
def withdraw_consent(code: str, user_id: int):
    school = _school_for_admin(code)
    if not ActionForm().validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    student = _student_of(school, user_id)
    try:
        consent.withdraw_consent(student, current_user.user)
    except LearnSpaceError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _back_to_consent(code)
    db.session.commit()
    flash(f"已撤回{student.real_name}的监护人同意，空间回到受限模式。", "success")
    return _back_to_consent(code)
