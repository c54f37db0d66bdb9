"""Download and deletion of a person's data: the requests (from the web pages) and the jobs that carry them out.

Decisions (README, "个人信息：下载与注销"):
- An export is a zip written by the worker straight into MinIO (storage.ObjectWriter: one part in memory),
  downloadable for EXPORT_DAYS through short-lived signed links (LEARNSPACE_PRESIGN_SECONDS); then the
  worker removes it.
- The ID card is in the zip only masked: the zip sits in object storage for days and travels by link; the
  person knows their own number, and an admin in scope can show the full one (audited, idcard.reveal).
- Deletion is confirmed by the person's password (or, for a school admin acting for a guardian, by typing
  the person's name), then waits COOLING_OFF_HOURS, during which it can be withdrawn, and runs as a job.
"""
from __future__ import annotations

import json
import logging
import os
import secrets
import zipfile
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..accounts import consent
from ..accounts import operations as accounts
from ..accounts.models import User
from ..audit import operations as audit
from ..db import utcnow
from ..errors import Conflict, NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..jobs import Permanent, enqueue, handler, state_of
from ..storage import ObjectWriter, get_storage
from ..storage.delivery import presigned_get_url
from . import collect, erase
from .models import PrivacyRequest

log = logging.getLogger(__name__)

#: the zip can be downloaded this long, then the worker removes it
EXPORT_DAYS = 7
#: default wait between a confirmed deletion request and its execution (PRIVACY_COOLING_OFF_HOURS overrides)
COOLING_OFF_HOURS = 72
EXPORT_PREFIX = "privacy/exports/"
#: roles whose data a person (or an admin for them) can have deleted here; admin accounts are handled by
#: the admins above them (disable), so no region or school loses its last administrator this way
DELETABLE_ROLES = ("student", "teacher", "reviewer")
BLOCK = 1024 * 1024


def cooling_off() -> timedelta:
    """Return the configured wait before a deletion runs (LEARNSPACE_PRIVACY_COOLING_OFF_HOURS, 72)."""
    hours = current_app.config.get("PRIVACY_COOLING_OFF_HOURS",
                                   os.environ.get("LEARNSPACE_PRIVACY_COOLING_OFF_HOURS", COOLING_OFF_HOURS))
    return timedelta(hours=max(0.0, float(hours)))


def _check_self(subject: User, by: User) -> str:
    if by.id == subject.id:
        if consent.needs_consent(subject):
            raise PermissionDenied("未满 14 周岁的学生，请由监护人联系学校管理员办理")
        return "self"
    return "admin"  # the caller checked the admin's scope (accounts.scope.require_person)


def _job_failed(req: PrivacyRequest) -> bool:
    """Tell whether the job of a pending or running request failed for good (the admin job page can retry it)."""
    if req.state not in ("pending", "running"):
        return False
    job = state_of(f"privacy:{req.id}")
    return job is not None and job.state == "failed"


def requests_of(subject: User) -> list[PrivacyRequest]:
    """Return the person's requests, newest first; ``job_failed`` marks those whose job gave up."""
    found = list(db.session.scalars(select(PrivacyRequest).where(PrivacyRequest.subject_id == subject.id)
                                    .order_by(PrivacyRequest.id.desc())))
    for req in found:
        req.job_failed = _job_failed(req)
    return found


def _live(subject: User, kind: str) -> bool:
    return any(r.kind == kind and r.state in ("pending", "running") and not r.job_failed
               for r in requests_of(subject))


def get_request(request_id: int, subject: User) -> PrivacyRequest:
    """Return one of *subject*'s requests, or raise NotFound."""
    req = db.session.get(PrivacyRequest, request_id)
    if req is None or req.subject_id != subject.id:
        raise NotFound("没有找到这个申请")
    return req


def request_export(subject: User, by: User) -> PrivacyRequest:
    """Queue the making of a zip of all the person's data; the worker builds it."""
    via = _check_self(subject, by)
    if _live(subject, "export"):
        raise Conflict("数据包正在准备中，完成后即可下载，请稍候刷新页面")
    req = PrivacyRequest(kind="export", subject_id=subject.id, requested_by_id=by.id, via=via, state="pending")
    db.session.add(req)
    db.session.flush()
    enqueue("privacy.export", {"request_id": req.id}, dedupe_key=f"privacy:{req.id}")
    audit.record("privacy.export_request", target=f"user:{subject.id}", detail=f"request={req.id} via={via}")
    return req


