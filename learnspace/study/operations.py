"""Verbs of a learning record: report watch progress, resume, favourites, notes, the weekly summary.

Minutes watched are counted by the server, not believed from the browser: each report may add
at most the wall-clock time since the previous report (plus a little slack) and at most
``MAX_REPORT_SECONDS``; so a tampered player cannot claim hours in one request.
"""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.consent import current_consent, is_restricted, needs_consent
from ..accounts.models import User
from ..activity import operations as activity
from ..china_time import local_day
from ..db import utcnow
from ..errors import NotFound, PermissionDenied, ValidationError
from ..extensions import db
from ..lessons.models import Lesson
from ..lessons.permissions import can_view, visible_clause
from ..moderation.operations import check_text
from ..spaces.models import Space
from ..spaces.operations import is_following
from ..spaces.permissions import RESTRICTED_SHARE, are_classmates, can_share_notes, can_view_space, listed_to_classmates
from ..transactions import conflict_insert
from .models import NOTE_VISIBILITIES, Favourite, LessonNote, WatchDay, WatchProgress

#: the most playing time one progress report may add (the player reports every ~10 s)
MAX_REPORT_SECONDS = 60.0
#: extra seconds allowed over wall-clock time between two reports (network jitter)
SLACK_SECONDS = 5.0
#: a lesson counts as finished when the position is this close to the end; resume then starts over
FINISH_MARGIN_SECONDS = 5.0
#: positions before this are not worth a "continue from" offer
RESUME_MIN_SECONDS = 5.0
NOTE_MAX_CHARS = 2000


# --- watch progress ---------------------------------------------------------------------------

def _number(value, name: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name}应为数字") from None
    if not math.isfinite(number) or number < 0:
        raise ValidationError(f"{name}应为不小于 0 的数字")
    return number


def _upsert(model, keys: dict, add: dict, **insert_values) -> None:
    """Insert a row or add *add* to its numeric columns, in one statement (safe under concurrent reports)."""
    stmt = conflict_insert(model).values(**keys, **add, **insert_values)
    stmt = stmt.on_conflict_do_update(index_elements=list(keys),
                                      set_={k: getattr(model, k) + v for k, v in add.items()})
    db.session.execute(stmt)


def progress_of(user: User, lesson: Lesson) -> WatchProgress | None:
    """Return where *user* stopped in *lesson*, if they ever played it."""
    return db.session.scalar(select(WatchProgress).where(WatchProgress.user_id == user.id,
                                                         WatchProgress.lesson_id == lesson.id))


def record_progress(user: User, lesson: Lesson, position, duration=None, played=None,
                    at: datetime | None = None) -> WatchProgress:
    """Remember where *user* is in *lesson*'s recording and count the time played today."""
    if not can_view(user, lesson):
        raise NotFound("课程不存在，或您没有查看权限。")
    position = _number(position, "播放位置")
    if position is None:
        raise ValidationError("缺少播放位置")
    duration = _number(duration, "视频时长")
    played = _number(played, "播放时长") or 0.0
    recording = lesson.ready_file("recording")
    if recording is not None and recording.duration_seconds:
        duration = recording.duration_seconds  # the stored fact wins over what the browser says
    if duration:
        position = min(position, duration)
    at = at or utcnow()
    progress = progress_of(user, lesson)
    created = False
    if progress is None:
        progress = WatchProgress(user_id=user.id, lesson_id=lesson.id, position_seconds=position,
                                 duration_seconds=duration, started_dt=at, updated_dt=at)
        try:
            with db.session.begin_nested():
                db.session.add(progress)
            created = True
        except IntegrityError:  # two first reports at once (pause + pagehide): the other one won
            progress = progress_of(user, lesson)
            if progress is None:
                raise
    if created:
        allowed = MAX_REPORT_SECONDS  # the first report: no earlier one to measure from
    else:
        elapsed = max((at - progress.updated_dt).total_seconds(), 0.0)
        allowed = min(MAX_REPORT_SECONDS, elapsed + SLACK_SECONDS)
    counted = min(played, allowed)
    progress.position_seconds = position
    if duration:
        progress.duration_seconds = duration
    progress.is_finished = bool(progress.duration_seconds) and \
        position >= progress.duration_seconds - FINISH_MARGIN_SECONDS
    progress.updated_dt = at
    day = local_day(at)
    first_today = db.session.scalar(select(WatchDay.id).where(
        WatchDay.user_id == user.id, WatchDay.lesson_id == lesson.id, WatchDay.day == day)) is None
    _upsert(WatchDay, {"user_id": user.id, "lesson_id": lesson.id, "day": day}, {"seconds": counted})
    if first_today:
        activity.record(user, "watch", at)  # counted once per lesson and day, not per report
    db.session.flush()
    return progress


