"""Everything stored about one person: the rows (driven by the inventory's owner columns) and their files."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import or_, select

from ..extensions import db
from ..lessons.models import Lesson, LessonFile
from ..spaces.models import TeacherProfile
from .inventory import INVENTORY
from .models import PrivacyRequest

#: the zip's folder of files, and the longest piece of a user's file name kept in a path inside it
FILES_DIR = "files"
NAME_CHARS = 80


@dataclass(frozen=True)
class StoredFile:
    """One object of the person's in MinIO and where it goes in the zip."""

    key: str
    path: str
    size: int | None
    sha256: str | None = None


def _value(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    return value


def _rows(table_name: str, owner_columns, user_id: int) -> list[dict]:
    table = db.metadata.tables[table_name]
    spec = INVENTORY[table_name]
    wanted = [c for c in table.columns if c.name not in spec.secret]
    stmt = select(*wanted).where(or_(*(table.c[c] == user_id for c in owner_columns)))
    pk = list(table.primary_key.columns)
    return [{k: _value(v) for k, v in row._mapping.items()} for row in db.session.execute(stmt.order_by(*pk))]


def _safe(name: str) -> str:
    cleaned = "".join("_" if ch in '/\\:*?"<>|' or ord(ch) < 32 else ch for ch in name or "").strip(" .")
    return cleaned[-NAME_CHARS:] or "file"


def lesson_ids_of(user_id: int) -> list[int]:
    """Return the ids of every lesson the person teaches, any status."""
    return list(db.session.scalars(select(Lesson.id).where(Lesson.teacher_id == user_id).order_by(Lesson.id)))


def files_of(user_id: int) -> list[StoredFile]:
    """Return the person's stored objects: their lessons' files and posters, files they uploaded, their photo."""
    lesson_ids = lesson_ids_of(user_id)
    rows = db.session.scalars(select(LessonFile).where(
        or_(LessonFile.lesson_id.in_(lesson_ids), LessonFile.uploader_id == user_id),
        LessonFile.status.in_(("ready", "processing"))).order_by(LessonFile.id))
    out = []
    for f in rows:
        folder = f"{FILES_DIR}/lessons/{f.lesson_id}"
        out.append(StoredFile(f.object_key, f"{folder}/{f.id}-{f.kind}-{_safe(f.original_name)}", f.size, f.sha256))
        if f.poster_key:
            out.append(StoredFile(f.poster_key, f"{folder}/{f.id}-poster.jpg", None))
    profile = db.session.scalar(select(TeacherProfile).where(TeacherProfile.user_id == user_id))
    if profile is not None and profile.photo_key:
        ext = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}.get(profile.photo_content_type, "bin")
        out.append(StoredFile(profile.photo_key, f"{FILES_DIR}/photo.{ext}", None))
    return out


def gather(user_id: int) -> dict[str, list[dict]]:
    """Return table name → the person's rows (secrets such as hashes and ciphertext left out)."""
    data: dict[str, list[dict]] = {}
    for name, spec in sorted(INVENTORY.items()):
        if not spec.owner or name == "privacy_requests":
            continue
        data[name] = _rows(name, spec.owner, user_id)
    # A teacher's lessons' files (the uploader may be empty), not only the files they uploaded themselves.
    lesson_ids = lesson_ids_of(user_id)
    if lesson_ids:
        table = db.metadata.tables["lesson_files"]
        wanted = [c for c in table.columns if c.name not in INVENTORY["lesson_files"].secret]
        seen = {r["id"] for r in data["lesson_files"]}
        for row in db.session.execute(select(*wanted).where(table.c.lesson_id.in_(lesson_ids)).order_by(table.c.id)):
            if row.id not in seen:
                data["lesson_files"].append({k: _value(v) for k, v in row._mapping.items()})
    # What others did about them (an admin saw their ID card, moved them, reset a code): when and what, not who.
    audit = db.metadata.tables["audit_entries"]
    data["audit_entries_about_you"] = [
        {"created_dt": _value(r.created_dt), "action": r.action, "result": r.result}
        for r in db.session.execute(select(audit.c.created_dt, audit.c.action, audit.c.result)
                                    .where(audit.c.target == f"user:{user_id}").order_by(audit.c.id))]
    data["privacy_requests"] = [
        {"id": r.id, "kind": r.kind, "via": r.via, "state": r.state, "created_dt": _value(r.created_dt),
         "finished_dt": _value(r.finished_dt)}
        for r in db.session.scalars(select(PrivacyRequest).where(PrivacyRequest.subject_id == user_id)
                                    .order_by(PrivacyRequest.id))]
    return data
