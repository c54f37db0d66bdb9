"""Find and repair drift between the lesson file rows and the objects in MinIO.

Four kinds of drift, each repaired in the safe direction:
- a ready row whose object is missing (or has the wrong size) → the row is marked failed with the reason;
- an object under ``lessons/`` or ``uploads/`` that no live row refers to → removed;
- an upload stuck in "uploading" or "verifying" with no progress for longer than the threshold → failed,
  its objects removed;
- an incomplete multipart upload in MinIO (a compose cut short) older than the threshold → aborted.

Objects younger than a short grace period are left alone: they may belong to
work in flight whose row is not committed yet (a poster being made, say).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from ..db import utcnow
from ..extensions import db
from ..storage import get_storage
from . import uploads
from .models import LessonFile, UploadChunk

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

    @property
    def changed(self) -> int:
        return (len(self.missing) + len(self.orphans) + len(self.stale_uploads) + len(self.multipart)
                + len(self.lost_posters))

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
            f"  MinIO 中未完成的分段上传：{len(self.multipart)} 个，{done}清除",
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
    stored = {obj.key: obj for prefix in (uploads.FILE_PREFIX, uploads.CHUNK_PREFIX)
              for obj in storage.list_objects(prefix)}
    _fail_ready_without_object(report, stored)
    _remove_orphans(report, stored, grace_cutoff, storage)
    # A compose cut short leaves one on the file's key; a ready file's key was cleaned before its last compose.
    unfinished_keys = db.session.scalars(select(LessonFile.object_key).where(LessonFile.status != "ready"))
    for upload in storage.list_incomplete_uploads(keys=list(unfinished_keys)):
        if upload.initiated_dt is None or upload.initiated_dt < cutoff:
            report.multipart.append(upload.key)
            if not dry_run:
                storage.abort_incomplete_upload(upload.key, upload.upload_id)
    db.session.flush()
    log.info("reconcile%s: %d ready files without object, %d orphans, %d stale uploads, %d multipart uploads",
             " (dry run)" if dry_run else "", len(report.missing), len(report.orphans), len(report.stale_uploads),
             len(report.multipart))
    return report


def _abort_stale_uploads(report: ReconcileReport, cutoff: datetime, older_than: timedelta) -> None:
    last_chunk = (select(UploadChunk.file_id, func.max(UploadChunk.created_dt).label("last"))
                  .group_by(UploadChunk.file_id).subquery())
    rows = db.session.execute(
        select(LessonFile, last_chunk.c.last).outerjoin(last_chunk, last_chunk.c.file_id == LessonFile.id)
        .where(LessonFile.status.in_(("uploading", "verifying"))).order_by(LessonFile.id)).all()
    hours = f"{older_than.total_seconds() / 3600:g}"
    for file, last in rows:
        activity = max(file.created_dt, _aware(last)) if last is not None else file.created_dt
        if activity < cutoff:
            report.stale_uploads.append(file.id)
            if not report.dry_run:
                uploads.fail_upload(file, f"上传超过 {hours} 小时没有进展，已自动清理，请重新上传。")


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
    live_uploads: set[str] = set()
    for file in db.session.execute(select(LessonFile.id, LessonFile.status, LessonFile.object_key,
                                          LessonFile.poster_key)):
        if file.status in ("uploading", "verifying"):
            live_uploads.add(uploads.chunk_prefix(file.id))
        if file.status != "failed":  # a failed upload's objects are meant to be gone
            referenced.update(k for k in (file.object_key, file.poster_key) if k)
    for key, obj in stored.items():
        if key in referenced or key.rsplit("/", 1)[0] + "/" in live_uploads:
            continue
        if obj.last_modified is not None and obj.last_modified >= grace_cutoff:
            continue  # may belong to work in flight whose row is not committed yet
        report.orphans.append(key)
    if report.orphans and not report.dry_run:
        storage.remove_many(report.orphans)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
