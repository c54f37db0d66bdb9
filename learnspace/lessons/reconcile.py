"""Find and repair drift between the lesson file rows and the objects in MinIO.

Five kinds of drift, each repaired in the safe direction:
- a ready row whose object is missing (or has the wrong size) → the row is marked failed with the reason;
- an object under ``lessons/`` (or ``uploads/``, where the chunks of the protocol before multipart
  uploads were kept) that no live row refers to → removed;
- an upload still "uploading" after the threshold (MinIO itself drops multipart uploads after 24 hours)
  → failed, its multipart upload aborted;
- a file "verifying" or "processing" for longer than the threshold whose job the worker gave up on
  (or that has none) → its verification queued again;
- a multipart upload in MinIO that no uploading row owns (a start whose row never committed, a delete
  while MinIO was down), older than the threshold → aborted.

Objects younger than a short grace period are left alone: they may belong to
work in flight whose row is not committed yet (a poster being made, say).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from ..db import utcnow
from ..extensions import db
from ..jobs import state_of
from ..storage import get_storage
from . import uploads
from .models import LessonFile

log = logging.getLogger(__name__)

DEFAULT_OLDER_THAN = timedelta(hours=24)
#: unreferenced objects younger than this may belong to a request still running
ORPHAN_GRACE = timedelta(hours=1)
MISSING_REASON = "存储中找不到这个文件（可能已丢失），请重新上传。"
WRONG_SIZE_REASON = "存储中的文件大小与记录不符（文件可能已损坏），请重新上传。"


@dataclass
class ReconcileReport:
    dry_run: bool
    missing: list[int] = field(default_factory=list)           #: ready file ids marked failed
    orphans: list[str] = field(default_factory=list)           #: object keys removed
    stale_uploads: list[int] = field(default_factory=list)     #: upload file ids aborted
    multipart: list[str] = field(default_factory=list)         #: keys of incomplete multipart uploads aborted
    lost_posters: list[int] = field(default_factory=list)      #: file ids whose missing poster was forgotten
    requeued: list[int] = field(default_factory=list)          #: file ids whose verification was queued again

    @property
    def changed(self) -> int:
        return (len(self.missing) + len(self.orphans) + len(self.stale_uploads) + len(self.multipart)
                + len(self.lost_posters) + len(self.requeued))

    def lines(self) -> list[str]:
        """Describe what was (or, in a dry run, would be) done, in Chinese, with counts."""
        done = "将" if self.dry_run else "已"
        ids = lambda items: ("（" + "、".join(f"#{i}" for i in items[:20]) + ("……" if len(items) > 20 else "") + "）"
                             if items else "")
        return [
            "对账（演练模式，没有做任何修改）：" if self.dry_run else "对账完成：",
            f"  对象缺失的就绪文件：{len(self.missing)} 个，{done}标记为失败{ids(self.missing)}",
            f"  没有记录引用的对象：{len(self.orphans)} 个，{done}删除",
            f"  超时未完成的上传：{len(self.stale_uploads)} 个，{done}中止并清理{ids(self.stale_uploads)}",
            f"  后台校验未完成的文件：{len(self.requeued)} 个，{done}重新排队校验{ids(self.requeued)}",
            f"  MinIO 中无人认领的分段上传：{len(self.multipart)} 个，{done}清除",
            f"  丢失的封面图：{len(self.lost_posters)} 个，{done}从记录中移除{ids(self.lost_posters)}",
        ]


def reconcile(*, dry_run: bool = False, older_than: timedelta = DEFAULT_OLDER_THAN,
              orphan_grace: timedelta | None = None, now: datetime | None = None) -> ReconcileReport:
    """Repair drift between lesson file rows and stored objects; with dry_run, only report it.

    *older_than* applies to stale and incomplete uploads; unreferenced objects
    are removed once older than *orphan_grace* (default: the smaller of
    *older_than* and one hour).
    """
    now = now or utcnow()
    cutoff = now - older_than
    grace_cutoff = now - (min(older_than, ORPHAN_GRACE) if orphan_grace is None else orphan_grace)
    storage = get_storage()
    report = ReconcileReport(dry_run=dry_run)

    _abort_stale_uploads(report, cutoff, older_than)
    _requeue_stuck_verifications(report, cutoff)
    stored = {obj.key: obj for prefix in (uploads.FILE_PREFIX, uploads.LEGACY_CHUNK_PREFIX)
              for obj in storage.list_objects(prefix)}
    _fail_ready_without_object(report, stored)
    _remove_orphans(report, stored, grace_cutoff, storage)
    _abort_unowned_multipart(report, cutoff, storage)
    db.session.flush()
    log.info("reconcile%s: %d ready files without object, %d orphans, %d stale uploads, %d requeued, "
             "%d multipart uploads", " (dry run)" if dry_run else "", len(report.missing), len(report.orphans),
             len(report.stale_uploads), len(report.requeued), len(report.multipart))
    return report


def _abort_stale_uploads(report: ReconcileReport, cutoff: datetime, older_than: timedelta) -> None:
    hours = f"{older_than.total_seconds() / 3600:g}"
    for file in db.session.scalars(select(LessonFile).where(LessonFile.status == "uploading",
                                                            LessonFile.created_dt < cutoff).order_by(LessonFile.id)):
        report.stale_uploads.append(file.id)
        if not report.dry_run:
            uploads.fail_upload(file, f"上传超过 {hours} 小时未完成，已失效，请重新选择文件上传。")


def _requeue_stuck_verifications(report: ReconcileReport, cutoff: datetime) -> None:
    for file in db.session.scalars(select(LessonFile).where(LessonFile.status.in_(("verifying", "processing")),
                                                            LessonFile.created_dt < cutoff).order_by(LessonFile.id)):
        job = state_of(uploads.verify_job_key(file))
        if job is None or job.state == "failed":
            report.requeued.append(file.id)
            if not report.dry_run:
                uploads.request_verification(file)


def _abort_unowned_multipart(report: ReconcileReport, cutoff: datetime, storage) -> None:
    owned = {row.upload_id for row in db.session.execute(
        select(LessonFile.upload_id).where(LessonFile.status == "uploading"))}
    # MinIO lists bucket-wide only the uploads started since it last started; older ones by their exact key.
    keys = db.session.scalars(select(LessonFile.object_key).where(LessonFile.status.in_(("uploading", "failed"))))
    for upload in storage.list_incomplete_uploads(prefix=uploads.FILE_PREFIX, keys=list(keys)):
        if upload.upload_id in owned or (upload.initiated_dt is not None and upload.initiated_dt >= cutoff):
            continue
        report.multipart.append(upload.key)
        if not report.dry_run:
            storage.abort_incomplete_upload(upload.key, upload.upload_id)


def _fail_ready_without_object(report: ReconcileReport, stored: dict) -> None:
    for file in db.session.scalars(select(LessonFile).where(LessonFile.status == "ready").order_by(LessonFile.id)):
        obj = stored.get(file.object_key)
        if obj is None or obj.size != file.size:
            report.missing.append(file.id)
            if not report.dry_run:
                uploads.fail_upload(file, MISSING_REASON if obj is None else WRONG_SIZE_REASON)
        elif file.poster_key and file.poster_key not in stored:
            report.lost_posters.append(file.id)
            if not report.dry_run:
                file.poster_key = None


def _remove_orphans(report: ReconcileReport, stored: dict, grace_cutoff: datetime, storage) -> None:
    referenced: set[str] = set()
    for file in db.session.execute(select(LessonFile.status, LessonFile.object_key, LessonFile.poster_key)):
        if file.status != "failed":  # a failed upload's objects are meant to be gone
            referenced.update(k for k in (file.object_key, file.poster_key) if k)
    for key, obj in stored.items():
        if key in referenced:
            continue
        if obj.last_modified is not None and obj.last_modified >= grace_cutoff:
            continue  # may belong to work in flight whose row is not committed yet
        report.orphans.append(key)
    if report.orphans and not report.dry_run:
        storage.remove_many(report.orphans)