def request_deletion(subject: User, by: User, *, password: str = "", confirm_name: str = "") -> PrivacyRequest:
    """Record a confirmed deletion request; it runs after the cooling-off unless withdrawn."""
    via = _check_self(subject, by)
    if subject.role not in DELETABLE_ROLES:
        raise PermissionDenied("管理员账号不能在这里注销，请由上级管理员停用")
    if via == "self" and subject.password_hash:
        if not accounts.password_confirms(subject, password):
            audit.record_denied("privacy.delete_request", target=f"user:{subject.id}", detail="wrong password")
            raise ValidationError("密码不正确，请输入您当前的登录密码以确认注销")
    elif (confirm_name or "").strip() != subject.real_name:
        raise ValidationError(f"请输入{'您的' if via == 'self' else '此人的'}姓名“{subject.real_name}”以确认注销")
    if _live(subject, "delete"):
        raise Conflict("已有一个注销申请在等待执行")
    run_after = utcnow() + cooling_off()
    req = PrivacyRequest(kind="delete", subject_id=subject.id, requested_by_id=by.id, via=via, state="pending",
                         run_after_dt=run_after)
    db.session.add(req)
    db.session.flush()
    enqueue("privacy.delete", {"request_id": req.id}, run_after=run_after, dedupe_key=f"privacy:{req.id}")
    audit.record("privacy.delete_request", target=f"user:{subject.id}", detail=f"request={req.id} via={via}")
    return req


def cancel_deletion(req: PrivacyRequest, by: User) -> PrivacyRequest:
    """Withdraw a deletion still in its cooling-off; its queued job then does nothing."""
    if req.kind != "delete" or req.state != "pending":
        raise Conflict("只有等待执行的注销申请可以撤销")
    # A conditional UPDATE: if the worker has just started the deletion (it holds the row), this waits for
    # it and then matches nothing, instead of writing "cancelled" over a deletion that happened.
    changed = db.session.execute(
        update(PrivacyRequest).where(PrivacyRequest.id == req.id, PrivacyRequest.state == "pending")
        .values(state="cancelled", finished_dt=utcnow()).execution_options(synchronize_session=False)).rowcount
    if changed != 1:
        raise Conflict("注销已开始执行，无法撤销")
    db.session.expire(req)
    audit.record("privacy.delete_cancel", target=f"user:{req.subject_id}", detail=f"request={req.id}")
    return req


def download_url(req: PrivacyRequest) -> str:
    """Return a short-lived link to the finished zip, and audit the download."""
    if req.kind != "export" or req.state != "done" or not req.object_key:
        raise Conflict("数据包尚未准备好或已过期，请重新申请")
    if req.expires_dt is not None and req.expires_dt <= utcnow():
        raise Conflict("数据包已过期，请重新申请")
    audit.record("privacy.export_download", target=f"user:{req.subject_id}", detail=f"request={req.id}")
    # Each click on 下载 signs a new link, as short-lived as playback links: the browser follows it at once.
    return presigned_get_url(req.object_key, expires_seconds=current_app.config["LEARNSPACE"].presign_seconds,
                             download_name=f"个人数据-{req.created_dt:%Y%m%d}-{req.id}.zip",
                             content_type="application/zip")


# --- the jobs ---------------------------------------------------------------------------------------

README_TEXT = """个人数据导出
============
data.json     您在平台上的全部记录，按数据表分组（tables），时间均为 UTC。
              person：您的账号信息；身份证号只显示遮盖后的形式（完整号码可请学校管理员核验后查看，查看会被记录）。
              密码、激活码、登录令牌只以不可逆的哈希保存，不在导出中。
files/        您的课例文件、封面图和照片（与平台保存的文件逐字节相同）。
"""


def _profile(user: User) -> dict:
    school = user.school
    return {"id": user.id, "real_name": user.real_name, "role": user.role_name,
            "school": school.name if school else None, "school_code": school.code if school else None,
            "student_number": user.student_number, "teacher_number": user.teacher_number,
            "id_card_masked": user.id_card_masked, "grade": user.grade, "class_name": user.class_name,
            "login_name": user.login_name}


