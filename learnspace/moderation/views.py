"""The blocked-word list page, for platform admins only."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..errors import LearnSpaceError, PermissionDenied
from ..extensions import db
from . import operations
from .forms import AddTermsForm, EmptyForm, ImportForm

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

PER_PAGE = 100


@bp.before_request
@login_required
def _platform_admins_only():
    if current_user.role != "platform_admin":
        raise PermissionDenied("网络负面用语清单只有平台管理员可以维护")


def _render(add_form=None, import_form=None, problems=None, status=200):
    query = request.args.get("q", "").strip()[:50]
    page = max(request.args.get("page", 1, type=int), 1)
    sample = request.args.get("sample", "").strip()[:500]
    terms, total = operations.list_terms(query, PER_PAGE, (page - 1) * PER_PAGE)
    return render_template("moderation/blocked_words.html", terms=terms, total=total, query=query, page=page,
                           per_page=PER_PAGE, add_form=add_form or AddTermsForm(),
                           import_form=import_form or ImportForm(), delete_form=EmptyForm(),
                           problems=problems or [], sample=sample,
                           hits=operations.blocked_terms_in(sample) if sample else []), status


def _failed(exc: LearnSpaceError, **forms):
    db.session.rollback()
    flash(exc.message, "error")
    return _render(problems=exc.details, status=400, **forms)


@bp.get("/blocked-words")
def blocked_words():
    return _render()


@bp.post("/blocked-words/add")
def add():
    form = AddTermsForm()
    if not form.validate_on_submit():
        return _render(add_form=form, status=400)
    try:
        result = operations.add_terms(form.terms.data, actor=current_user.user, what="填写的内容")
    except LearnSpaceError as exc:
        return _failed(exc, add_form=form)
    db.session.commit()
    flash("已保存。" + result.summary(), "success")
    return redirect(url_for(".blocked_words"))


@bp.post("/blocked-words/import")
def import_file():
    form = ImportForm()
    if not form.validate_on_submit():
        return _render(import_form=form, status=400)
    try:
        result = operations.import_file(form.file.data.read(operations.FILE_MAX_BYTES + 1),
                                        actor=current_user.user, replace=form.replace.data)
    except LearnSpaceError as exc:
        return _failed(exc, import_form=form)
    db.session.commit()
    flash("导入完成。" + result.summary(), "success")
    return redirect(url_for(".blocked_words"))


@bp.post("/blocked-words/<int:term_id>/delete")
def delete(term_id: int):
    if not EmptyForm().validate_on_submit():
        raise PermissionDenied("页面已过期，请刷新后重试")
    term = operations.delete_term(term_id, actor=current_user.user)
    db.session.commit()
    flash(f"已从清单中删除“{term.term}”。", "success")
    return redirect(url_for(".blocked_words", q=request.args.get("q", "")))
