"""JSON API of the resumable upload (blueprint "uploads").

Signed-in session plus the CSRF token in the ``X-CSRFToken`` header (the
``csrf-token`` meta tag of any page). Only the lesson's teacher may upload;
anyone else gets 404, as if the lesson did not exist. Errors come back as
``{"error": "<Chinese message>"}``. A worked example is in README.md
("Uploading from a script").

    POST   /api/lessons/<lesson_id>/uploads    {kind, filename, size} -> 201 {id, chunk_size, chunk_count, received}
    GET    /api/uploads/<file_id>              -> {id, status, received, chunk_size, chunk_count, size, sha256, ...}
    PUT    /api/uploads/<file_id>/chunks/<i>   raw bytes [X-Chunk-SHA256] -> {received: n}
    POST   /api/uploads/<file_id>/complete     [{sha256}] -> the file, status "ready" (or 400 and "failed")
    DELETE /api/uploads/<file_id>              -> cancels an upload, or deletes a ready file
"""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError as WTFValidationError

from ..errors import LearnSpaceError, NotFound, ValidationError
from ..extensions import csrf, db
from ..storage import StorageError
from . import uploads
from .models import Lesson, LessonFile
from .permissions import can_edit

log = logging.getLogger(__name__)

bp = Blueprint("uploads", __name__)

NOT_FOUND = "课程或文件不存在，或您无权修改它。"
STORAGE_DOWN = "存储服务暂时不可用，已上传的分块不会丢失。请稍后重试，上传会从中断处继续。"


class NotSignedIn(LearnSpaceError):
    status_code = 401


class LengthRequired(LearnSpaceError):
    status_code = 411


@bp.errorhandler(StorageError)
def _storage_unavailable(exc: StorageError):
    db.session.rollback()
    log.warning("storage unavailable during %s %s: %s", request.method, request.path, exc)
    return jsonify(error=STORAGE_DOWN), 503


def _editor():
    if not current_user.is_authenticated:
        raise NotSignedIn("请先登录。")
    return current_user.user


def _lesson(lesson_id: int) -> Lesson:
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not can_edit(_editor(), lesson):
        raise NotFound(NOT_FOUND)
    return lesson


def _file(file_id: int) -> LessonFile:
    file = db.session.get(LessonFile, file_id)
    if file is None or not can_edit(_editor(), file.lesson):
        raise NotFound(NOT_FOUND)
    return file


def _json_body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationError("请求内容应为 JSON 对象。")
    return data


@bp.post("/api/lessons/<int:lesson_id>/uploads")
def start(lesson_id: int):
    lesson = _lesson(lesson_id)
    data = _json_body()
    filename, size = data.get("filename"), data.get("size")
    if not isinstance(filename, str) or not filename.strip():
        raise ValidationError("缺少文件名（filename）。")
    if not isinstance(size, int) or isinstance(size, bool):
        raise ValidationError("文件大小（size）应为整数，单位字节。")
    file = uploads.start_upload(lesson, str(data.get("kind") or ""), filename, size, _editor())
    db.session.commit()
    return jsonify(uploads.file_json(file, received=[])), 201


@bp.get("/api/uploads/<int:file_id>")
def status(file_id: int):
    return jsonify(uploads.file_json(_file(file_id)))


@bp.put("/api/uploads/<int:file_id>/chunks/<int:index>")
@csrf.exempt  # checked below from the header only: the global check would parse a form-encoded body into memory
def put_chunk(file_id: int, index: int):
    _check_csrf_header()
    file = _file(file_id)
    length = request.content_length
    if length is None:
        raise LengthRequired("请在请求头中给出 Content-Length（本块的字节数），不要使用分块传输编码。")
    target = uploads.accept_chunk(file, index, length)
    # SQLite transactions begin with BEGIN IMMEDIATE (learnspace.db): end this one before the
    # bytes stream for seconds, or every other writer would wait on it.
    db.session.commit()
    request.max_content_length = target.length  # the app-wide limit is for forms, not chunks
    stored = uploads.store_chunk(target, request.stream, request.headers.get("X-Chunk-SHA256"))
    try:
        uploads.record_chunk(target, stored)
    except uploads.UploadRefused as exc:
        db.session.commit()  # keep the failed status and its reason
        return jsonify({**uploads.file_json(exc.file), "error": exc.message}), 400
    received = uploads.received_indexes(db.session.get(LessonFile, file_id))
    db.session.commit()
    return jsonify(received=len(received), index=index, sha256=stored.sha256)


def _check_csrf_header() -> None:
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return
    try:
        validate_csrf(request.headers.get("X-CSRFToken") or request.headers.get("X-CSRF-Token"))
    except WTFValidationError as exc:
        raise CSRFError(str(exc)) from None


@bp.post("/api/uploads/<int:file_id>/complete")
def complete(file_id: int):
    file = _file(file_id)
    if file.status == "ready":
        return jsonify(uploads.file_json(file))  # a repeated request after a lost answer
    data = request.get_json(silent=True) or {}
    expected = data.get("sha256") if isinstance(data, dict) else None
    if expected is not None and not isinstance(expected, str):
        raise ValidationError("sha256 应为 64 位十六进制字符串。")
    plan = uploads.begin_complete(file, expected)
    # Show "verifying" to other requests, and hold no transaction while MinIO joins and reads gigabytes.
    db.session.commit()
    try:
        verdict = uploads.verify_upload(plan)
    except StorageError:
        file = db.session.get(LessonFile, file_id, populate_existing=True)
        if file is not None and file.status == "ready":
            return jsonify(uploads.file_json(file))  # a parallel complete finished it (and cut this one short)
        raise
    file = uploads.finish_complete(plan, verdict)
    db.session.commit()
    body = uploads.file_json(file)
    if file.status == "failed":
        return jsonify({**body, "error": file.failure_reason}), 400
    return jsonify(body)


@bp.delete("/api/uploads/<int:file_id>")
def delete(file_id: int):
    file = _file(file_id)
    if file.status == "ready":
        uploads.delete_file(file)
    else:
        uploads.abort_upload(file)
    db.session.commit()
    return jsonify(deleted=file_id)