def resume_position(user: User | None, lesson: Lesson) -> float | None:
    """Return the second to continue *lesson* from, or None to start at the beginning."""
    if user is None:
        return None
    progress = progress_of(user, lesson)
    if progress is None or progress.is_finished or progress.position_seconds < RESUME_MIN_SECONDS:
        return None
    return progress.position_seconds


# --- favourites -----------------------------------------------------------------------------------

def is_favourite(user: User | None, lesson: Lesson) -> bool:
    """Tell whether *lesson* is among *user*'s favourites."""
    return user is not None and db.session.scalar(select(Favourite.id).where(
        Favourite.user_id == user.id, Favourite.lesson_id == lesson.id)) is not None


def add_favourite(user: User, lesson: Lesson) -> Favourite:
    """Keep *lesson* in *user*'s favourites; adding it again changes nothing."""
    if not can_view(user, lesson):
        raise NotFound("课程不存在，或您没有查看权限。")
    existing = db.session.scalar(select(Favourite).where(Favourite.user_id == user.id,
                                                         Favourite.lesson_id == lesson.id))
    if existing is not None:
        return existing
    favourite = Favourite(user_id=user.id, lesson_id=lesson.id)
    try:
        with db.session.begin_nested():
            db.session.add(favourite)
    except IntegrityError:  # a double click raced us
        return db.session.scalar(select(Favourite).where(Favourite.user_id == user.id,
                                                         Favourite.lesson_id == lesson.id))
    return favourite


def remove_favourite(user: User, lesson: Lesson) -> None:
    """Take *lesson* out of *user*'s favourites (no error when it was not there)."""
    favourite = db.session.scalar(select(Favourite).where(Favourite.user_id == user.id,
                                                          Favourite.lesson_id == lesson.id))
    if favourite is not None:
        db.session.delete(favourite)
        db.session.flush()


# --- notes ------------------------------------------------------------------------------------------

def _note_fields(user: User, body: str, visibility: str) -> tuple[str, str]:
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ValidationError("笔记内容不能为空")
    if len(text) > NOTE_MAX_CHARS:
        raise ValidationError(f"笔记不能超过 {NOTE_MAX_CHARS} 字（现在 {len(text)} 字）")
    visibility = visibility or "private"
    if visibility not in NOTE_VISIBILITIES:
        raise ValidationError("请选择笔记的可见范围：仅自己，或在我的空间展示")
    if visibility != "private" and not can_share_notes(user):
        raise ValidationError(RESTRICTED_SHARE)
    if visibility != "private":
        check_text(text, "笔记")  # others read shared notes: the blocked-word list applies, as to comments
    return text, visibility


def add_note(user: User, lesson: Lesson, body: str, visibility: str = "private", position=None) -> LessonNote:
    """Add *user*'s note on *lesson*; notes are private unless the person chooses otherwise."""
    if not can_view(user, lesson):
        raise NotFound("课程不存在，或您没有查看权限。")
    text, visibility = _note_fields(user, body, visibility)
    position = _number(position, "笔记位置")
    note = LessonNote(user_id=user.id, lesson_id=lesson.id, body=text, visibility=visibility,
                      position_seconds=position)
    db.session.add(note)
    db.session.flush()
    activity.record(user, "note")
    return note


def _own_note(user: User, note: LessonNote | None) -> LessonNote:
    if note is None or note.user_id != user.id:
        raise NotFound("笔记不存在")
    return note


def update_note(user: User, note: LessonNote | None, body: str, visibility: str) -> LessonNote:
    """Change the text or visibility of one of *user*'s own notes."""
    note = _own_note(user, note)
    note.body, note.visibility = _note_fields(user, body, visibility)
    db.session.flush()
    return note


def delete_note(user: User, note: LessonNote | None) -> None:
    """Delete one of *user*'s own notes."""
    db.session.delete(_own_note(user, note))
    db.session.flush()


def notes_on(user: User | None, lesson: Lesson) -> list[LessonNote]:
    """Return *user*'s own notes on *lesson*, oldest first (others' notes are never shown here)."""
    if user is None:
        return []
    return list(db.session.scalars(select(LessonNote).where(LessonNote.user_id == user.id,
                                                            LessonNote.lesson_id == lesson.id)
                                   .order_by(LessonNote.created_dt, LessonNote.id)))


# --- what a space shows -----------------------------------------------------------------------------

