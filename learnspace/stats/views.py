"""Statistics pages for administrators: dashboard with drill-down, ranking, targets, weights, exports.

Every page resolves the unit through drilldown.resolve, which refuses unknown codes and units
outside the admin's scope before any figure is read.
"""
from __future__ import annotations

import io

from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from ..accounts.models import ADMIN_ROLES
from ..audit import operations as audit
from ..china_time import today
from ..errors import LearnSpaceError, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from . import charts, drilldown, operations
from .forms import CsrfForm
from .periods import GRANULARITIES, parse_range

bp = Blueprint("stats", __name__, url_prefix="/stats")

#: children shown in the bar chart (the table below lists all of them)
CHART_ROWS = 30
#: ranked candidates shown on the page (the export has all of them)
RANKING_ON_PAGE = 200
EXPORT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.before_request
@login_required
def _admins_only():
    if current_user.user.role not in ADMIN_ROLES:
        raise PermissionDenied("统计页面仅限管理员使用")


def _admin():
    return current_user.user


def _unit():
    return drilldown.resolve(_admin(), request.args.get("region"), request.args.get("school"))


def _range():
    return parse_range(request.args.get("from"), request.args.get("to"), request.args.get("by"))


def _role():
    role = (request.args.get("role") or "").strip() or None
    if role is not None and role not in operations.ROLES:
        raise ValidationError(f"角色“{role[:20]}”无效，可选：教师、学生或全部")
    return role


def _filters_or_error():
    """Parse the date range and role; on bad input show the form again with the message (400)."""
    try:
        return _range(), _role(), None
    except ValidationError as exc:
        return None, None, exc.message


def _link(unit, period, role, endpoint=".dashboard", **extra):
    args = {**unit.query(), **period.query(), **extra}
    if role:
        args["role"] = role
    return url_for(endpoint, **args)


@bp.get("/")
def dashboard():
    unit = _unit()
    period, role, error = _filters_or_error()
    if error:
        return render_template("stats/dashboard.html", unit=unit, error=error, args=request.args, link=None,
                               crumbs=drilldown.parents(unit, _admin()), granularities=GRANULARITIES,
                               roles=operations.ROLES), 400
    board = operations.dashboard(unit, period, role)
    rate_rows = [(r.name, 100 * (r.activation_rate or 0),
                  _link(r.unit, period, role) if r.unit is not None else None,
                  "—" if r.activation_rate is None else f"{100 * r.activation_rate:.1f}%")
                 for r in board.rows[:CHART_ROWS]]
    active_label = {"day": "每日活跃空间", "week": "每周活跃空间", "month": "每月活跃空间"}[period.by]
    return render_template(
        "stats/dashboard.html", unit=unit, board=board, period=period, role=role, args=request.args, error=None,
        crumbs=drilldown.parents(unit, _admin()), granularities=GRANULARITIES, roles=operations.ROLES,
        child_name=drilldown.CHILD_NAMES[unit.child_kind], link=lambda u: _link(u, period, role),
        export=lambda fmt: _link(unit, period, role, ".export", fmt=fmt),
        new_chart=charts.series_chart(board.new_series, f"新开通空间（{GRANULARITIES[period.by]}）", " 个"),
        active_chart=charts.series_chart(board.active_series, active_label, " 个", kind="line"),
        active_label=active_label,
        rate_chart=charts.bar_chart(rate_rows, f"各{drilldown.CHILD_NAMES[unit.child_kind]}开通率", maximum=100),
        chart_rows=CHART_ROWS, may_set_target=operations.may_set_target(_admin(), unit),
        rank_levels=_rank_levels(unit), ranking_link=_link(unit, period, None, ".ranking"))


def _send(body: bytes, fmt: str, name: str):
    response = send_file(io.BytesIO(body), as_attachment=True, download_name=f"{name}.{fmt}", max_age=0,
                         mimetype=EXPORT_TYPES[fmt])
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/export.<fmt>")
def export(fmt: str):
    if fmt not in EXPORT_TYPES:
        raise NotFound("导出格式只支持 CSV 和 XLSX")
    unit = _unit()
    period, role = _range(), _role()
    header, body = operations.table(operations.child_rows(unit, period, role),
                                    operations.total_row(unit, period, role))
    audit.record("stats.export", target=unit.key, detail=f"{fmt} {period.label}")
    db.session.commit()
    name = f"空间统计-{unit.name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}"
    if fmt == "csv":
        return _send(operations.to_csv(header, body), fmt, name)
    return _send(operations.to_xlsx(header, body, "空间统计", operations.export_notes(unit, period, role)), fmt, name)


