"""The demo spaces: teacher profiles, follows within the school and visits, added once."""
from __future__ import annotations

import random

from sqlalchemy import select

from learnspace.demo import spaces as demo_spaces
from learnspace.extensions import db
from learnspace.spaces.models import Follow, TeacherProfile
from tests.fixtures.people import row_counts
from tests.spaces.test_space_page import campus  # noqa: F401  (fixture)


def test_seed_demo_gives_teachers_profiles_once_and_only_allowed_follows(app, world, campus, ctx):  # noqa: F811
    """The spaces seed fills activated teachers' profiles, follows within the school and visits; a rerun adds nothing."""
    assert demo_spaces.seed(random.Random(1)) == 2
    db.session.commit()
    profiles = list(db.session.scalars(select(TeacherProfile)))
    assert {p.user_id for p in profiles} == {world.people["teacher_a1"], world.people["teacher_b1"]}
    assert all(p.subject_list and p.introduction for p in profiles)
    for row in db.session.scalars(select(Follow)):
        assert row.follower.school_id == row.followed.school_id and row.followed.role == "teacher"
    db.session.commit()  # end the reading transaction before counting in another session
    counts = row_counts(app)
    assert demo_spaces.seed(random.Random(2)) == 0
    db.session.commit()
    assert row_counts(app) == counts
