"""Following: the contract functions (follow, unfollow, is_following, followers_count, following_of) and their rule."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.spaces.test_space_page import campus  # noqa: F401  (fixture)


def _people(world, *keys):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    return [db.session.get(User, world.people[key]) for key in keys]


def _follow_rows():
    from learnspace.extensions import db
    from learnspace.spaces.models import Follow

    return db.session.scalar(select(func.count(Follow.id)))


def test_anyone_signed_in_may_follow_a_teacher_and_unfollow_again(app, world, campus, ctx):
    """A student of another school follows a teacher; counts and lists follow; unfollow undoes it."""
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    teacher, student_b1, teacher_b1 = _people(world, "teacher_a1", "student_b1", "teacher_b1")
    spaces.follow(student_b1, teacher)
    spaces.follow(teacher_b1, teacher)
    db.session.commit()
    assert spaces.is_following(student_b1, teacher)
    assert not spaces.is_following(teacher, student_b1)
    assert spaces.followers_count(teacher) == 2
    assert [u.id for u in spaces.following_of(student_b1)] == [teacher.id]
    assert spaces.unfollow(student_b1, teacher) is True
    db.session.commit()
    assert not spaces.is_following(student_b1, teacher)
    assert spaces.followers_count(teacher) == 1
    assert spaces.following_of(student_b1) == []
    assert spaces.unfollow(student_b1, teacher) is False


def test_following_twice_keeps_one_follow(app, world, campus, ctx):
    """A second follow returns the first row; the follower is counted once."""
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    teacher, student = _people(world, "teacher_a1", "student_a1")
    first = spaces.follow(student, teacher)
    db.session.commit()
    again = spaces.follow(student, teacher)
    db.session.commit()
    assert first.id == again.id
    assert spaces.followers_count(teacher) == 1 and _follow_rows() == 1


def test_following_of_lists_the_newest_follow_first(app, world, campus, ctx):
    """following_of returns people, most recently followed first."""
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    student, teacher_a1, teacher_b1 = _people(world, "student_a1", "teacher_a1", "teacher_b1")
    spaces.follow(student, teacher_a1)
    db.session.commit()
    spaces.follow(student, teacher_b1)
    db.session.commit()
    assert [u.real_name for u in spaces.following_of(student)] == ["赵老师", "李老师"]


@pytest.mark.parametrize("follower, followed, message", [
    ("teacher_a1", "teacher_a1", "不能关注自己"),
    ("teacher_b1", "student_a1", "不能查看该学生的空间"),    # a teacher of another school
    ("student_b1", "student_a1", "不能查看该学生的空间"),    # a student of another school
])
def test_refused_follows_change_nothing(app, world, campus, ctx, follower, followed, message):
    """Self-follows and follows of students one may not see are refused with a reason; no row is written."""
    from learnspace.errors import PermissionDenied
    from learnspace.spaces import operations as spaces

    a, b = _people(world, follower, followed)
    with pytest.raises(PermissionDenied, match=message):
        spaces.follow(a, b)
    assert _follow_rows() == 0


def test_a_teacher_of_the_same_school_may_follow_a_student(app, world, campus, ctx):
    """The school's teacher sees the student's space, so may follow it."""
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    teacher, student = _people(world, "teacher_a1", "student_a1")
    spaces.follow(teacher, student)
    db.session.commit()
    assert spaces.followers_count(student) == 1


def test_an_admin_who_sees_a_student_may_still_not_follow_across_schools(app, world, campus, ctx):
    """A county admin may open a student's space but is not of that school: no follow."""
    from learnspace.accounts.models import User
    from learnspace.errors import PermissionDenied
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces
    from learnspace.spaces.permissions import can_view_space

    admin = db.session.scalar(select(User).where(User.login_name == world.admins["county_a"]))
    [student] = _people(world, "student_a1")
    assert can_view_space(admin, student)
    with pytest.raises(PermissionDenied, match="只能关注本校的学生"):
        spaces.follow(admin, student)
    assert _follow_rows() == 0


def test_admins_cannot_be_followed(app, world, campus, ctx):
    """Only space owners (teachers, students) can be followed."""
    from learnspace.accounts.models import User
    from learnspace.errors import PermissionDenied
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_a1"]))
    [teacher] = _people(world, "teacher_a1")
    with pytest.raises(PermissionDenied):
        spaces.follow(teacher, admin)


def test_the_database_refuses_a_duplicate_or_self_follow(app, world, campus, ctx):
    """The unique pair and the not-self check hold even for writes that bypass the operation."""
    from sqlalchemy.exc import IntegrityError

    from learnspace.extensions import db
    from learnspace.spaces.models import Follow

    a, b = world.people["student_a1"], world.people["teacher_a1"]
    db.session.add(Follow(follower_id=a, followed_id=b))
    db.session.commit()
    for row in (Follow(follower_id=a, followed_id=b), Follow(follower_id=a, followed_id=a)):
        db.session.add(row)
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
    assert _follow_rows() == 1


def test_classmates_follow_each_other_only_with_guardian_consent(app, world, campus, ctx):
    """Two under-14 classmates: refused in restricted mode; allowed once both guardians' consent is recorded."""
    from datetime import date

    from learnspace.accounts import consent
    from learnspace.accounts.models import User
    from learnspace.errors import PermissionDenied
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    student, classmate = _people(world, "student_a1", "classmate_a1")
    with pytest.raises(PermissionDenied):
        spaces.follow(classmate, student)
    assert _follow_rows() == 0
    admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_a1"]))
    relation = next(iter(consent.GUARDIAN_RELATIONS))
    for person in (student, classmate):
        consent.record_consent(person, admin, "监护人", relation, date(2026, 9, 1))
    db.session.commit()
    spaces.follow(classmate, student)
    db.session.commit()
    assert spaces.is_following(classmate, student)
