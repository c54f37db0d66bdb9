"""Admin pages: regions, schools, people, roster import, activation and reset code batches."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..accounts import admins, identities, oidc
from ..accounts import codes as code_ops
from ..accounts import operations as accounts
from ..accounts.models import Identity, SchoolClaimReport
from ..accounts.roster import RosterRejected, import_roster
from ..accounts.scope import can_manage_region, require_admin, require_person, require_school
from ..audit import operations as audit
from ..db import utcnow
from ..errors import LearnSpaceError, NotFound, PermissionDenied
from ..extensions import db
from ..jobs import operations as jobs
from ..orgs import operations as orgs
from ..spaces import operations as spaces
from ..templating import local_date
from ..transactions import rollback_keeping
from . import account_pages, operations
from . import accounts as accounts_reads
from .forms import (
    CodesForm,
    EmptyForm,
    RegionForm,
    RenameSchoolForm,
    ResetCodeForm,
    RosterForm,
    SchoolForm,
    TransferForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
account_pages.register(bp)  # /admin/accounts: admin accounts within the admin's scope


@bp.before_request
@login_required
def _admins_only():
    require_admin(current_user.user)


def _admin():
    return current_user.user


@bp.get("/")
def dashboard():
    return render_template("admin/dashboard.html", counts=operations.scope_counts(_admin()),
                           schools=operations.schools_with_counts(_admin())[:20],
                           roster_meaning=operations.ROSTER_MEANING)


@bp.route("/regions", methods=["GET", "POST"])
def regions():
    form = RegionForm()
    if form.validate_on_submit():
        if not can_manage_region(_admin(), form.code.data) or form.code.data == _admin().region_code:
            audit.record_denied("region.create", target=f"region:{form.code.data}")
            raise PermissionDenied("只能在您管辖的区域之下新增行政区划")
        region = orgs.create_region(form.code.data, form.name.data)
        audit.record("region.create", target=f"region:{region.code}")
        db.session.commit()
        flash(f"已新增{region.name}（{region.code}）", "success")
        return redirect(url_for(".regions"))
    return render_template("admin/regions.html", regions=operations.regions_in_scope(_admin()), form=form)


@bp.route("/schools", methods=["GET", "POST"])
def schools():
    form = SchoolForm()
    counties = operations.counties_in_scope(_admin())
    form.county_code.choices = [(c.code, f"{c.name}（{c.code}）") for c in counties]
    if form.validate_on_submit():
        if form.county_code.data not in {c.code for c in counties}:
            audit.record_denied("school.create", target=f"region:{(form.county_code.data or '')[:6]}")
            raise PermissionDenied("只能在您管辖的区县登记学校")
        school = orgs.create_school(form.code.data, form.name.data, form.stage.data, form.county_code.data)
        audit.record("school.create", target=f"school:{school.code}")
        db.session.commit()
        flash(f"已登记学校：{school.name}", "success")
        return redirect(url_for(".schools"))
    return render_template("admin/schools.html", rows=operations.schools_with_counts(_admin()), form=form,
                           can_add=bool(counties), roster_meaning=operations.ROSTER_MEANING)


@bp.get("/schools/<code>")
def school(code: str):
    school = orgs.get_school_by_code(code)
    require_school(_admin(), school)
    page = max(request.args.get("page", 1, type=int), 1)
    q = request.args.get("q", "").strip()[:64]
    rows, total = operations.people_of_school(school, q, page=page)
    batches = code_ops.recent_batches(school)
    return render_template("admin/school.html", school=school, rows=rows, total=total, page=page, q=q,
                           reports=identities.open_school_claim_reports(school.id), provider_titles=_provider_titles(),
                           classes=operations.code_classes(school), codes_form=CodesForm(),
                           batches=batches, batch_counts=code_ops.batch_counts([b.id for b in batches]), now=utcnow(),
                           counts=operations.scope_counts_for_school(school),
                           school_admins=operations.school_admins_of(school), roster_meaning=operations.ROSTER_MEANING,
                           rename_form=RenameSchoolForm(name=school.name) if _may_rename(school) else None)


def _may_rename(school) -> bool:
    # Whoever may register a school in its county may rename it (not the school's own admins).
    return school.county_code in {c.code for c in operations.counties_in_scope(_admin())}


@bp.post("/schools/<code>/rename")
def rename_school(code: str):
    school = orgs.get_school_by_code(code)
    if not _may_rename(school):
        audit.record_denied("school.rename", target=f"school:{school.code}")
        raise PermissionDenied("只有管辖该校所在区县的管理员可以修改学校名称")
    form = RenameSchoolForm()
    if not form.validate_on_submit():
        flash("；".join(e for errors in form.errors.values() for e in errors), "error")
        return redirect(url_for(".school", code=code))
    old = school.name
    try:
        changed = orgs.rename_school(school, form.name.data)
    except LearnSpaceError as exc:
        rollback_keeping()
        flash(exc.message, "error")
        return redirect(url_for(".school", code=code))
    if changed:
        audit.record("school.rename", target=f"school:{school.code}")
        db.session.commit()
        flash(f"已将“{old}”改名为“{school.name}”；本校的课程将按新名称搜索到。", "success")
    else:
        flash("学校名称没有变化", "info")
    return redirect(url_for(".school", code=code))


@bp.route("/roster", methods=["GET", "POST"])
def roster():
    form = RosterForm()
    schools = [s for s, _, _ in operations.schools_with_counts(_admin())]
    form.school_code.choices = [(s.code, f"{s.name}（{s.code}）") for s in schools]
    if request.args.get("school"):
        form.school_code.data = form.school_code.data or request.args["school"]
    result = problems = None
    status = 200
    if form.validate_on_submit():
        school = orgs.get_school_by_code(form.school_code.data)
        require_school(_admin(), school)
        upload = form.file.data
        try:
            result = import_roster(upload.stream, upload.filename or "roster", school)
            db.session.commit()
            flash(f"导入成功。{result.summary()}", "success")
        except LearnSpaceError as exc:
            rollback_keeping()
            audit.record("roster.import", result="failure", target=f"school:{school.code}",
                         detail=f"{len(exc.details)} bad rows" if exc.details else exc.message[:200])
            db.session.commit()
            flash(exc.message, "error")
            problems = exc.details if isinstance(exc, RosterRejected) else []
            status = 400
    elif request.method == "POST":
        status = 400
    return render_template("admin/roster.html", form=form, result=result, problems=problems), status


@bp.post("/schools/<code>/codes")
def codes(code: str):
    school = orgs.get_school_by_code(code)
    require_school(_admin(), school)
    form = CodesForm()
    if not form.validate_on_submit():
        flash("请求无效，请刷新页面后重试", "error")
        return redirect(url_for(".school", code=code))
    kind, grade, class_name = form.kind.data, form.grade.data or "", form.class_name.data or ""
    if kind == "activation":
        people = operations.unactivated_people(school, grade, class_name)
    else:
        people = operations.activated_people(school, grade, class_name)
    if not people:
        flash("该班级没有尚未开通空间的人员" if kind == "activation" else "该班级没有已开通空间、可以重置密码的人员",
              "info")
        return redirect(url_for(".school", code=code))
    return _issue_or_confirm(form, kind, people, school=school, grade=grade, class_name=class_name,
                             action=url_for(".codes", code=code), back=url_for(".school", code=code) + "#codes")


@bp.post("/people/<int:user_id>/reset-code")
def issue_reset_code(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    form = ResetCodeForm()
    if not form.validate_on_submit():
        flash("请求无效，请刷新页面后重试", "error")
        return redirect(url_for(".person", user_id=user_id))
    if person.id == _admin().id:
        raise PermissionDenied("不能给自己发放重置码；忘记密码请联系其他管理员")
    if person.is_disabled:
        flash("该账号已停用，请先重新启用再发放重置码", "error")
        return redirect(url_for(".person", user_id=user_id))
    return _issue_or_confirm(form, "reset", [person], school=person.school, person=person,
                             action=url_for(".issue_reset_code", user_id=user_id),
                             back=url_for(".person", user_id=user_id) if person.school else url_for(".dashboard"))


def _issue_or_confirm(form, kind, people, *, action, back, **where):
    """Make the batch and show its slips; if people hold live codes, first list what would become void."""
    live = code_ops.live_codes(people, kind)
    fingerprint = code_ops.fingerprint(live)
    if live and (form.confirm.data != "1" or form.voids.data != fingerprint):
        # Also when the live slips changed since the page was shown: void only what the admin saw listed.
        changed = form.confirm.data == "1"
        response = Response(render_template("admin/codes_confirm.html", form=form, kind=kind, live=live,
                                            fingerprint=fingerprint, changed=changed, people=people, action=action,
                                            back=back, **where))
        response.headers["Cache-Control"] = "no-store"
        return response
    batch = code_ops.issue_batch(kind, people, replace=bool(live), **where)
    db.session.commit()
    return redirect(url_for(".code_batch", batch_id=batch.id), 303)


def _batch_in_scope(batch_id: int):
    batch = code_ops.get_batch(batch_id)
    if batch is None:
        raise NotFound("找不到这一批激活码/重置码")
    if batch.user is not None:  # one person: whoever manages them now (they may have moved school since)
        require_person(_admin(), batch.user)
    elif batch.school is not None:
        require_school(_admin(), batch.school)
    elif _admin().role != "platform_admin":
        raise PermissionDenied("您无权查看这一批激活码/重置码")
    return batch


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/codes/<int:batch_id>")
def code_batch(batch_id: int):
    batch = _batch_in_scope(batch_id)
    slips = code_ops.batch_slips(batch)
    if slips:
        audit.record("codes.print", target=f"batch:{batch.id}", detail=f"{len(slips)} slips")
        db.session.commit()
    counts = code_ops.batch_counts([batch.id])[batch.id]
    return _no_store(Response(render_template(
        "admin/codes_print.html", batch=batch, slips=slips, counts=counts, reprintable=code_ops.reprintable(batch),
        expires=local_date(batch.expires_dt), reprint_until=batch.reprint_until_dt, form=CodesForm(),
        reset_form=ResetCodeForm())))


@bp.get("/codes/<int:batch_id>/xlsx")
def code_batch_xlsx(batch_id: int):
    batch = _batch_in_scope(batch_id)
    slips = code_ops.batch_slips(batch)
    if not slips:
        flash("这一批的激活码/重置码已不能再导出（已过可重新打印的时限，或都已使用、作废）", "error")
        return redirect(url_for(".code_batch", batch_id=batch.id))
    audit.record("codes.export", target=f"batch:{batch.id}", detail=f"{len(slips)} slips")
    db.session.commit()
    body = operations.codes_workbook(batch, slips, local_date(batch.expires_dt))
    where = batch.user.real_name if batch.user else f"{batch.grade or ''}{batch.class_name or ''}"
    name = f"{batch.kind_name}-{batch.school.name if batch.school else '管理员'}-{where}.xlsx"
    # send_file writes an ASCII fallback plus an RFC 5987 filename* for the Chinese name.
    return _no_store(send_file(io.BytesIO(body), as_attachment=True, download_name=name, max_age=0,
                               mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))


def _provider_titles() -> dict[str, str]:
    return {p.name: p.title for p in oidc.providers()}


def _person_page(person, full_id):
    state = accounts_reads.account_state(person, accounts_reads.has_identity(person))
    return render_template("admin/person.html", person=person, full_id=full_id, form=EmptyForm(),
                           state=state, last_sign_in=accounts_reads.last_sign_in(person),
                           scope=admins.scope_words(person) if person.is_admin else None,
                           reset_form=ResetCodeForm(), code_batches=code_ops.batches_of_person(person),
                           transfer_form=TransferForm(), space=spaces.space_of(person),
                           identities=identities.identities_of(person),
                           provider_titles=_provider_titles(), is_self=person.id == _admin().id,
                           failures=accounts.lockout_failures(person))


@bp.route("/people/<int:user_id>", methods=["GET"])
def person(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    return _person_page(person, full_id=None)


@bp.post("/people/<int:user_id>/reveal-id")
def reveal_id(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    if not EmptyForm().validate_on_submit():
        return redirect(url_for(".person", user_id=user_id))
    full_id = accounts.reveal_id_card(person)
    db.session.commit()
    response = Response(_person_page(person, full_id=full_id))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/people/<int:user_id>/disable")
def disable(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    if EmptyForm().validate_on_submit():
        accounts.disable_user(person, by=_admin())
        db.session.commit()
        flash("账号已停用，其所有登录会话已失效", "success")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/people/<int:user_id>/enable")
def enable(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    if EmptyForm().validate_on_submit():
        accounts.enable_user(person)
        db.session.commit()
        flash("账号已重新启用，此人可以重新登录", "success")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/people/<int:user_id>/unlock")
def unlock(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    if EmptyForm().validate_on_submit():
        accounts.clear_lockout(person, by=_admin())
        db.session.commit()
        flash("已解除登录限制，此人现在就可以登录", "success")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/people/<int:user_id>/transfer")
def transfer(user_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    form = TransferForm()
    if not form.validate_on_submit():
        flash("；".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for(".person", user_id=user_id))
    target = orgs.get_school_by_code(form.school_code.data)
    require_school(_admin(), target)
    accounts.transfer_school(person, target)
    db.session.commit()
    flash(f"已转入{target.name}，个人空间保持不变", "success")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/people/<int:user_id>/identities/<int:identity_id>/unlink")
def unlink_identity(user_id: int, identity_id: int):
    person = accounts.get_user(user_id)
    require_person(_admin(), person)
    identity = db.session.get(Identity, identity_id)
    if identity is None or identity.user_id != person.id:
        raise NotFound("该绑定不存在")
    if EmptyForm().validate_on_submit():
        identities.unlink_identity(identity)
        db.session.commit()
        flash("已解除绑定", "success")
    return redirect(url_for(".person", user_id=user_id))


@bp.post("/schools/<code>/reports/<int:report_id>/resolve")
def resolve_report(code: str, report_id: int):
    school = orgs.get_school_by_code(code)
    require_school(_admin(), school)
    report = db.session.get(SchoolClaimReport, report_id)
    if report is None or report.school_id != school.id:
        raise NotFound("该报告不存在")
    if EmptyForm().validate_on_submit():
        identities.resolve_school_claim_report(report)
        db.session.commit()
        flash("已标记为已处理", "success")
    return redirect(url_for(".school", code=code))


# --- background jobs (platform admins only) ----------------------------------------------

#: a worker that beat within this long counts as running (workers beat every 10 s)
WORKER_SEEN_WITHIN = timedelta(seconds=60)


def _platform_only() -> None:
    if _admin().role != "platform_admin":
        raise PermissionDenied("后台任务只有平台管理员可以查看")


@bp.get("/jobs")
def jobs_page():
    _platform_only()
    return render_template("admin/jobs.html", jobs=jobs.list_jobs(), counts=jobs.counts(),
                           workers=jobs.workers_seen(WORKER_SEEN_WITHIN), form=EmptyForm())


@bp.post("/jobs/<int:job_id>/retry")
def retry_job(job_id: int):
    _platform_only()
    if not EmptyForm().validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    job = jobs.retry(job_id)
    audit.record("job.retry", target=f"job:{job.id}", detail=job.kind)
    db.session.commit()
    flash(f"任务 {job.id} 已重新排队", "success")
    return redirect(url_for(".jobs_page"))