def _write_zip(key: str, document: bytes, files: list[collect.StoredFile]) -> int:
    storage = get_storage()
    out = ObjectWriter(key, "application/zip")
    try:
        with zipfile.ZipFile(out, "w", allowZip64=True) as zf:
            zf.writestr("README.txt", README_TEXT, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr("data.json", document, compress_type=zipfile.ZIP_DEFLATED)
            for f in files:
                # Recordings are compressed already: stored as they are, streamed block by block.
                with zf.open(zipfile.ZipInfo(f.path, date_time=(2026, 1, 1, 0, 0, 0)), "w", force_zip64=True) as dst:
                    for block in storage.iter_object(f.key, BLOCK):
                        dst.write(block)
        out.close()
    except BaseException:
        out.abort()
        raise
    return out.size


@handler("privacy.export", max_attempts=3, lease_seconds=1800)
def export_job(payload: dict) -> None:
    """Build the zip of one person's data in MinIO (idempotent: a retry replaces a half-written attempt)."""
    req = db.session.get(PrivacyRequest, payload["request_id"])
    if req is None or req.state not in ("pending", "running"):
        return
    subject = db.session.get(User, req.subject_id) if req.subject_id else None
    if subject is None:
        raise Permanent("此人的数据已被删除，无法导出")
    document = {"format": "learnspace-personal-data/1", "exported_dt": utcnow().isoformat(),
                "person": _profile(subject), "tables": collect.gather(subject.id)}
    files = collect.files_of(subject.id)
    document["files"] = [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in files]
    body = json.dumps(document, ensure_ascii=False, indent=1).encode()
    request_id = req.id
    req.state = "running"
    db.session.commit()  # the page shows 处理中; the slow part below holds no transaction (SQLite: no write lock)
    storage = get_storage()
    prefix = f"{EXPORT_PREFIX}{request_id}/"
    storage.remove_many(storage.list_keys(prefix))  # a crashed earlier try's zip
    key = f"{prefix}{secrets.token_hex(16)}.zip"
    missing = [f.path for f in files if not storage.exists(f.key)]
    if missing:
        files = [f for f in files if f.path not in missing]
    size = _write_zip(key, body, files)
    req = db.session.get(PrivacyRequest, request_id)
    if req is None or req.subject_id is None:  # the person was deleted meanwhile: their zip must not stay
        storage.remove_many([key])
        return
    now = utcnow()
    req.state, req.object_key, req.size, req.finished_dt = "done", key, size, now
    req.expires_dt = now + timedelta(days=EXPORT_DAYS)
    req.detail = f"rows={sum(len(v) for v in document['tables'].values())} files={len(files)} missing={len(missing)}"
    enqueue("privacy.expire", {"request_id": request_id}, run_after=req.expires_dt,
            dedupe_key=f"privacy-expire:{request_id}")
    audit.record("privacy.export_ready", target=f"user:{req.subject_id}", detail=f"request={request_id} {req.detail}",
                 actor_id=None)
    log.info("privacy export %s: %s bytes", request_id, size)


@handler("privacy.expire", max_attempts=5, lease_seconds=300)
def expire_job(payload: dict) -> None:
    """Remove an export's zip once its download time is over."""
    req = db.session.get(PrivacyRequest, payload["request_id"])
    if req is None or req.state != "done" or req.kind != "export":
        return
    get_storage().remove_many(get_storage().list_keys(f"{EXPORT_PREFIX}{req.id}/"))
    req.state, req.object_key = "expired", None
    audit.record("privacy.export_expired", target=f"privacy_request:{req.id}", actor_id=None)


@handler("privacy.delete", max_attempts=5, lease_seconds=3600)
def delete_job(payload: dict) -> None:
    """Delete a person's data once the cooling-off is over (idempotent: a retry finishes what is left)."""
    # Locked for the whole deletion: a withdrawal at this moment waits, then finds it no longer pending.
    req = db.session.get(PrivacyRequest, payload["request_id"], with_for_update=True)
    if req is None or req.state not in ("pending", "running"):
        return
    if req.run_after_dt > utcnow():
        raise Permanent("冷静期尚未结束")  # never happens from the queue: the job's run_after is the same time
    subject = db.session.get(User, req.subject_id) if req.subject_id else None
    if subject is None:
        req.state, req.finished_dt = "done", utcnow()
        return
    user_id = subject.id
    counts = erase.erase_person(subject)
    req = db.session.get(PrivacyRequest, payload["request_id"])
    req.state, req.finished_dt = "done", utcnow()
    req.detail = " ".join(f"{k}={v}" for k, v in sorted(counts.items()))[:500]
    audit.record("privacy.delete_done", target=f"user:{user_id}", detail=f"request={req.id} {req.detail}"[:500],
                 actor_id=None)
    log.info("privacy deletion %s done", req.id)
