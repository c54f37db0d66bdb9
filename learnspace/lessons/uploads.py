"""The resumable upload of a lesson file: start, chunks, complete, abort, delete.

How the bytes travel: each chunk is streamed into its own MinIO object under
``uploads/<file_id>/<index>`` (never the teacher's file name); on completion
MinIO joins them server-side (compose) into ``lessons/<lesson_id>/files/<uuid>``,
which is then read back once in blocks to check its size and SHA-256 (whole
file, and every chunk against what was received) and sniffed for its real type.
Memory stays at a few blocks whatever the file size.

Consistency rules:
- the row exists (status "uploading") before the first byte is stored, and is
  "ready" only after the object is verified;
- objects of a row that is deleted are removed *after* the deletion commits,
  so no ready row ever points at a removed object (a failure in between
  leaves an orphan, which ``learnspace reconcile`` removes);
- a refused or failed upload removes all its objects at once.

Long storage work (streaming a chunk, composing and hashing gigabytes) needs
no database: each step comes in three parts (``accept_chunk``/``store_chunk``
/``record_chunk`` and ``begin_complete``/``verify_upload``/``finish_complete``)
so the web layer can commit between them and not hold a transaction open
for minutes. ``receive_chunk`` and ``complete_upload`` run the three in a row.
"""
from __future__ import annotations

import hashlib
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from ..accounts.models import User
from ..activity import operations as activity
from ..audit import operations as audit
from ..db import utcnow
from ..errors import Conflict, LearnSpaceError, NotFound, ValidationError
from ..extensions import db
from ..storage import StorageError, get_storage
from ..storage.backends import BLOCK_SIZE, MAX_PARTS, MIN_PART_BYTES
SourceStreamError = ValueError
from ..storage.delivery import clean_name
from . import media, sniff
from .models import PART_KINDS, Lesson, LessonFile, UploadChunk
from .owner_space import owner_space

log = logging.getLogger(__name__)

CHUNK_PREFIX = "uploads/"
FILE_PREFIX = "lessons/"
#: subtitles are text: a few MiB is already hours of them
SUBTITLE_MAX_BYTES = 5 * 1024 * 1024
#: statuses whose bytes count against the space quota
COUNTED_STATUSES = ("uploading", "verifying", "ready")
#: media facts media.inspect fills in, copied from the probe onto the row
MEDIA_FIELDS = ("duration_seconds", "width", "height", "video_codec", "audio_codec", "poster_key",
                "is_showcase_eligible", "ineligible_reason")


class TooLarge(LearnSpaceError):
    status_code = 413


class QuotaExceeded(LearnSpaceError):
    status_code = 507


class UploadRefused(ValidationError):
    """The bytes were refused: the file is now marked failed and its objects are gone.

    Commit before answering, so the failed status and its reason are kept.
    """

    def __init__(self, message: str, file: LessonFile):
        super().__init__(message)
        self.file = file


# --- keys, limits, quota ---------------------------------------------------------------------------------------

def chunk_key(file_id: int, index: int) -> str:
    """Return the MinIO key of one chunk of an upload."""
    return f"{CHUNK_PREFIX}{file_id}/{index:05d}"


def chunk_prefix(file_id: int) -> str:
    return f"{CHUNK_PREFIX}{file_id}/"


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
    """Return the bytes a teacher's files take or are about to take (ready and unfinished uploads)."""
    total = db.session.scalar(
        select(func.coalesce(func.sum(LessonFile.size), 0))
        .join(Lesson, Lesson.id == LessonFile.lesson_id)
        .where(Lesson.teacher_id == teacher.id, LessonFile.status.in_(COUNTED_STATUSES)))
    return int(total or 0)


