"""The upload of a lesson file as one S3 multipart upload: start, part URLs, complete, retry, delete.

How the bytes travel: ``start`` creates the row (status "uploading") and a
multipart upload of ``lessons/<lesson_id>/files/<uuid>`` in MinIO (never the
teacher's file name); the browser PUTs each part straight to MinIO through a
presigned part URL with its SHA-256 (header ``x-amz-checksum-sha256``), which MinIO checks; ``complete`` asks
MinIO which parts it holds (ListParts), checks their count and sizes and has
MinIO join them (CompleteMultipartUpload). The app never carries the bytes.
The file is then "verifying" until the worker job ``lessons.verify_upload``
(``verification``) has sniffed its type and read it back once for its SHA-256,
and "processing" while ffprobe and the poster run (recordings); then "ready".

Consistency rules:
- the row exists before the first byte is stored; it is "ready" only after the
  worker verified the object;
- objects of a deleted row are removed, and its multipart upload aborted, *after*
  the deletion commits (a failure in between leaves work for ``learnspace reconcile``);
- a refused or failed upload removes its object and aborts its multipart upload at once.

MinIO aborts multipart uploads left unfinished for 24 hours (its default
stale_uploads_expiry): an upload that comes back after that finds it gone and is
marked failed with EXPIRED, so the teacher starts again.
"""
from __future__ import annotations

import base64
import binascii
import logging
import uuid

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..audit import operations as audit
from ..errors import Conflict, LearnSpaceError, ValidationError
from ..extensions import db
from ..jobs import enqueue, state_of
from ..storage import PartInfo, PartRefused, StorageError, UploadNotFound, get_storage
from ..storage.backends import MAX_PARTS, MIN_PART_BYTES
from ..storage.delivery import clean_name
from ..storage.part_urls import part_upload_url
from . import sniff
from .models import PART_KINDS, Lesson, LessonFile
from .owner_space import owner_space

log = logging.getLogger(__name__)

FILE_PREFIX = "lessons/"
#: where the chunk protocol before multipart uploads kept its pieces; reconcile removes what is left there
LEGACY_CHUNK_PREFIX = "uploads/"
#: subtitles are text: a few MiB is already hours of them
SUBTITLE_MAX_BYTES = 5 * 1024 * 1024
#: statuses whose bytes count against the space quota
COUNTED_STATUSES = ("uploading", "verifying", "processing", "ready")
#: the worker job that verifies a completed upload (learnspace.lessons.verification)
VERIFY_JOB = "lessons.verify_upload"
#: life of a presigned part URL: long enough for 100 parts on a slow school line
PART_URL_SECONDS = 3600
#: how many part URLs one request may ask for
MAX_URLS_PER_REQUEST = 100

EXPIRED = "上传超过 24 小时未完成，已失效，请重新选择文件上传。"
PUBLISHED_RECORDING = "课程已发布，不能删除录像。如需更换，请直接上传新的录像（完成后自动替换），或先撤回课程。"
NOTHING_TO_RETRY = "这个文件没有需要重试的处理。"
#: what the page shows when the worker gave up on a job for a reason that is no teacher's (a bug, say)
JOB_FAILED = "后台处理出错，请稍后重试。"


class TooLarge(LearnSpaceError):
    status_code = 413


class QuotaExceeded(LearnSpaceError):
    status_code = 507


class MissingParts(Conflict):
    """complete found parts missing or of the wrong size in MinIO; ``details`` lists their numbers."""


class UploadGone(Conflict):
    """The multipart upload no longer exists (expired): the file is now failed; commit before answering."""

    def __init__(self, message: str, file: LessonFile):
        super().__init__(message)
        self.file = file


# --- keys, sizes, quota ----------------------------------------------------------------------------------------

def _new_object_key(lesson_id: int) -> str:
    return f"{FILE_PREFIX}{lesson_id}/files/{uuid.uuid4().hex}"


