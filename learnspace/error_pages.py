"""The one place that turns domain exceptions and HTTP errors into Chinese HTML pages or JSON answers."""
from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from . import logs
from .errors import LearnSpaceError
from .extensions import db
from .transactions import rollback_keeping

log = logging.getLogger(__name__)

HTTP_MESSAGES = {
    400: "请求无效，请检查后重试。",
    403: "您没有权限访问此页面。",
    404: "页面不存在。",
    405: "不支持的请求方式。",
    413: "文件太大，超过了允许的上限。",
    429: "操作过于频繁，请稍后再试。",
    500: "服务器出现错误，我们已记录。请稍后再试。",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _respond(status: int, message: str, details: list | None = None):
    if _wants_json():
        return jsonify(error=message, details=details or []), status
    return render_template("error.html", status=status, message=message, details=details or []), status


def register_error_handlers(app) -> None:
    """Map domain exceptions and HTTP errors to Chinese HTML or JSON responses."""
    @app.errorhandler(LearnSpaceError)
    def _domain_error(exc: LearnSpaceError):
        rollback_keeping()
        return _respond(exc.status_code, exc.message, exc.details)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return _respond(400, "页面已过期或来源无效，请刷新页面后重新提交。")

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return _respond(exc.code or 500, HTTP_MESSAGES.get(exc.code, exc.description or "请求失败"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        db.session.rollback()
        log.exception("unhandled error on %s %s", request.method, request.path)
        # The same id is on the logged traceback: an administrator finds it from what the teacher reports.
        return _respond(500, HTTP_MESSAGES[500], [f"错误编号：{logs.request_id()}（向管理员报告问题时请提供此编号）"])
