"""Teachers' profile photos: decided by their bytes, kept in object storage, removed only after a commit.

A photo is stored under a fresh key each time, so a browser never shows a stale
cached picture and a rolled-back change never leaves the profile pointing at a
missing object: the replaced object is removed after the commit, a new object is
removed again when the transaction rolls back.
"""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..errors import ServiceUnavailable, ValidationError
from ..extensions import db
from ..storage import StorageError, get_storage

log = logging.getLogger(__name__)

#: the largest photo accepted, in bytes
PHOTO_MAX_BYTES = 2 * 1024 * 1024
#: what the form's file picker offers; the server still decides by the bytes
PHOTO_ACCEPT = "image/jpeg,image/png,image/webp,.jpg,.jpeg,.png,.webp"
PHOTO_PREFIX = "spaces/"

_REMOVE_ON_COMMIT = "learnspace.spaces.photos.remove_on_commit"
_REMOVE_ON_ROLLBACK = "learnspace.spaces.photos.remove_on_rollback"


def sniff_image(data: bytes) -> str | None:
    """Return image/jpeg, image/png or image/webp when the bytes are one, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        return "image/png"
    if len(data) >= 16 and data[:4] == b"RIFF" and data[8:12] == b"WEBP" and data[12:15] == b"VP8":
        return "image/webp"
    return None


def check_photo(data: bytes) -> str:
    """Return the sniffed type of an acceptable photo, or raise ValidationError saying why not."""
    if not data:
        raise ValidationError("请选择一张照片")
    if len(data) > PHOTO_MAX_BYTES:
        raise ValidationError(f"照片太大（{len(data) / 1024 / 1024:.1f} MB），请不超过 "
                              f"{PHOTO_MAX_BYTES // 1024 // 1024} MB")
    content_type = sniff_image(data)
    if content_type is None:
        raise ValidationError("照片只能是 JPEG、PNG 或 WebP 图片（按文件内容判断，不看扩展名）")
    return content_type


def store_photo(user_id: int, data: bytes, content_type: str) -> str:
    """Put the photo bytes under a new key and return the key; the object goes again if the transaction rolls back."""
    key = f"{PHOTO_PREFIX}{user_id}/photo/{uuid.uuid4().hex}"
    try:
        get_storage().put_bytes(key, data, content_type)
    except StorageError:
        raise ServiceUnavailable("照片暂时无法保存，请稍后再试") from None
    _pending(_REMOVE_ON_ROLLBACK).add(key)
    return key


def remove_after_commit(key: str | None) -> None:
    """Remove the object *key* once the current transaction commits."""
    if key:
        _pending(_REMOVE_ON_COMMIT).add(key)


def read_photo(key: str) -> bytes:
    """Return the bytes of a stored photo; KeyError when it is gone."""
    return get_storage().get_bytes(key)


def _pending(name: str) -> set:
    pending = db.session.info.setdefault(name, {"storage": get_storage(), "keys": set()})
    return pending["keys"]


def _remove(pending: dict | None) -> None:
    if not pending or not pending["keys"]:
        return
    try:
        pending["storage"].remove_many(sorted(pending["keys"]))
    except StorageError as exc:
        log.warning("%d photo objects not removed (%s)", len(pending["keys"]), type(exc).__name__)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    session.info.pop(_REMOVE_ON_ROLLBACK, None)
    _remove(session.info.pop(_REMOVE_ON_COMMIT, None))


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole unit of work is undone
        session.info.pop(_REMOVE_ON_COMMIT, None)
        _remove(session.info.pop(_REMOVE_ON_ROLLBACK, None))
