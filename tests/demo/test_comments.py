"""The demo conversation and demo blocked-word list: believable, respectful of restricted mode, added once."""
from __future__ import annotations

import random
from datetime import date

from sqlalchemy import func, select

from learnspace.accounts import consent
from learnspace.accounts.models import User
from learnspace.comments.models import Comment
from learnspace.demo import comments as demo_comments
from learnspace.demo import moderation as demo_moderation
from learnspace.extensions import db
from learnspace.moderation import operations as moderation
from learnspace.moderation.models import BlockedTerm
from tests.fixtures.lessons import make_lesson


def test_demo_comments_come_from_pupils_who_may_comment_and_teachers_answer(ctx, world):
    lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
    pupil = db.session.get(User, world.people["student_a1"])
    admin = db.session.scalar(select(User).where(User.role == "school_admin"))
    consent.record_consent(pupil, admin, "家长", "父亲", date(2026, 9, 1))
    demo_moderation.seed()
    demo_comments.seed(random.Random(1))
    db.session.commit()
    rows = db.session.scalars(select(Comment).where(Comment.lesson_id == lesson_id)).all()
    tops = [c for c in rows if c.parent_id is None]
    replies = [c for c in rows if c.parent_id is not None]
    assert {c.author_id for c in tops} == {pupil.id}
    assert replies and {c.author_id for c in replies} == {world.people["teacher_a1"]}
    assert all(not moderation.blocked_terms_in(c.body) for c in rows)  # the demo obeys its own list
    assert moderation.blocked_terms_in("你个脑 殘") == ["脑残"]
    before = (db.session.scalar(select(func.count(Comment.id))), db.session.scalar(select(func.count(BlockedTerm.id))))
    demo_moderation.seed()
    demo_comments.seed(random.Random(2))
    assert (db.session.scalar(select(func.count(Comment.id))),
            db.session.scalar(select(func.count(BlockedTerm.id)))) == before


def test_restricted_pupils_never_get_demo_comments(ctx, world):
    make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
    demo_comments.seed(random.Random(1))
    authors = set(db.session.scalars(select(Comment.author_id)))
    assert world.people["student_a1"] not in authors  # under 14, no consent on file