def chunk_size_for(size: int) -> int:
    """Return the chunk size for a file: the configured one, larger when it would need over 10,000 parts."""
    chunk = current_app.config["LEARNSPACE"].upload_chunk_bytes
    if -(-size // chunk) > MAX_PARTS:
        mib = 1024 * 1024
        chunk = -(-size // (MAX_PARTS * mib)) * mib  # whole MiB, at most MAX_PARTS chunks
    return max(chunk, MIN_PART_BYTES)


def expected_chunk_length(file: LessonFile, index: int) -> int:
    """Return how many bytes chunk *index* must have: chunk_size, except the last one."""
    return min(file.chunk_size, file.size - index * file.chunk_size)


def human_size(size: int) -> str:
    """Format a byte count the way the UI shows it (1.5 GB, 20 MB, 300 KB)."""
    for unit, factor in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= factor:
            value = size / factor
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size} 字节"


# --- start -----------------------------------------------------------------------------------------------------

def start_upload(lesson: Lesson, kind: str, filename: str, size: int, uploader: User) -> LessonFile:
    """Create the row of a new upload (status "uploading") after checking kind, name, size and quota."""
    if kind not in PART_KINDS:
        raise ValidationError(f"不支持的文件类别“{kind}”，应为：{'、'.join(PART_KINDS.values())}")
    name = _fit_name(clean_name(filename or ""))
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValidationError("文件大小无效")
    if size == 0:
        raise ValidationError("文件是空的（0 字节），请选择有内容的文件。")
    try:
        sniff.declared_type(kind, name)
    except sniff.Refused as exc:
        raise ValidationError(exc.message) from None
    limit = size_limit(kind)
    if size > limit:
        raise TooLarge(f"文件大小 {human_size(size)} 超过了{PART_KINDS[kind]}的上限 {human_size(limit)}。")
    teacher = lesson.teacher
    owner_space().lock(teacher)
    used, quota = used_bytes(teacher), quota_bytes(teacher)
    if used + size > quota:
        raise QuotaExceeded(f"空间容量不足：已用 {human_size(used)}，共 {human_size(quota)}，"
                            f"本文件 {human_size(size)}。请删除不需要的文件后再上传。")
    file = LessonFile(lesson_id=lesson.id, kind=kind, object_key=_new_object_key(lesson.id), original_name=name,
                      size=size, chunk_size=chunk_size_for(size), status="uploading",
                      uploader_id=uploader.id if uploader is not None else None)
    db.session.add(file)
    db.session.flush()
    log.info("upload %s started: lesson %s %s, %d bytes in %d chunks", file.id, lesson.id, kind, size,
             file.chunk_count)
    return file


def _fit_name(name: str, limit: int = 255) -> str:
    if len(name) <= limit:
        return name
    stem, dot, ext = name.rpartition(".")
    return (stem[:limit - len(ext) - 1] + "." + ext) if dot and len(ext) < 20 else name[:limit]


# --- chunks ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ChunkTarget:
    """Where one accepted chunk goes; plain values, so storing it needs no database."""

    file_id: int
    index: int
    key: str
    length: int


@dataclass(frozen=True)
class StoredChunk:
    sha256: str
    head: bytes


class _HeadKeeper:
    """Pass a stream through, keeping a copy of its first bytes for sniffing."""

    def __init__(self, stream: BinaryIO, keep: int):
        self._stream, self._keep = stream, keep
        self.head = bytearray()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if len(self.head) < self._keep:
            self.head += data[:self._keep - len(self.head)]
        return data


def accept_chunk(file: LessonFile, index: int, length: int) -> ChunkTarget:
    """Check that chunk *index* of *length* bytes fits this upload, and forget any earlier copy of it."""
    _require_uploading(file)
    count = file.chunk_count
    if not 0 <= index < count:
        raise ValidationError(f"分块序号 {index} 超出范围：这个文件共 {count} 块，序号从 0 到 {count - 1}。")
    expected = expected_chunk_length(file, index)
    if length != expected:
        raise ValidationError(f"第 {index} 块应为 {expected} 字节，实际为 {length} 字节。"
                              f"请按 {file.chunk_size} 字节分块（最后一块可以较短）。")
    # A chunk sent again replaces the first copy: drop its row now, so a resend that breaks
    # off half-way leaves the chunk "missing" (and resent) rather than recorded with the wrong bytes.
    old = db.session.scalar(select(UploadChunk).where(UploadChunk.file_id == file.id, UploadChunk.index == index))
    if old is not None:
        db.session.delete(old)
        db.session.flush()
    return ChunkTarget(file.id, index, chunk_key(file.id, index), length)


def store_chunk(target: ChunkTarget, stream: BinaryIO, sha256: str | None = None) -> StoredChunk:
    """Stream one chunk into storage (no database needed) and check it against the sender's SHA-256."""
    storage = get_storage()
    keeper = _HeadKeeper(stream, sniff.HEAD_BYTES if target.index == 0 else 0)
    try:
        digest = storage.put_stream(target.key, keeper, target.length)
    except SourceStreamError:
        raise ValidationError(f"第 {target.index} 块没有传完整（连接中断），请重新发送这一块。") from None
    if sha256 is not None and sha256.strip().lower() != digest:
        storage.delete(target.key)
        raise ValidationError(f"第 {target.index} 块的 SHA-256 校验不符，数据在传输中损坏，请重新发送这一块。")
    return StoredChunk(digest, bytes(keeper.head))


def record_chunk(target: ChunkTarget, stored: StoredChunk) -> UploadChunk:
    """Record a stored chunk; the first chunk is sniffed, and a refused file fails at once (UploadRefused)."""
    file = db.session.get(LessonFile, target.file_id, with_for_update=True, populate_existing=True)
    if file is None or file.status != "uploading":
        # Aborted, failed or completed while the bytes were on their way: do not leave them behind.
        _remove_now(keys=[target.key])
        raise Conflict("这个上传已取消或已结束，该分块没有保存。")
    if target.index == 0:
        try:
            sniff.check_head(file.kind, file.original_name, stored.head)
        except sniff.Refused as exc:
            fail_upload(file, exc.message)
            raise UploadRefused(exc.message, file) from None
    chunk = db.session.scalar(select(UploadChunk).where(UploadChunk.file_id == file.id,
                                                        UploadChunk.index == target.index))
    if chunk is None:
        chunk = UploadChunk(file_id=file.id, index=target.index)
        db.session.add(chunk)
    chunk.size, chunk.sha256, chunk.created_dt = target.length, stored.sha256, utcnow()
    db.session.flush()
    return chunk


def receive_chunk(file: LessonFile, index: int, stream: BinaryIO, length: int,
                  sha256: str | None = None) -> UploadChunk:
    """Store chunk *index* (exactly *length* bytes of *stream*); sending a chunk again replaces it."""
    target = accept_chunk(file, index, length)
    return record_chunk(target, store_chunk(target, stream, sha256))


def received_indexes(file: LessonFile) -> list[int]:
    """Return the indexes of the chunks received so far, in order."""
    return list(db.session.scalars(select(UploadChunk.index).where(UploadChunk.file_id == file.id)
                                   .order_by(UploadChunk.index)))


def _require_uploading(file: LessonFile) -> None:
    if file.status == "uploading":
        return
    if file.status == "failed":
        raise Conflict(f"这个上传已失败：{file.failure_reason or '原因未知'}。请重新上传该文件。")
    if file.status == "verifying":
        raise Conflict("文件已全部上传，正在校验，不能再修改。")
    raise Conflict("文件已上传完成，不能再修改；如需替换，请重新上传。")


# --- complete --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CompletePlan:
    """What verifying one upload needs; plain values, so the storage work runs without a transaction."""

    file_id: int
    lesson_id: int
    kind: str
    original_name: str
    object_key: str
    size: int
    chunks: tuple[tuple[str, int, str], ...]  # (key, size, sha256) in order
    expected_sha256: str | None


@dataclass(frozen=True)
class Verdict:
    """The outcome of verify_upload: a refusal reason, or the facts of a good object."""

    reason: str | None = None
    sha256: str | None = None
    type_name: str | None = None
    media: dict | None = None


def begin_complete(file: LessonFile, expected_sha256: str | None = None) -> CompletePlan:
    """Check that every chunk is there and mark the file "verifying"; return what verification needs."""
    if file.status not in ("uploading", "verifying"):
        _require_uploading(file)
    chunks = {c.index: c for c in db.session.scalars(select(UploadChunk).where(UploadChunk.file_id == file.id))}
    missing = [i for i in range(file.chunk_count) if i not in chunks]
    if missing:
        shown = "、".join(str(i) for i in missing[:10]) + ("……" if len(missing) > 10 else "")
        raise Conflict(f"还有 {len(missing)} 块没有上传（序号 {shown}），请上传后再完成。", details=missing)
    for index, chunk in chunks.items():
        if chunk.size != expected_chunk_length(file, index):  # only a changed chunk_size could do this
            raise Conflict(f"第 {index} 块的大小不对，请重新上传这一块。", details=[index])
    if expected_sha256 is not None:
        expected_sha256 = expected_sha256.strip().lower()
        if len(expected_sha256) != 64 or any(ch not in "0123456789abcdef" for ch in expected_sha256):
            raise ValidationError("sha256 应为 64 位十六进制数字")
    file.status = "verifying"
    db.session.flush()
    return CompletePlan(file.id, file.lesson_id, file.kind, file.original_name, file.object_key, file.size,
                        tuple((chunk_key(file.id, i), chunks[i].size, chunks[i].sha256)
                              for i in range(file.chunk_count)),
                        expected_sha256)


def verify_upload(plan: CompletePlan) -> Verdict:
    """Join the chunks in storage, check size, SHA-256 and real type, probe a recording; no database needed.

    StorageError (MinIO unreachable) propagates: the chunks stay and the
    verification can be run again once storage is back.
    """
    storage = get_storage()
    started = time.perf_counter()
    try:
        info = storage.compose(plan.object_key, [key for key, _, _ in plan.chunks])
    except KeyError:
        return Verdict(reason="部分分块在存储中丢失，请重新上传该文件。")
    composed = time.perf_counter()
    if info.size != plan.size:
        return Verdict(reason=f"存储后的文件大小（{info.size} 字节）与声明的大小（{plan.size} 字节）不一致，"
                              "请重新上传。")
    try:
        digest, bad_chunk = _hash_object(storage, plan)
    except KeyError:
        return Verdict(reason="文件在校验过程中被删除。")
    hashed = time.perf_counter()
    if bad_chunk is not None:
        return Verdict(reason=f"第 {bad_chunk} 块在存储中的内容与上传时不一致，请重新上传该文件。")
    if plan.expected_sha256 and plan.expected_sha256 != digest:
        return Verdict(reason="文件的 SHA-256 与上传前计算的不一致，文件在传输中损坏，请重新上传。")
    try:
        type_name = sniff.check_object(plan.kind, plan.original_name, info.size,
                                       lambda offset, length: storage.read_range(plan.object_key, offset, length))
    except sniff.Refused as exc:
        return Verdict(reason=exc.message)
    sniffed = time.perf_counter()
    media = _probe_recording(plan, type_name) if plan.kind == "recording" else None
    log.info("upload %s verified in %.2f s: compose %.2f, sha-256 %.2f, sniff %.2f, media %.2f", plan.file_id,
             time.perf_counter() - started, composed - started, hashed - composed, sniffed - hashed,
             time.perf_counter() - sniffed)
    return Verdict(sha256=digest, type_name=type_name, media=media)


class _ChunkHashes:
    """Hash a stream chunk by chunk and note the first chunk whose SHA-256 differs from the expected one."""

    def __init__(self, chunks: tuple[tuple[str, int, str], ...]):
        self.chunks, self.index, self.bad = chunks, 0, None
        self.part, self.left = hashlib.sha256(), chunks[0][1]

    def feed(self, block: bytes) -> None:
        view = memoryview(block)
        while view and self.index < len(self.chunks):
            take = view[:self.left]
            self.part.update(take)
            view, self.left = view[len(take):], self.left - len(take)
            if self.left == 0:  # a chunk boundary
                if self.bad is None and self.part.hexdigest() != self.chunks[self.index][2]:
                    self.bad = self.index
                self.index += 1
                if self.index < len(self.chunks):
                    self.part, self.left = hashlib.sha256(), self.chunks[self.index][1]


def _hash_object(storage, plan: CompletePlan) -> tuple[str, int | None]:
    """Read the object once: its SHA-256, and the first chunk whose bytes differ from the received ones.

    The two hashes run side by side (hashlib releases the GIL on large blocks);
    one block is in flight at a time, so memory stays at two blocks.
    """
    whole, parts = hashlib.sha256(), _ChunkHashes(plan.chunks)
    with ThreadPoolExecutor(1) as pool:
        pending = None
        for block in storage.iter_object(plan.object_key, BLOCK_SIZE):
            if pending is not None:
                pending.result()
            pending = pool.submit(parts.feed, block)
            whole.update(block)
        if pending is not None:
            pending.result()
    return whole.hexdigest(), parts.bad


def _probe_recording(plan: CompletePlan, type_name: str) -> dict:
    """Run media.inspect on a stand-in row, so ffprobe and ffmpeg run without a database transaction."""
    probe = LessonFile(id=plan.file_id, lesson_id=plan.lesson_id, kind=plan.kind, object_key=plan.object_key,
                       original_name=plan.original_name, size=plan.size, content_type=sniff.content_type(type_name))
    try:
        media.inspect(probe)
    except StorageError:
        raise
    except Exception:  # a bug in probing must not lose a 4 GB recording: keep it, facts unknown
        log.exception("media inspection of file %s failed", plan.file_id)
        return {"is_showcase_eligible": None, "ineligible_reason": "无法读取视频信息"}
    return {name: getattr(probe, name) for name in MEDIA_FIELDS}


def finish_complete(plan: CompletePlan, verdict: Verdict) -> LessonFile:
    """Apply a verdict: the file becomes ready (replacing an older one of its kind) or failed, objects removed."""
    file = db.session.get(LessonFile, plan.file_id, with_for_update=True, populate_existing=True)
    poster = (verdict.media or {}).get("poster_key")
    if file is None or file.status != "verifying":
        # Aborted or deleted while verifying, or completed by a parallel request.
        if file is None or file.status != "ready" or file.object_key != plan.object_key:
            _remove_now(keys=[plan.object_key, poster], prefixes=[chunk_prefix(plan.file_id)])
        if file is None:
            raise NotFound("这个上传已被取消。")
        if file.status == "ready" and poster and poster != file.poster_key:
            _remove_now(keys=[poster])
        return file
    if verdict.reason:
        fail_upload(file, verdict.reason, extra_keys=[poster])
        return file
    file.sha256 = verdict.sha256
    file.content_type = sniff.content_type(verdict.type_name)
    for name, value in (verdict.media or {}).items():
        setattr(file, name, value)
    file.status, file.ready_dt, file.failure_reason = "ready", utcnow(), None
    for old in db.session.scalars(select(LessonFile).where(
            LessonFile.lesson_id == file.lesson_id, LessonFile.kind == file.kind,
            LessonFile.status == "ready", LessonFile.id != file.id)):
        delete_file(old)
    for chunk in list(file.chunks):
        db.session.delete(chunk)
    # A compose cut short by an outage left an incomplete multipart upload on this key; so may
    # a parallel complete of the same file still running (it then finds the file ready).
    _remove_after_commit(prefixes=[chunk_prefix(file.id)], incomplete=[file.object_key])
    db.session.flush()
    activity.record(file.lesson.teacher, "upload")
    audit.record("lesson.file_upload", target=f"lesson:{file.lesson_id}",
                 detail=f"file={file.id} kind={file.kind} size={file.size}")
    log.info("upload %s ready: %d bytes sha256=%s type=%s", file.id, file.size, file.sha256, verdict.type_name)
    return file


def complete_upload(file: LessonFile, expected_sha256: str | None = None) -> LessonFile:
    """Join, verify and sniff an upload whose chunks are all in; return it ready, or failed with the reason."""
    plan = begin_complete(file, expected_sha256)
    return finish_complete(plan, verify_upload(plan))


# --- failing, aborting, deleting -------------------------------------------------------------------------------

def fail_upload(file: LessonFile, reason: str, extra_keys: list[str | None] = ()) -> LessonFile:
    """Mark an upload failed with a reason for the teacher and remove every object it stored, now."""
    file.status, file.failure_reason = "failed", reason[:255]
    for chunk in list(file.chunks):
        db.session.delete(chunk)
    db.session.flush()
    _remove_now(keys=[file.object_key, file.poster_key, *extra_keys], prefixes=[chunk_prefix(file.id)])
    audit.record("lesson.file_upload", result="failure", target=f"lesson:{file.lesson_id}",
                 detail=f"file={file.id} kind={file.kind} {reason}")
    log.info("upload %s failed: %s", file.id, reason)
    return file


def abort_upload(file: LessonFile) -> None:
    """Cancel an unfinished (or failed) upload: its row goes, and its objects once that commits."""
    if file.status == "ready":
        raise Conflict("文件已上传完成；如需移除，请删除该文件。")
    delete_file(file)


def delete_file(file: LessonFile) -> None:
    """Delete a file's row; its objects (file, poster, chunks) are removed once the deletion commits."""
    _remove_after_commit(keys=[file.object_key, file.poster_key], prefixes=[chunk_prefix(file.id)])
    audit.record("lesson.file_delete", target=f"lesson:{file.lesson_id}",
                 detail=f"file={file.id} kind={file.kind} status={file.status}")
    db.session.delete(file)
    db.session.flush()
    log.info("file %s (%s, %s) deleted", file.id, file.kind, file.status)


# --- removing objects ------------------------------------------------------------------------------------------

_PENDING = "learnspace.uploads.remove_after_commit"


def _remove_now(keys=(), prefixes=()) -> None:
    """Remove objects at once; what cannot be removed now is an orphan for reconcile, not an error."""
    try:
        _remove(get_storage(), keys, prefixes)
    except StorageError as exc:
        log.warning("objects not removed (%s); learnspace reconcile will remove them", type(exc).__name__)


def _remove(storage, keys, prefixes, incomplete=()) -> None:
    """Remove objects and prefixes; abort multipart uploads left on file keys (a compose cut short)."""
    keys = [k for k in keys if k]
    for prefix in prefixes:
        keys.extend(storage.list_keys(prefix))
    storage.remove_many(keys)
    file_keys = {k for k in keys if k.startswith(FILE_PREFIX) and "/files/" in k} | set(incomplete)
    for key in sorted(file_keys):
        storage.remove_incomplete_uploads(key)


def _remove_after_commit(keys=(), prefixes=(), incomplete=()) -> None:
    pending = db.session.info.setdefault(_PENDING, {"storage": get_storage(), "keys": set(), "prefixes": set(),
                                                    "incomplete": set()})
    pending["keys"].update(k for k in keys if k)
    pending["prefixes"].update(prefixes)
    pending["incomplete"].update(incomplete)


@event.listens_for(Session, "after_commit")
def _remove_committed(session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    try:
        _remove(pending["storage"], sorted(pending["keys"]), sorted(pending["prefixes"]),
                sorted(pending["incomplete"]))
    except StorageError as exc:
        log.warning("%d objects of deleted files not removed (%s); learnspace reconcile will remove them",
                    len(pending["keys"]), type(exc).__name__)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session, previous_transaction) -> None:
    if previous_transaction.parent is None:  # the whole unit of work is undone, deletions included
        session.info.pop(_PENDING, None)


# --- what the API shows ----------------------------------------------------------------------------------------

def file_json(file: LessonFile, received: list[int] | None = None) -> dict:
    """Describe an upload for the JSON API and the upload script."""
    data = {"id": file.id, "lesson_id": file.lesson_id, "kind": file.kind, "filename": file.original_name,
            "status": file.status, "size": file.size, "chunk_size": file.chunk_size,
            "chunk_count": file.chunk_count, "sha256": file.sha256, "content_type": file.content_type,
            "failure_reason": file.failure_reason}
    if file.status in ("uploading", "verifying"):
        data["received"] = received_indexes(file) if received is None else received
    else:
        data["received"] = list(range(file.chunk_count)) if file.status == "ready" else []
    if file.kind == "recording" and file.status == "ready":
        data.update(duration_seconds=file.duration_seconds, width=file.width, height=file.height,
                    video_codec=file.video_codec, audio_codec=file.audio_codec,
                    is_showcase_eligible=file.is_showcase_eligible, ineligible_reason=file.ineligible_reason)
    return data