def size_limit(kind: str) -> int:
    """Return the largest file, in bytes, a part accepts."""
    settings = current_app.config["LEARNSPACE"]
    if kind == "recording":
        return settings.recording_max_bytes
    if kind == "subtitles":
        return min(SUBTITLE_MAX_BYTES, settings.document_max_bytes)
    return settings.document_max_bytes


def quota_bytes(teacher: User) -> int:
    """Return the storage quota of a teacher's space (the configured default when the space sets none)."""
    quota = owner_space().quota_bytes(teacher)
    return quota if quota is not None else current_app.config["LEARNSPACE"].space_quota_bytes


def used_bytes(teacher: User) -> int:
    """Return the bytes a teacher's files take or are about to take (ready, unfinished and being verified)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LessonFile.size), 0))
        .join(Lesson, Lesson.id == LessonFile.lesson_id)
        .where(Lesson.teacher_id == teacher.id, LessonFile.status.in_(COUNTED_STATUSES)))
    return int(total or 0)


def part_size_for(size: int) -> int:
    """Return the part size for a file: the configured one, larger when it would need over 10,000 parts."""
    part = current_app.config["LEARNSPACE"].upload_chunk_bytes
    if -(-size // part) > MAX_PARTS:
        mib = 1024 * 1024
        part = -(-size // (MAX_PARTS * mib)) * mib  # whole MiB, at most MAX_PARTS parts
    return max(part, MIN_PART_BYTES)


def expected_part_length(file: LessonFile, number: int) -> int:
    """Return how many bytes part *number* (1-based) must have: part_size, except the last one."""
    return min(file.part_size, file.size - (number - 1) * file.part_size)


def human_size(size: int) -> str:
    """Format a byte count the way the UI shows it (1.5 GB, 20 MB, 300 KB)."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size} 字节"


def _quota_check(teacher: User, size: int) -> None:
    used, quota = used_bytes(teacher), quota_bytes(teacher)
    if used + size > quota:
        raise QuotaExceeded(f"空间容量不足：已用 {human_size(used)}，共 {human_size(quota)}，"
                            f"本文件 {human_size(size)}。请删除不需要的文件后再上传。")


# --- start -----------------------------------------------------------------------------------------------------

def start_upload(lesson: Lesson, kind: str, filename: str, size: int, uploader: User) -> LessonFile:
    """Check kind, name, size and quota, start the multipart upload in MinIO and add its row ("uploading")."""
    if kind not in PART_KINDS:
        raise ValidationError(f"不支持的文件类别“{kind}”，应为：{'、'.join(PART_KINDS.values())}")
    name = _fit_name(clean_name(filename or ""))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValidationError("文件大小无效")
    if size == 0:
        raise ValidationError("文件是空的（0 字节），请选择有内容的文件。")
    try:
        declared = sniff.declared_type(kind, name)
    except sniff.Refused as exc:
        raise ValidationError(exc.message) from None
    limit = size_limit(kind)
    if size > limit:
        raise TooLarge(f"文件大小 {human_size(size)} 超过了{PART_KINDS[kind]}的上限 {human_size(limit)}。")
    teacher = lesson.teacher
    _quota_check(teacher, size)  # before MinIO hears of it; checked again under the lock below
    key = _new_object_key(lesson.id)
    storage = get_storage()
    upload_id = storage.create_multipart(key, sniff.content_type(declared), checksums=True)
    try:
        owner_space().lock(teacher)
        _quota_check(teacher, size)
    except QuotaExceeded:
        _abort_quietly(key, upload_id)
        raise
    file = LessonFile(lesson_id=lesson.id, kind=kind, object_key=key, original_name=name, size=size,
                      part_size=part_size_for(size), upload_id=upload_id, status="uploading",
                      uploader_id=uploader.id if uploader is not None else None)
    db.session.add(file)
    db.session.flush()
    log.info("upload %s started: lesson %s %s, %d bytes in %d parts", file.id, lesson.id, kind, size,
             file.part_count)
    return file


