"""The worker job "lessons.verify_upload": a completed upload becomes ready only once its object is verified.

Two steps, each ending in its own commit so the page shows where the file is:
1. "verifying": the object's size, its real type (sniffed from its first bytes
   and, for office files, its ZIP directory, through range reads) and its
   SHA-256 (the object read back once, streaming). A file that fails a check is
   marked failed with the reason, and its object removed.
2. "processing" (recordings only): ffprobe's facts and the poster.
Then "ready", replacing an older ready file of the same part.

No database transaction is open while gigabytes are read or ffmpeg runs: the
row is read and the transaction ended, the storage work runs, then the row is
locked and the verdict applied, if the row still is what the job started from.
Running the job twice gives the same result. A storage outage raises
StorageError, so the queue retries with backoff; the file keeps its status and
its object until a later attempt (or POST /api/uploads/<id>/retry) finishes.
"""
from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass

from sqlalchemy import select

from ..activity import operations as activity
from ..audit import operations as audit
from ..db import utcnow
from ..extensions import db
from ..jobs import handler
from ..storage import StorageError, get_storage
from ..storage.backends import BLOCK_SIZE
from . import media, sniff, uploads
from .models import LessonFile

log = logging.getLogger(__name__)

#: media facts media.inspect fills in, copied from the probe onto the row
MEDIA_FIELDS = ("duration_seconds", "width", "height", "video_codec", "audio_codec", "poster_key",
                "is_showcase_eligible", "ineligible_reason")
STORAGE_DOWN = "存储服务暂时不可用，文件校验没有完成。"
MISSING = "合并后的文件在存储中找不到，请重新上传。"


class StorageUnavailable(RuntimeError):
    """Storage failed during verification; the queue retries. The message is the teacher's (Chinese)."""


@dataclass(frozen=True)
class Plan:
    """What verifying one file needs; plain values, so the storage work runs without a transaction."""

    file_id: int
    lesson_id: int
    kind: str
    original_name: str
    object_key: str
    size: int
    status: str
    content_type: str | None


@dataclass(frozen=True)
class Verdict:
    """The outcome of check_object: a refusal reason, or the facts of a good object."""

    reason: str | None = None
    sha256: str | None = None
    type_name: str | None = None


# A short lease: the heartbeat keeps it while the job runs, and a dead worker's file is taken again soon.
@handler(uploads.VERIFY_JOB, max_attempts=5, lease_seconds=120)
def verify_upload_job(payload: dict) -> None:
    """Verify one completed upload: check and hash, then probe a recording; idempotent."""
    try:
        _verify(int(payload["file_id"]), payload.get("object_key"))
    except StorageError as exc:
        db.session.rollback()
        log.warning("verification of file %s waits for storage: %s", payload.get("file_id"), type(exc).__name__)
        raise StorageUnavailable(STORAGE_DOWN) from exc


def _verify(file_id: int, object_key: str | None) -> None:
    plan = read_plan(file_id, object_key)
    db.session.commit()  # hold no transaction while the object is read
    if plan is None:
        return
    if plan.status == "verifying":
        plan = apply_verdict(plan, check_object(plan))
        db.session.commit()  # the page shows "processing" (or the verdict) now
        if plan is None:
            return
    finish(plan, probe(plan))


def read_plan(file_id: int, object_key: str | None) -> Plan | None:
    """Return what verification needs, or None when there is nothing (left) to do for this row."""
    file = db.session.get(LessonFile, file_id)
    if file is None or file.status not in ("verifying", "processing"):
        return None
    if object_key is not None and file.object_key != object_key:
        return None  # the id now belongs to another file
    return Plan(file.id, file.lesson_id, file.kind, file.original_name, file.object_key, file.size, file.status,
                file.content_type)


