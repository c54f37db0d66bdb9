"""JSON API of the upload (blueprint "uploads"): one S3 multipart upload per file, parts straight to MinIO.

Signed-in session plus the CSRF token in the ``X-CSRFToken`` header (the
``csrf-token`` meta tag of any page). Only the lesson's teacher may upload;
anyone else gets 404, as if the lesson did not exist. Errors come back as
``{"error": "<Chinese message>"}``; storage down is 503. The table and a
worked script are in README.md ("Uploading from a script").

    POST   /api/lessons/<lesson_id>/uploads {kind, filename, size}  -> 201 the file (status "uploading", part_size, part_count)
    POST   /api/uploads/<id>/part-urls {parts: [{number, sha256}]}  -> {urls: {"<n>": url}, expires_in}
    GET    /api/uploads/<id>                                        -> the file (parts MinIO holds, job)
    POST   /api/uploads/<id>/complete                               -> 202 "verifying" | 200 already | 409 {error, missing}
    POST   /api/uploads/<id>/retry                                  -> 202 re-queued | 409 nothing to retry
    DELETE /api/uploads/<id>                                        -> {deleted: id} | 409 published recording
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from flask_login import current_user

from .. import meters
from ..errors import LearnSpaceError, NotFound, ValidationError
from ..extensions import db
from ..storage import StorageError
from . import uploads
from .models import Lesson, LessonFile
from .permissions import can_edit

log = logging.getLogger(__name__)

bp = Blueprint("uploads", __name__)

NOT_FOUND = "课程或文件不存在，或您无权修改它。"
STORAGE_DOWN = "存储服务暂时不可用，已上传的分段不会丢失。请稍后重试，上传会从中断处继续。"


class NotSignedIn(LearnSpaceError):
    status_code = 401


@bp.errorhandler(StorageError)
def _storage_unavailable(exc: StorageError):
    db.session.rollback()
    log.warning("storage unavailable during %s %s: %s", request.method, request.path, exc)
    return jsonify(error=STORAGE_DOWN), 503


@bp.errorhandler(uploads.MissingParts)
def _missing_parts(exc: uploads.MissingParts):
    db.session.rollback()
    return jsonify(error=exc.message, missing=exc.details), 409


@bp.errorhandler(uploads.UploadGone)
def _gone(exc: uploads.UploadGone):
    db.session.commit()  # keep the failed status and its reason
    return jsonify({**uploads.file_json(exc.file), "error": exc.message}), 409


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
    return jsonify(uploads.file_json(file, parts=[])), 201


@bp.post("/api/uploads/<int:file_id>/part-urls")
def part_urls(file_id: int):
    urls = uploads.part_urls(_file(file_id), _json_body().get("parts"))
    return jsonify(urls=urls, expires_in=uploads.PART_URL_SECONDS)


@bp.get("/api/uploads/<int:file_id>")
def status(file_id: int):
    file = _file(file_id)
    parts = uploads.parts_in_place(file)  # may find the upload expired and mark the file failed
    db.session.commit()
    return jsonify(uploads.file_json(file, parts=parts))


@bp.post("/api/uploads/<int:file_id>/complete")
def complete(file_id: int):
    file = _file(file_id)
    accepted = uploads.complete_upload(file)
    db.session.commit()
    file = db.session.get(LessonFile, file_id)
    if accepted:
        meters.upload_completed(file.kind, file.size)
    return jsonify(uploads.file_json(file)), 202 if accepted else 200


@bp.post("/api/uploads/<int:file_id>/retry")
def retry(file_id: int):
    file = _file(file_id)
    uploads.retry_verification(file)
    db.session.commit()
    return jsonify(uploads.file_json(file)), 202


@bp.delete("/api/uploads/<int:file_id>")
def delete(file_id: int):
    uploads.delete_upload(_file(file_id))
    db.session.commit()
    return jsonify(deleted=file_id)