def _fit_name(name: str, limit: int = 255) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    return (stem[:limit - len(ext) - 1] + "." + ext) if dot and len(ext) < 20 else name[:limit]


# --- parts -----------------------------------------------------------------------------------------------------

def _require_uploading(file: LessonFile) -> None:
    if file.status == "uploading":
        return
    if file.status == "failed":
        raise Conflict(f"这个上传已失败：{file.failure_reason or '原因未知'} 请重新上传该文件。")
    raise Conflict("文件已全部上传，不能再修改；如需替换，请重新上传。")


def _parse_sha256(value) -> str:
    if isinstance(value, str):
        try:
            if len(base64.b64decode(value, validate=True)) == 32:
                return value
        except (binascii.Error, ValueError):
            pass
    raise ValidationError("sha256 应为该分段内容 SHA-256 的 base64 编码（44 个字符）。")


def part_urls(file: LessonFile, parts) -> dict[str, str]:
    """Return presigned PUT URLs for the asked parts ([{number}], a sha256 given is checked for form).

    The client sends each part's base64 SHA-256 in the header x-amz-checksum-sha256:
    MinIO refuses a part whose bytes do not match it (XAmzContentChecksumMismatch),
    and a part stored without one does not count as received (_held), so every
    part of a finished upload was checked by MinIO. URLs need no checksum, so a
    client may ask for them ahead of reading and hashing the parts; a checksum given
    is signed into its URL, which S3 servers other than MinIO require.
    """
    _require_uploading(file)
    if not isinstance(parts, list) or not 1 <= len(parts) <= MAX_URLS_PER_REQUEST:
        raise ValidationError(f"parts 应为 1 到 {MAX_URLS_PER_REQUEST} 个分段的列表。")
    count, checksums = file.part_count, {}
    for part in parts:
        number = part.get("number") if isinstance(part, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or not 1 <= number <= count:
            raise ValidationError(f"分段序号应为 1 到 {count} 的整数，收到：{number!r}。")
        sha256 = _parse_sha256(part["sha256"]) if part.get("sha256") is not None else None
        checksums.setdefault(number, sha256)
    # A given checksum is signed into the URL: S3 servers other than MinIO refuse it unsigned.
    return {str(n): part_upload_url(file.object_key, file.upload_id, n, PART_URL_SECONDS, sha256=sha256)
            for n, sha256 in checksums.items()}


def _held(file: LessonFile) -> dict[int, PartInfo] | None:
    """Return the parts MinIO holds with the right size and a checked SHA-256, by number; None when the upload is gone.

    A part PUT without x-amz-checksum-sha256 was not checked by MinIO: it is not counted, so it is sent again.
    """
    try:
        parts = get_storage().list_parts(file.object_key, file.upload_id)
    except UploadNotFound:
        return None
    count = file.part_count
    return {p.number: p for p in parts if 1 <= p.number <= count and p.size == expected_part_length(file, p.number)
            and p.checksum_sha256}


def _joined(file: LessonFile) -> bool:
    """Tell whether the object is already whole in MinIO (a complete that went through before its commit failed)."""
    try:
        return get_storage().stat(file.object_key).size == file.size
    except KeyError:
        return False


def parts_in_place(file: LessonFile) -> list[int]:
    """Return the numbers of the parts MinIO holds with the right size (ListParts while uploading).

    An upload MinIO no longer knows (expired after 24 hours, or aborted) is marked failed here.
    """
    if file.status in ("verifying", "processing", "ready"):
        return list(range(1, file.part_count + 1))
    if file.status != "uploading":
        return []
    held = _held(file)
    if held is not None:
        return sorted(held)
    if _joined(file):
        return list(range(1, file.part_count + 1))  # complete only has to be asked again
    fail_upload(file, EXPIRED)
    return []


# --- complete, verification jobs -------------------------------------------------------------------------------

def verify_job_key(file: LessonFile) -> str:
    """Return the dedupe key of a file's verification job (the object key: ids may be reused after deletion)."""
    return f"verify:{file.object_key}"


def request_verification(file: LessonFile) -> None:
    """Queue the worker job that verifies the file; it runs once the caller commits."""
    enqueue(VERIFY_JOB, {"file_id": file.id, "object_key": file.object_key}, dedupe_key=verify_job_key(file))


def complete_upload(file: LessonFile) -> bool:
    """Have MinIO join the parts and queue the verification; True when this call did it, False when done before.

    MissingParts lists the parts still to send; UploadGone means the upload
    expired and the file is now failed.
    """
    if file.status in ("verifying", "processing", "ready"):
        return False
    _require_uploading(file)
    file = db.session.get(LessonFile, file.id, with_for_update=True, populate_existing=True)
    if file.status != "uploading":  # a parallel complete got there first
        return False
    held = _held(file)
    if held is None:
        if not _joined(file):
            fail_upload(file, EXPIRED)
            raise UploadGone(EXPIRED, file)
    else:
        count = file.part_count
        missing = [n for n in range(1, count + 1) if n not in held]
        if missing:
            shown = "、".join(str(n) for n in missing[:10]) + ("……" if len(missing) > 10 else "")
            raise MissingParts(f"还有 {len(missing)} 个分段没有上传完整（序号 {shown}），请上传后再完成。",
                               details=missing)
        try:
            get_storage().complete_multipart(file.object_key, file.upload_id, [held[n] for n in range(1, count + 1)])
        except PartRefused:  # a part was sent again between the listing and the join
            raise Conflict("分段在合并时发生了变化，请再点一次完成。") from None
        except UploadNotFound:
            if not _joined(file):
                raise
    file.status = "verifying"
    request_verification(file)
    db.session.flush()
    log.info("upload %s complete: %d parts joined, verification queued", file.id, file.part_count)
    return True


def retry_verification(file: LessonFile) -> None:
    """Queue the verification again after the worker gave up on it (storage was down, say)."""
    if file.status not in ("verifying", "processing"):
        raise Conflict(NOTHING_TO_RETRY)
    job = state_of(verify_job_key(file))
    if job is not None and job.state in ("queued", "running"):
        raise Conflict("文件正在处理中，无需重试。")
    request_verification(file)


def job_json(file: LessonFile) -> dict | None:
    """Describe the file's verification job for the page: state, attempts and, when it failed, why (Chinese)."""
    job = state_of(verify_job_key(file))
    if job is None:
        return None
    error = job.last_error
    if error:
        kind, colon, message = error.partition(": ")  # the worker keeps "<exception type>: <message>"
        error = message if colon and kind.isidentifier() else error
        if not any("\u4e00" <= ch <= "\u9fff" for ch in error):
            error = JOB_FAILED
    return {"state": job.state, "attempts": job.attempts, "last_error": error}


# --- failing, deleting -----------------------------------------------------------------------------------------

def fail_upload(file: LessonFile, reason: str, extra_keys=()) -> LessonFile:
    """Mark an upload failed with a reason for the teacher; remove its object and abort its upload, now."""
    file.status, file.failure_reason = "failed", reason[:255]
    db.session.flush()
    _remove_now(keys=[file.object_key, file.poster_key, *extra_keys],
                uploads=[(file.object_key, file.upload_id)] if file.upload_id else [])
    audit.record("lesson.file_upload", result="failure", target=f"lesson:{file.lesson_id}",
                 detail=f"file={file.id} kind={file.kind} {reason}")
    log.info("upload %s failed: %s", file.id, reason)
    return file


def delete_upload(file: LessonFile) -> None:
    """Cancel an upload or delete a file, as its teacher asks; a published lesson keeps its ready recording.

    An unfinished upload is aborted in MinIO first (StorageError while MinIO is
    down, and the row stays): once the row is gone nothing would know its upload
    id, and MinIO lists uploads from before its last restart only by exact key.
    """
    if file.kind == "recording" and file.status == "ready" and file.lesson.status == "published":
        raise Conflict(PUBLISHED_RECORDING)
    if file.upload_id and file.status == "uploading":
        get_storage().abort_incomplete_upload(file.object_key, file.upload_id)
    delete_file(file)  # a failed upload was aborted when it failed; delete_file tries again after the commit


def delete_file(file: LessonFile) -> None:
    """Delete a file's row; its objects go and its multipart upload is aborted once the deletion commits."""
    unfinished = file.upload_id and file.status in ("uploading", "failed")
    _remove_after_commit(keys=[file.object_key, file.poster_key],
                         uploads=[(file.object_key, file.upload_id)] if unfinished else [])
    audit.record("lesson.file_delete", target=f"lesson:{file.lesson_id}",
                 detail=f"file={file.id} kind={file.kind} status={file.status}")
    db.session.delete(file)
    db.session.flush()
    log.info("file %s (%s, %s) deleted", file.id, file.kind, file.status)


# --- removing objects ------------------------------------------------------------------------------------------

_PENDING = "learnspace.uploads.remove_after_commit"


def _abort_quietly(key: str, upload_id: str) -> None:
    _remove_now(uploads=[(key, upload_id)])


def remove_now(keys=()) -> None:
    """Remove objects at once; what cannot be removed now is an orphan for reconcile, not an error."""
    _remove_now(keys=keys)


def _remove_now(keys=(), uploads=()) -> None:
    try:
        _remove(get_storage(), keys, uploads)
    except StorageError as exc:
        log.warning("objects not removed (%s); learnspace reconcile will remove them", type(exc).__name__)


def _remove(storage, keys, uploads) -> None:
    storage.remove_many([k for k in keys if k])
    for key, upload_id in sorted(uploads):
        storage.abort_incomplete_upload(key, upload_id)


def _remove_after_commit(keys=(), uploads=()) -> None:
    pending = db.session.info.setdefault(_PENDING, {"storage": get_storage(), "keys": set(), "uploads": set()})
    pending["keys"].update(k for k in keys if k)
    pending["uploads"].update(uploads)


@event.listens_for(Session, "after_commit")
def _remove_committed(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        _remove(pending["storage"], sorted(pending["keys"]), pending["uploads"])
    except StorageError as exc:
        log.warning("%d objects of deleted files not removed (%s); learnspace reconcile will remove them",
                    len(pending["keys"]), type(exc).__name__)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole unit of work is undone, deletions included
        session.info.pop(_PENDING, None)


# --- what the API shows ----------------------------------------------------------------------------------------

def file_json(file: LessonFile, parts: list[int] | None = None) -> dict:
    """Describe an upload for the JSON API and the upload script (*parts*: the part numbers in place)."""
    data = {"id": file.id, "lesson_id": file.lesson_id, "kind": file.kind, "filename": file.original_name,
            "status": file.status, "size": file.size, "part_size": file.part_size, "part_count": file.part_count,
            "parts": parts if parts is not None else (
                list(range(1, file.part_count + 1)) if file.status in ("verifying", "processing", "ready") else []),
            "sha256": file.sha256, "content_type": file.content_type if file.status == "ready" else None,
            "failure_reason": file.failure_reason,
            "job": job_json(file) if file.status in ("verifying", "processing") else None}
    if file.kind == "recording" and file.status == "ready":
        data.update(duration_seconds=file.duration_seconds, width=file.width, height=file.height,
                    video_codec=file.video_codec, audio_codec=file.audio_codec,
                    is_showcase_eligible=file.is_showcase_eligible, ineligible_reason=file.ineligible_reason)
    return data
