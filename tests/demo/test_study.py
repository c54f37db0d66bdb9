"""The demo learning records: consents, progress, favourites and notes, added once."""
from __future__ import annotations

import random

from sqlalchemy import func, select

from learnspace.accounts.models import GuardianConsent
from learnspace.demo import study as demo_study
from learnspace.extensions import db
from learnspace.study.models import WatchProgress
from tests.study.test_learning import school  # noqa: F401  (fixture)


def test_seed_demo_adds_believable_records_once(ctx, school):  # noqa: F811
    """The demo gets consents, progress, favourites and notes; running it again (another rng state) adds nothing."""
    def counts():
        return (db.session.scalar(select(func.count()).select_from(WatchProgress)),
                db.session.scalar(select(func.count()).select_from(GuardianConsent)))

    assert demo_study.seed(random.Random(1)) > 0
    db.session.commit()
    first = counts()
    assert first[0] > 0 and first[1] > 0
    assert db.session.scalar(select(func.count()).select_from(WatchProgress)
                             .where(WatchProgress.user_id == school["other"])) == 0  # cannot see a1's lesson
    assert demo_study.seed(random.Random(99)) == 0  # another seed, still nothing new: no consent re-rolled
    db.session.commit()
    assert counts() == first
