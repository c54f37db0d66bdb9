"""The demo seed gives teachers published lessons with a real recording, so browsing shows something."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from learnspace.accounts.models import User
from learnspace.demo import lessons as demo_lessons
from learnspace.demo import load_demo
from learnspace.directory import operations
from learnspace.extensions import db
from learnspace.lessons.models import Lesson
from learnspace.orgs import operations as orgs
from learnspace.storage import get_storage
from tests.fixtures.people import row_counts


def test_seed_demo_publishes_playable_lessons_once_and_the_browse_pages_show_them(app):
    with app.app_context():
        load_demo(random.Random(2019))  # runs the lessons seed with the other demo seeds
        db.session.commit()
        made = db.session.scalar(select(func.count(Lesson.id)))
        assert made >= 10
        lessons = list(db.session.scalars(select(Lesson)))
        assert len(lessons) == made and all(lesson.status == "published" for lesson in lessons)
        for lesson in lessons:
            recording = lesson.ready_file("recording")
            assert recording is not None and get_storage().get_bytes(recording.object_key)[4:8] == b"ftyp"
            assert lesson.catalog_node.level in ("chapter", "section")
            assert lesson.teacher.school_id == lesson.school_id
        # Publishing days are spread out, so "recently updated" has an order worth showing.
        assert len({lesson.published_dt.date() for lesson in lessons}) > 3
        province = orgs.get_region("430000")
        counts = operations.region_counts(None, None, [province])["430000"]
        assert counts.lessons == sum(1 for lesson in lessons if lesson.visibility == "public") > 0
        student = db.session.scalar(select(User).where(User.role == "student").order_by(User.id))
        assert operations.recently_updated(None, region=province) == []  # spaces are for signed-in people
        recent = operations.recently_updated(student, region=province)
        # The other demo seeds add announcements and profiles, so not every entry published a lesson.
        assert recent and any("发布课程" in entry.kinds for entry in recent)
        assert all(entry.kinds for entry in recent)
        assert demo_lessons.seed(random.Random(7)) == 0  # a second run adds nothing
        assert db.session.scalar(select(func.count(Lesson.id))) == made
        db.session.commit()
        before = row_counts(app)
        load_demo(random.Random(2019))  # the whole demo again: new passwords, and one more audit entry
        db.session.commit()
        assert row_counts(app) == before | {"audit_entries": before["audit_entries"] + 1}
