"""Playing, downloading and showing posters of lesson files, after the lesson's access check.

Two modes (``LEARNSPACE_PLAYBACK_MODE``): ``presign`` sends the browser to a
short-lived MinIO URL on the public endpoint, which serves Range requests
itself; ``proxy`` streams the bytes through the app, Range requests included,
for deployments where browsers cannot reach MinIO. Either way a viewer who may
not see the lesson gets 404 and never a URL. Nothing is audited here: a video
being watched makes dozens of Range requests.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, redirect, request

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
#: presigned URLs never live longer than this, however long the recording
MAX_URL_SECONDS = 6 * 3600


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


def _deliver(file: LessonFile, *, download: bool):
    settings = current_app.config["LEARNSPACE"]
    log.debug("deliver file %s (%s) download=%s mode=%s", file.id, file.kind, download, settings.playback_mode)
    if settings.playback_mode == "presign" and file.kind not in ALWAYS_PROXIED:
        try:
            url = presigned_get_url(file.object_key, expires_seconds=url_lifetime(file, settings.presign_seconds),
                                    download_name=file.original_name if download else None,
                                    content_type=file.content_type)
        except StorageError:
            raise ServiceUnavailable(UNAVAILABLE) from None
        response = redirect(url, code=302)
        # The URL stops working soon: neither the browser nor a proxy may keep the redirect.
        response.headers["Cache-Control"] = "no-store"
        return response
    return _stream(file, download=download)


def url_lifetime(file: LessonFile, base_seconds: int) -> int:
    """Return how long a presigned URL lives: the setting, plus the recording's length when known."""
    # Browsers keep seeking with the URL they were redirected to (checked in Chromium): a URL
    # that dies mid-lesson would break seeking late in a 45-minute recording.
    extra = int(file.duration_seconds or 0) if file.kind == "recording" else 0
    return min(base_seconds + extra, MAX_URL_SECONDS)


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
