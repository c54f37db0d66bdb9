"""The textbook catalogue's JSON API for cascading selects, and schools' edition choices.

(Browsing the catalogue with its lessons is a directory page.)
"""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.scope import require_school
from ..audit import operations as audit
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..orgs import operations as orgs
from . import operations

bp = Blueprint("catalog", __name__)

@bp.get("/api/catalog/children")
def api_children():
    if not current_user.is_authenticated:
        return jsonify(error="请先登录后再浏览教材目录", details=[]), 401
    parent = request.args.get("parent", "").strip()
    if parent and not parent.isdigit():
        raise ValidationError("参数 parent 应为目录节点的编号（数字）")
    parent_id = operations.get_node(parent).id if parent else None
    items = operations.children(parent_id)
    counts = operations.child_counts(items)
    return jsonify([{"id": n.id, "key": n.key, "name": n.name, "level": n.level, "has_children": n.id in counts}
                    for n in items])


@bp.route("/admin/schools/<code>/editions", methods=["GET", "POST"])
@login_required
def school_editions(code: str):
    school = orgs.get_school_by_code(code)
    require_school(current_user.user, school)
    options = operations.edition_options(school)
    if request.method == "POST":
        changes = []
        for option in options:
            field = f"edition:{option['grade']}:{option['subject']}"
            if field not in request.form:
                continue  # a form showing only some rows leaves the others alone
            value = request.form[field].strip()
            chosen = None
            if value:
                chosen = next((n for n in option["editions"] if str(n.id) == value), None)
                if chosen is None:
                    raise NotFound(f"{option['grade']}{option['subject']}所选的教材版本不存在，请刷新页面后重新选择")
            before = option["chosen"]
            if (before.id if before else None) == (chosen.id if chosen else None):
                continue
            operations.set_school_edition(school, option["grade"], option["subject"], chosen)
            changes.append(f"{option['grade']}{option['subject']}：{chosen.name if chosen else '未选择'}")
        if changes:
            audit.record("school.editions", target=f"school:{school.code}", detail="；".join(changes))
            db.session.commit()
            flash(f"已保存 {len(changes)} 项教材版本选择。", "success")
        else:
            flash("没有改动。", "info")
        return redirect(url_for(".school_editions", code=school.code))
    grades: dict[str, list[dict]] = {}
    for option in options:
        grades.setdefault(option["grade"], []).append(option)
    return render_template("catalog/school_editions.html", school=school, grades=grades)
