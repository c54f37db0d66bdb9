"""Demo learning records: guardian consent for most pupils under 14, watch history, favourites and notes."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from ..accounts.consent import NOTICE_VERSION, current_consent, needs_consent
from ..accounts.models import GUARDIAN_RELATIONS, GuardianConsent, User
from ..activity import operations as activity
from ..china_time import local_day
from ..db import utcnow
from ..extensions import db
from ..lessons.models import Lesson
from ..lessons.permissions import visible_clause
from ..spaces.models import Space
from ..study.models import Favourite, LessonNote, WatchDay, WatchProgress

NOTES = ["这里的例题要再做一遍。", "老师讲的画图方法很清楚。", "不太懂第二种解法，明天问老师。", "记住：先审题，再列式。"]


def seed(rng) -> int:
    """Record guardian consent for most demo students under 14, and give some watch history, favourites and notes.

    Rows are added directly, backdated over the last weeks (the operations record the present moment).
    Each part runs only while the demo has none of its rows yet, so running the demo again adds nothing
    (and the pupils left without consent stay in restricted mode).
    """
    give_consents = not db.session.scalar(select(func.count(GuardianConsent.id)))
    give_records = not db.session.scalar(select(func.count(WatchProgress.id)))
    students = list(db.session.scalars(
        select(User).join(Space, Space.owner_id == User.id).where(User.role == "student")
        .order_by(User.id).limit(40)))
    now = utcnow()
    touched = 0
    admins = {a.school_id: a.id for a in db.session.scalars(select(User).where(User.role == "school_admin"))}
    for student in (students if give_consents else []):
        if needs_consent(student) and current_consent(student) is None and \
                db.session.scalar(select(GuardianConsent.id).where(GuardianConsent.student_id == student.id)) is None \
                and rng.random() < 0.7:  # the rest stay in restricted mode, as in a real school
            db.session.add(GuardianConsent(
                student_id=student.id, guardian_name=student.real_name[:1] + rng.choice(["建国", "丽华", "志强", "秀英"]),
                relation=rng.choice(GUARDIAN_RELATIONS[:2]), notice_version=NOTICE_VERSION,
                given_dt=now - timedelta(days=rng.randint(3, 40)), recorded_by_id=admins.get(student.school_id)))
    for student in (students if give_records else []):
        if rng.random() < 0.4:
            continue
        lessons = list(db.session.scalars(select(Lesson).where(visible_clause(student)).order_by(Lesson.id)
                                          .limit(20)))
        if not lessons:
            continue
        for lesson in rng.sample(lessons, min(len(lessons), rng.randint(1, 3))):
            if db.session.scalar(select(WatchProgress.id).where(WatchProgress.user_id == student.id,
                                                                 WatchProgress.lesson_id == lesson.id)):
                continue  # running the demo again adds nothing
            recording = lesson.ready_file("recording")
            length = (recording.duration_seconds if recording and recording.duration_seconds else 2400.0)
            days_ago = rng.randint(0, 9)
            at = now - timedelta(days=days_ago, hours=rng.randint(0, 6))
            watched = rng.uniform(0.2, 1.0) * length
            db.session.add(WatchProgress(user_id=student.id, lesson_id=lesson.id, position_seconds=watched,
                                         duration_seconds=length, is_finished=watched >= length - 5,
                                         started_dt=at - timedelta(seconds=watched), updated_dt=at))
            db.session.add(WatchDay(user_id=student.id, lesson_id=lesson.id, day=local_day(at), seconds=watched))
            activity.record(student, "watch", at)
            if rng.random() < 0.5:
                db.session.add(Favourite(user_id=student.id, lesson_id=lesson.id, created_dt=at))
            if rng.random() < 0.4:
                db.session.add(LessonNote(user_id=student.id, lesson_id=lesson.id, visibility="private",
                                          body=rng.choice(NOTES),
                                          position_seconds=rng.uniform(0, watched), created_dt=at, updated_dt=at))
                activity.record(student, "note", at)
            touched += 1
    db.session.flush()
    return touched