def check_object(plan: Plan) -> Verdict:
    """Check the stored object's size and real type and read it back once for its SHA-256; no database needed."""
    storage = get_storage()
    started = time.perf_counter()
    try:
        size = storage.stat(plan.object_key).size
    except KeyError:
        return Verdict(reason=MISSING)
    if size != plan.size:
        return Verdict(reason=f"存储中的文件大小（{size} 字节）与声明的大小（{plan.size} 字节）不一致，请重新上传。")
    try:
        type_name = sniff.check_object(plan.kind, plan.original_name, size,
                                       lambda offset, length: storage.read_range(plan.object_key, offset, length))
    except sniff.Refused as exc:
        return Verdict(reason=exc.message)
    except KeyError:
        return Verdict(reason=MISSING)
    sniffed = time.perf_counter()
    digest, read = hashlib.sha256(), 0
    try:
        for block in storage.iter_object(plan.object_key, BLOCK_SIZE):
            digest.update(block)
            read += len(block)
    except KeyError:
        return Verdict(reason=MISSING)
    if read != plan.size:
        return Verdict(reason="读回的文件大小与声明的大小不一致，请重新上传。")
    log.info("upload %s checked in %.2f s: sniff %.2f, sha-256 %.2f (%.0f MiB/s)", plan.file_id,
             time.perf_counter() - started, sniffed - started, time.perf_counter() - sniffed,
             plan.size / 1048576 / max(time.perf_counter() - sniffed, 1e-6))
    return Verdict(sha256=digest.hexdigest(), type_name=type_name)


def _locked(plan: Plan, status: str) -> LessonFile | None:
    """Lock the row and return it if it is still the file, in the status, the step started from."""
    file = db.session.get(LessonFile, plan.file_id, with_for_update=True, populate_existing=True)
    if file is None or file.object_key != plan.object_key or file.status != status:
        return None
    return file


def apply_verdict(plan: Plan, verdict: Verdict) -> Plan | None:
    """Apply check_object's verdict: failed (object removed), ready, or "processing" for a recording."""
    file = _locked(plan, "verifying")
    if file is None:
        return None  # deleted or finished meanwhile: whoever did that cleaned up
    if verdict.reason:
        uploads.fail_upload(file, verdict.reason)
        return None
    file.sha256, file.content_type = verdict.sha256, sniff.content_type(verdict.type_name)
    if file.kind != "recording":
        _make_ready(file)
        return None
    file.status = "processing"
    db.session.flush()
    return Plan(file.id, file.lesson_id, file.kind, file.original_name, file.object_key, file.size, file.status,
                file.content_type)


def probe(plan: Plan) -> dict:
    """Run ffprobe and make the poster on a stand-in row, so no transaction is open while ffmpeg runs."""
    stand_in = LessonFile(id=plan.file_id, lesson_id=plan.lesson_id, kind=plan.kind, object_key=plan.object_key,
                          original_name=plan.original_name, size=plan.size, content_type=plan.content_type)
    try:
        media.inspect(stand_in)
    except StorageError:
        raise
    except Exception:  # a bug in probing must not lose a 4 GB recording: keep it, facts unknown
        log.exception("media inspection of file %s failed", plan.file_id)
        return {"is_showcase_eligible": None, "ineligible_reason": media.REASON_UNREADABLE}
    return {name: getattr(stand_in, name) for name in MEDIA_FIELDS}


def finish(plan: Plan, facts: dict) -> None:
    """Apply a recording's media facts and make it ready (a poster made for a file now gone is removed)."""
    file = _locked(plan, "processing")
    poster = facts.get("poster_key")
    if file is None:
        uploads.remove_now([poster])
        return
    if file.poster_key and file.poster_key != poster:
        uploads.remove_now([file.poster_key])  # left by an earlier run of this job
    for name, value in facts.items():
        setattr(file, name, value)
    _make_ready(file)


def _make_ready(file: LessonFile) -> None:
    file.status, file.ready_dt, file.failure_reason = "ready", utcnow(), None
    for old in db.session.scalars(select(LessonFile).where(
            LessonFile.lesson_id == file.lesson_id, LessonFile.kind == file.kind,
            LessonFile.status == "ready", LessonFile.id != file.id)):
        uploads.delete_file(old)
    db.session.flush()
    activity.record(file.lesson.teacher, "upload")
    audit.record("lesson.file_upload", target=f"lesson:{file.lesson_id}", actor_id=file.uploader_id,
                 detail=f"file={file.id} kind={file.kind} size={file.size}")
    log.info("upload %s ready: %d bytes sha256=%s", file.id, file.size, file.sha256)
