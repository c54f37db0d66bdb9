"""Playing, downloading and showing posters of lesson files, after the lesson's access check.

Two modes (``LEARNSPACE_PLAYBACK_MODE``): ``presign`` sends the browser to a
short-lived MinIO URL on the public endpoint, which serves Range requests
itself; ``proxy`` streams the bytes through the app, Range requests included,
for deployments where browsers cannot reach MinIO. Either way a viewer who may
not see the lesson gets 404 and never a URL. Nothing is audited here: a video
being watched makes dozens of Range requests.

Presigned URLs live at most MAX_URL_SECONDS (``LEARNSPACE_PRESIGN_SECONDS``), so a
copied link stops working within a minute of the lesson being withdrawn, deleted
or made less visible. The player (static/js/player.js) asks ``/files/<id>/play-url``
for a fresh one, permission checked like ``/play``, when the browser needs more of a
video whose link has expired, and carries on at the same time.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify, redirect, request, url_for

from ..accounts.login import current_person as _viewer
from ..errors import NotFound, ServiceUnavailable
from ..extensions import db
from ..storage import StorageError, get_storage
from ..storage.delivery import content_disposition, object_size, open_range, presigned_get_url
from .models import LessonFile
from .permissions import can_view

log = logging.getLogger(__name__)

bp = Blueprint("playback", __name__)

NOT_FOUND = "文件不存在，或您没有查看这节课的权限。"
UNAVAILABLE = "文件暂时无法读取，请稍后再试。"
#: files small enough, or needed same-origin (a <track> needs CORS otherwise), to always go through the app
ALWAYS_PROXIED = ("subtitles",)
#: presigned URLs never live longer than this: an old link dies at most this long after access ends
MAX_URL_SECONDS = 60


def _viewable_file(file_id: int) -> LessonFile:
    """Load a ready file the current viewer may see, or answer 404 whatever the reason."""
    file = db.session.get(LessonFile, file_id)
    if file is None or file.status != "ready" or not can_view(_viewer(), file.lesson):
        raise NotFound(NOT_FOUND)
    return file


def _content_type(file: LessonFile) -> str:
    content_type = file.content_type or "application/octet-stream"
    if content_type.startswith("text/") and "charset" not in content_type:
        content_type += "; charset=utf-8"
    return content_type


@bp.get("/files/<int:file_id>/play")
def play(file_id: int):
    file = _viewable_file(file_id)
    return _deliver(file, download=False)


@bp.get("/files/<int:file_id>/play-url")
def play_url(file_id: int):
    """Answer a fresh playback URL and its life in seconds, for a player whose link expired (JSON)."""
    file = _viewable_file(file_id)
    settings = current_app.config["LEARNSPACE"]
    if _presigned(file, settings):
        lifetime = url_lifetime(file, settings.presign_seconds)
        body = {"url": _presigned_url(file, lifetime, download=False), "expires_in": lifetime}
    else:  # the app serves it and checks access on every range request: its own URL never expires
        body = {"url": url_for("playback.play", file_id=file.id), "expires_in": None}
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/files/<int:file_id>/download")
def download(file_id: int):
    file = _viewable_file(file_id)
    return _deliver(file, download=True)


@bp.get("/files/<int:file_id>/poster")
def poster(file_id: int):
    file = _viewable_file(file_id)
    if not file.poster_key:
        raise NotFound(NOT_FOUND)
    try:
        image = get_storage().get_bytes(file.poster_key)  # a small JPEG: one read is fine
    except KeyError:
        raise NotFound(NOT_FOUND) from None
    except StorageError:
        raise ServiceUnavailable(UNAVAILABLE) from None
    response = Response(image, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


def _presigned(file: LessonFile, settings) -> bool:
    return settings.playback_mode == "presign" and file.kind not in ALWAYS_PROXIED


def _presigned_url(file: LessonFile, lifetime: int, *, download: bool) -> str:
    try:
        return presigned_get_url(file.object_key, expires_seconds=lifetime,
                                 download_name=file.original_name if download else None,
                                 content_type=file.content_type)
    except StorageError:
        raise ServiceUnavailable(UNAVAILABLE) from None


def _deliver(file: LessonFile, *, download: bool):
    settings = current_app.config["LEARNSPACE"]
    log.debug("deliver file %s (%s) download=%s mode=%s", file.id, file.kind, download, settings.playback_mode)
    if _presigned(file, settings):
        # A download too: the browser follows the redirect at once, so a minute is plenty.
        response = redirect(_presigned_url(file, url_lifetime(file, settings.presign_seconds), download=download),
                            code=302)
        # The URL stops working soon: neither the browser nor a proxy may keep the redirect.
        response.headers["Cache-Control"] = "no-store"
        return response
    return _stream(file, download=download)


def url_lifetime(file: LessonFile, base_seconds: int) -> int:
    """Return how long a presigned URL lives: the setting, never more than MAX_URL_SECONDS."""
    # Not the recording's length: a link must die soon after access ends. Browsers keep
    # seeking with the URL they were redirected to (checked in Chromium); when it has
    # expired the player fetches a fresh one from play_url and resumes where it was.
    return max(1, min(base_seconds, MAX_URL_SECONDS))


def _stream(file: LessonFile, *, download: bool) -> Response:
    """Serve the object through the app, honouring a single byte range."""
    try:
        size = object_size(file.object_key)
    except KeyError:
        log.warning("ready file %s has no object in storage", file.id)
        raise NotFound(NOT_FOUND) from None
    except StorageError:
        raise ServiceUnavailable(UNAVAILABLE) from None

    etag = f'"{file.sha256}"' if file.sha256 else None
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Disposition": content_disposition(file.original_name, inline=not download),
        "Cache-Control": "private, max-age=300",
    }
    if etag:
        headers["ETag"] = etag

    start, end, status = 0, size - 1, 200
    wanted = _requested_range(etag)
    # Several ranges at once: RFC 9110 lets us answer with the whole file instead.
    if wanted is not None and len(wanted.ranges) == 1:
        span = byte_span(wanted.ranges[0], size)
        if span is None:
            headers["Content-Range"] = f"bytes */{size}"
            return Response(b"", status=416, headers=headers)
        (start, end), status = span, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"

    length = end - start + 1 if size else 0
    headers["Content-Length"] = str(length)
    if request.method == "HEAD" or length == 0:
        body = []
    else:
        try:
            body = open_range(file.object_key, start, end)
        except KeyError:
            raise NotFound(NOT_FOUND) from None
        except StorageError:
            raise ServiceUnavailable(UNAVAILABLE) from None
    response = Response(body, status=status, headers=headers, content_type=_content_type(file),
                        direct_passthrough=True)
    return response


def byte_span(spec: tuple[int, int | None], size: int) -> tuple[int, int] | None:
    """Turn one parsed range (start, stop-exclusive or None; negative start = suffix) into inclusive bounds."""
    first, stop = spec
    if size == 0:
        return None
    if first < 0:  # "bytes=-N": the last N bytes, or the whole file when it is shorter
        return max(0, size + first), size - 1
    if first >= size:
        return None
    return first, (min(stop, size) if stop is not None else size) - 1


def _requested_range(etag: str | None):
    """Return the parsed Range header, or None when there is none, it is invalid, or If-Range says the file changed."""
    wanted = request.range
    if wanted is None or wanted.units != "bytes":
        return None
    if_range = request.headers.get("If-Range")
    if if_range is not None and (etag is None or if_range.strip() != etag):
        return None
    return wanted