def week_of(day: date) -> tuple[date, date]:
    """Return the Monday and Sunday of *day*'s week."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def weekly_summary(user: User, at: datetime | None = None) -> dict:
    """Return lessons watched and minutes played in the current Asia/Shanghai week (Monday to Sunday)."""
    monday, sunday = week_of(local_day(at))
    lessons, seconds = db.session.execute(
        select(func.count(func.distinct(WatchDay.lesson_id)), func.coalesce(func.sum(WatchDay.seconds), 0.0))
        .where(WatchDay.user_id == user.id, WatchDay.day >= monday, WatchDay.day <= sunday)).one()
    last_monday = monday - timedelta(days=7)
    last_seconds = db.session.scalar(
        select(func.coalesce(func.sum(WatchDay.seconds), 0.0))
        .where(WatchDay.user_id == user.id, WatchDay.day >= last_monday, WatchDay.day < monday))
    return {"week_start": monday, "week_end": sunday, "lessons": int(lessons), "seconds": int(float(seconds)),
            "minutes": int(round(float(seconds) / 60)), "last_week_minutes": int(round(float(last_seconds) / 60))}


def _visible_to_both(owner: User, viewer: User | None):
    """Lessons both the owner and the viewer may see: a record never reveals a lesson hidden from its reader."""
    if viewer is not None and viewer.id == owner.id:
        return visible_clause(owner)
    return and_(visible_clause(owner), visible_clause(viewer))


def recent_progress(owner: User, viewer: User | None, limit: int = 8) -> list[WatchProgress]:
    """Return the lessons *owner* played most recently, newest first, limited to what *viewer* may see."""
    return list(db.session.scalars(
        select(WatchProgress).join(Lesson, Lesson.id == WatchProgress.lesson_id)
        .where(WatchProgress.user_id == owner.id, _visible_to_both(owner, viewer))
        .order_by(WatchProgress.updated_dt.desc(), WatchProgress.id.desc()).limit(limit)))


def favourites_of(owner: User, viewer: User | None, limit: int = 12) -> list[Favourite]:
    """Return *owner*'s favourite lessons, newest first, limited to what *viewer* may see."""
    return list(db.session.scalars(
        select(Favourite).join(Lesson, Lesson.id == Favourite.lesson_id)
        .where(Favourite.user_id == owner.id, _visible_to_both(owner, viewer))
        .order_by(Favourite.created_dt.desc(), Favourite.id.desc()).limit(limit)))


def notes_of(owner: User, viewer: User | None, limit: int = 10) -> list[LessonNote]:
    """Return *owner*'s newest notes: all of them to the owner, only the shared ones to others."""
    query = (select(LessonNote).join(Lesson, Lesson.id == LessonNote.lesson_id)
             .where(LessonNote.user_id == owner.id, _visible_to_both(owner, viewer)))
    if viewer is None or viewer.id != owner.id:
        query = query.where(LessonNote.visibility == "space")
    return list(db.session.scalars(query.order_by(LessonNote.created_dt.desc(), LessonNote.id.desc()).limit(limit)))


def classmates_to_follow(owner: User) -> list[dict]:
    """Return the owner's classmates with activated spaces who may be listed (none in restricted mode)."""
    if owner.role != "student" or not owner.grade or not owner.class_name or is_restricted(owner):
        return []

    rows = db.session.execute(
        select(User, Space.id).join(Space, Space.owner_id == User.id)
        .where(User.role == "student", User.school_id == owner.school_id, User.grade == owner.grade,
               User.class_name == owner.class_name, User.id != owner.id, User.is_disabled.is_(False))
        .order_by(User.real_name, User.id))
    return [{"user": person, "space_id": space_id, "is_following": is_following(owner, person)}
            for person, space_id in rows if are_classmates(owner, person) and listed_to_classmates(person)]


def student_space_context(owner: User, viewer: User | None) -> dict:
    """Return what the student part of *owner*'s space shows to *viewer* (who may already see the space).

    The owner sees everything; the school's teachers and admins see the learning record
    (summary, recent lessons, favourites, shared notes); classmates see favourites and shared
    notes. Private notes are never shown to anyone but the owner. (Follows are shown by the
    spaces domain's own part of the page.)
    """
    if viewer is None or not can_view_space(viewer, owner):
        raise PermissionDenied("该学生空间仅对本人、本校教师和管理员可见")
    is_owner = viewer.id == owner.id
    staff = not is_owner and viewer.role != "student"
    restricted = is_restricted(owner)
    context = {
        "owner": owner, "is_owner": is_owner, "restricted": restricted,
        "needs_consent": needs_consent(owner), "consent": current_consent(owner) if is_owner or staff else None,
        "summary": weekly_summary(owner) if is_owner or staff else None,
        "progress": recent_progress(owner, viewer) if is_owner or staff else None,
        "favourites": favourites_of(owner, viewer),
        "notes": notes_of(owner, viewer),
        "classmates": classmates_to_follow(owner) if is_owner else None,
        "can_share_notes": not restricted,
    }
    return context


def lesson_panel(user: User | None, lesson: Lesson) -> dict:
    """Return the learning part of a lesson page for *user*: resume point, favourite, own notes."""
    if user is None:
        return {"signed_in": False}
    return {"signed_in": True, "resume": resume_position(user, lesson), "is_favourite": is_favourite(user, lesson),
            "notes": notes_on(user, lesson), "can_share_notes": can_share_notes(user),
            "visibilities": NOTE_VISIBILITIES}
