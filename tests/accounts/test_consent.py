"""Guardian consent: who needs it (age from the ID card), recording and withdrawing it, restricted mode."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.study.people import add_person, birthday_years_ago, user


@pytest.fixture
def admin(ctx, world):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    return db.session.scalar(select(User).where(User.login_name == world.admins["school_a1"]))


def test_age_comes_from_the_id_card_birth_date(ctx, world):
    """The day before the 14th birthday a student needs consent; on the birthday no longer."""
    from learnspace.accounts.consent import age_of, needs_consent

    almost = user(add_person(world.schools["a1"], born=birthday_years_ago(14, days_more=-1)))
    today14 = user(add_person(world.schools["a1"], born=birthday_years_ago(14)))
    assert age_of(almost) == 13 and needs_consent(almost)
    assert age_of(today14) == 14 and not needs_consent(today14)


def test_a_student_without_a_birth_date_is_treated_as_under_14(ctx, world):
    from learnspace.accounts.consent import age_of, is_restricted, needs_consent

    unknown = user(add_person(world.schools["a1"], born=None))
    assert age_of(unknown) is None
    assert needs_consent(unknown) and is_restricted(unknown)


def test_teachers_never_need_consent(ctx, world):
    from learnspace.accounts.consent import is_restricted

    assert not is_restricted(user(world.people["teacher_a1"]))


def test_recorded_consent_lifts_restricted_mode_and_keeps_who_when_which_notice(ctx, world, admin):
    from learnspace.accounts import consent
    from learnspace.audit.models import AuditEntry
    from learnspace.extensions import db

    student = user(world.people["student_a1"])  # born 2015: under 14
    assert consent.is_restricted(student)
    given = consent.today() - timedelta(days=3)
    row = consent.record_consent(student, admin, "  张 大明 ", "父亲", given)
    db.session.commit()
    assert not consent.is_restricted(student)
    assert (row.guardian_name, row.relation, row.notice_version, row.recorded_by_id) == (
        "张 大明", "父亲", consent.NOTICE_VERSION, admin.id)
    assert row.given_dt.astimezone(consent.CHINA).date() == given
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.target == f"user:{student.id}")) \
        == "consent.record"


def test_withdrawn_consent_restricts_again_and_stays_in_the_history(ctx, world, admin):
    from learnspace.accounts import consent
    from learnspace.extensions import db

    student = user(world.people["student_a1"])
    consent.record_consent(student, admin, "张大明", "父亲", consent.today())
    consent.withdraw_consent(student, admin)
    db.session.commit()
    assert consent.is_restricted(student)
    history = consent.consent_history(student)
    assert len(history) == 1 and history[0].withdrawn_dt is not None and history[0].withdrawn_by_id == admin.id


def test_consent_to_an_older_notice_version_does_not_count(ctx, world, admin):
    from learnspace.accounts import consent
    from learnspace.accounts.models import GuardianConsent
    from learnspace.db import utcnow
    from learnspace.extensions import db

    student = user(world.people["student_a1"])
    db.session.add(GuardianConsent(student_id=student.id, guardian_name="张大明", relation="父亲",
                                   notice_version="2025-01", given_dt=utcnow(), recorded_by_id=admin.id))
    db.session.commit()
    assert consent.is_restricted(student)


@pytest.mark.parametrize("name, relation, days_ahead, message", [
    ("", "父亲", 0, "请填写监护人姓名"),
    ("张大明", "邻居", 0, "请选择监护人与学生的关系"),
    ("张大明", "父亲", 1, "同意日期不能晚于今天"),
    ("张" * 65, "父亲", 0, "不能超过 64 个字"),
])
def test_bad_consent_is_refused_and_nothing_is_stored(ctx, world, admin, name, relation, days_ahead, message):
    from learnspace.accounts import consent
    from learnspace.accounts.models import GuardianConsent
    from learnspace.errors import ValidationError
    from learnspace.extensions import db

    student = user(world.people["student_a1"])
    with pytest.raises(ValidationError, match=message):
        consent.record_consent(student, admin, name, relation, consent.today() + timedelta(days=days_ahead))
    assert db.session.scalar(select(func.count()).select_from(GuardianConsent)) == 0


def test_consent_for_a_14_year_old_or_twice_is_refused(ctx, world, admin):
    from learnspace.accounts import consent
    from learnspace.errors import Conflict, ValidationError

    older = user(add_person(world.schools["a1"], born=birthday_years_ago(15)))
    with pytest.raises(ValidationError, match="已满 14 周岁"):
        consent.record_consent(older, admin, "家长", "母亲", consent.today())
    student = user(world.people["student_a1"])
    consent.record_consent(student, admin, "张大明", "父亲", consent.today())
    with pytest.raises(Conflict, match="已有有效的监护人同意"):
        consent.record_consent(student, admin, "李某", "母亲", consent.today())


def test_restricted_mode_rules(ctx, world):
    """Restricted: no comments, notes private only, not listed, no follows between students."""
    from learnspace.spaces import permissions as p

    a1 = world.schools["a1"]
    kid = user(add_person(a1, name="小一", born=birthday_years_ago(10)))
    kid_ok = user(add_person(a1, name="小二", born=birthday_years_ago(10), consent=True))
    teen = user(add_person(a1, name="小三", born=birthday_years_ago(15)))
    teacher = user(world.people["teacher_a1"])
    assert not p.can_comment(kid) and p.comment_refusal(kid) == p.RESTRICTED_COMMENT
    assert p.can_comment(kid_ok) and p.can_comment(teen) and p.can_comment(teacher)
    assert not p.can_comment(None)
    assert not p.can_share_notes(kid) and p.can_share_notes(kid_ok)
    assert not p.listed_to_classmates(kid) and p.listed_to_classmates(kid_ok)
    # classmates see each other's spaces only when neither is restricted
    assert p.can_view_space(kid_ok, teen) and p.can_view_space(teen, kid_ok)
    assert not p.can_view_space(teen, kid) and not p.can_view_space(kid, teen)
    # follows
    assert p.can_follow(kid, teacher)
    assert not p.can_follow(kid, teen) and not p.can_follow(teen, kid)
    assert p.can_follow(teacher, kid)  # the school's teachers see the space anyway
    assert p.can_follow(teen, kid_ok) and p.can_follow(teacher, kid_ok)
    assert not p.can_follow(teen, teen)
