"""Carry out a deletion: objects first (a failure retries the job), then rows, in the job's one transaction.

What goes and what stays is decided per table in inventory.py; the steps that need more than the
database's ON DELETE rules are here:
- the person's lessons are deleted through lessons.operations.delete_lesson (files, search outbox, audit),
  which takes their comments and others' study records of them along (FK cascades);
- others' replies to the person's comments are kept, as top-level comments of the lesson;
- export zips are removed, export requests deleted; the deletion request stays, unlinked (subject_id NULL);
- failed sign-ins counted against the person's login name are removed;
- the anonymous roll-up counts the person made are kept (activity.keep_counts_of_deleted);
- the users row goes, and with it (ON DELETE CASCADE) sessions, identities, codes, space, profile,
  follows, visits, study records, activity days, likes, reports and consents; actor columns of other rows
  (created_by_id …) become NULL (ON DELETE SET NULL). Sessions end as their rows go.
"""
from __future__ import annotations

from sqlalchemy import delete, func, select, update

from ..accounts import throttle
from ..accounts.models import User
from ..activity import operations as activity
from ..comments.models import Comment
from ..extensions import db
from ..lessons import operations as lessons
from ..lessons.models import Lesson, LessonFile
from ..spaces.models import TeacherProfile
from ..storage import get_storage
from .models import PrivacyRequest

EXPORT_PREFIX = "privacy/exports/"


def objects_of(user_id: int) -> tuple[list[str], list[tuple[str, str]]]:
    """Return the person's object keys (files, posters, photo, export zips) and unfinished uploads (key, id)."""
    storage = get_storage()
    keys: set[str] = set()
    uploads: set[tuple[str, str]] = set()
    lesson_ids = list(db.session.scalars(select(Lesson.id).where(Lesson.teacher_id == user_id)))
    for lesson_id in lesson_ids:
        keys.update(storage.list_keys(f"lessons/{lesson_id}/"))
    for f in db.session.scalars(select(LessonFile).where(LessonFile.lesson_id.in_(lesson_ids))):
        keys.update(k for k in (f.object_key, f.poster_key) if k)
        if f.upload_id and f.status in ("uploading", "failed"):
            uploads.add((f.object_key, f.upload_id))
    photo = db.session.scalar(select(TeacherProfile.photo_key).where(TeacherProfile.user_id == user_id))
    if photo:
        keys.add(photo)
    keys.update(storage.list_keys(f"spaces/{user_id}/"))
    for request_id in db.session.scalars(select(PrivacyRequest.id).where(PrivacyRequest.subject_id == user_id,
                                                                          PrivacyRequest.kind == "export")):
        keys.update(storage.list_keys(f"{EXPORT_PREFIX}{request_id}/"))
    return sorted(keys), sorted(uploads)


def erase_person(user: User) -> dict[str, int]:
    """Remove the person's objects and rows (the caller commits); return non-personal counts."""
    user_id = user.id
    storage = get_storage()
    keys, uploads = objects_of(user_id)
    for key, upload_id in uploads:
        storage.abort_incomplete_upload(key, upload_id)
    storage.remove_many(keys)  # StorageError: the job fails and is retried; no row was touched yet

    counts = {"objects": len(keys)}
    own_lessons = list(db.session.scalars(select(Lesson).where(Lesson.teacher_id == user_id)))
    for lesson in own_lessons:
        lessons.delete_lesson(lesson)
    counts["lessons"] = len(own_lessons)

    mine = select(Comment.id).where(Comment.author_id == user_id)
    counts["replies_kept"] = db.session.execute(
        update(Comment).where(Comment.parent_id.in_(mine), Comment.author_id != user_id)
        .values(parent_id=None).execution_options(synchronize_session=False)).rowcount
    counts["comments"] = db.session.execute(
        delete(Comment).where(Comment.author_id == user_id).execution_options(synchronize_session=False)).rowcount
    counts["exports"] = db.session.execute(
        delete(PrivacyRequest).where(PrivacyRequest.subject_id == user_id, PrivacyRequest.kind == "export")
        .execution_options(synchronize_session=False)).rowcount
    counts["activity_days"] = db.session.scalar(
        select(func.count()).select_from(db.metadata.tables["activity_days"])
        .where(db.metadata.tables["activity_days"].c.user_id == user_id))

    activity.keep_counts_of_deleted(user_id)
    if user.login_name:  # failed sign-ins are keyed by a hash of the login name: they go too
        throttle.clear_account(user.login_name)
    db.session.delete(user)
    db.session.flush()
    db.session.expire_all()  # rows removed by ON DELETE rules are not in the identity map's view
    return counts