def _rank_levels(unit) -> dict:
    order = ["all", "province", "city", "county", "school"]
    return {k: v for k, v in operations.RANK_LEVELS.items() if order.index(k) > order.index(unit.kind)}


@bp.get("/ranking")
def ranking():
    unit = _unit()
    levels = _rank_levels(unit)
    if not levels:
        raise ValidationError("学校之下没有可排名的单位，请从区域查看排名")
    level = request.args.get("level") or ("school" if "school" in levels else next(iter(levels)))
    period = _range()
    ranked = operations.ranking(unit, level, period)
    limit = operations.SELECTED["school" if level == "school" else "region"]
    return render_template("stats/ranking.html", unit=unit, level=level, levels=levels, period=period,
                           ranked=ranked[:RANKING_ON_PAGE], total=len(ranked), limit=limit,
                           weights=operations.weights(), parts=operations.SCORE_PARTS,
                           crumbs=drilldown.parents(unit, _admin()), link=lambda u: _link(u, period, None),
                           level_link=lambda key: _link(unit, period, None, ".ranking", level=key),
                           export=lambda fmt: _link(unit, period, None, ".ranking_export", fmt=fmt, level=level))


@bp.get("/ranking/export.<fmt>")
def ranking_export(fmt: str):
    if fmt not in EXPORT_TYPES:
        raise NotFound("导出格式只支持 CSV 和 XLSX")
    unit = _unit()
    level = request.args.get("level") or "school"
    period = _range()
    header, body = operations.ranking_table(operations.ranking(unit, level, period))
    audit.record("stats.export", target=unit.key, detail=f"ranking {level} {fmt} {period.label}")
    db.session.commit()
    name = f"评优排名-{unit.name}-{operations.RANK_LEVELS.get(level, level)}-{period.end:%Y%m%d}"
    if fmt == "csv":
        return _send(operations.to_csv(header, body), fmt, name)
    w = operations.weights()
    notes = operations.export_notes(unit, period, None) + [
        "得分 = 100 × Σ(权重 × 指标) ÷ Σ权重，各指标取 0 到 1：" + "；".join(
            f"{title}（{how}）权重 {w[name]:g}" for name, (title, how) in operations.SCORE_PARTS.items()),
        f"名册人数少于 {w['min_rostered']} 的单位不参与排名。"]
    return _send(operations.to_xlsx(header, body, "评优排名", notes), fmt, name)


@bp.route("/targets", methods=["GET", "POST"])
def targets():
    admin = _admin()
    unit = drilldown.home_unit(admin)
    form = CsrfForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            flash("页面已过期，请刷新后重试", "error")
            status = 400
        else:
            try:
                target = operations.set_target(admin, unit, request.form.get("year"), request.form.get("new_spaces"))
                audit.record("stats.target", target=unit.key, detail=f"{target.year}: {target.new_spaces}")
                db.session.commit()
                flash(f"已设定 {target.year} 年新开通空间目标：{target.new_spaces:,} 个", "success")
                return redirect(url_for(".targets"))
            except LearnSpaceError as exc:
                db.session.rollback()
                if isinstance(exc, PermissionDenied):
                    raise
                flash(exc.message, "error")
                status = 400
    year = today().year
    names = {u.code: u.name for u in [unit, *drilldown.descendants(unit, "city"), *drilldown.descendants(unit, "county")]
             } if unit.kind != "school" else {}
    return render_template("stats/targets.html", unit=unit, form=form, year=year,
                           may_set=operations.may_set_target(admin, unit),
                           progress=operations.target_progress(unit, year) if unit.kind != "school" else None,
                           targets=operations.targets_under(unit), names=names,
                           values={"year": request.form.get("year", year),
                                   "new_spaces": request.form.get("new_spaces", "")}), status


@bp.route("/weights", methods=["GET", "POST"])
def weights():
    admin = _admin()
    form = CsrfForm()
    status = 200
    values = operations.weights()
    if request.method == "POST":
        if admin.role != "platform_admin":
            audit.record_denied("stats.weights")
            raise PermissionDenied("只有平台管理员可以修改评分权重")
        values = {name: request.form.get(name, "") for name in operations.DEFAULT_WEIGHTS}
        if not form.validate_on_submit():
            flash("页面已过期，请刷新后重试", "error")
            status = 400
        else:
            try:
                operations.set_weights(admin, request.form)
                audit.record("stats.weights")
                db.session.commit()
                flash("评分权重已保存，排名按新权重计算", "success")
                return redirect(url_for(".weights"))
            except ValidationError as exc:
                db.session.rollback()
                flash(exc.message, "error")
                status = 400
    return render_template("stats/weights.html", form=form, values=values, parts=operations.SCORE_PARTS,
                           may_edit=admin.role == "platform_admin"), status
