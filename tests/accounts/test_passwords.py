"""Passwords: argon2id hashes at rest and strength rules with Chinese messages."""
from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from learnspace.errors import ValidationError


def test_password_is_stored_as_production_strength_argon2id(app, world, real_password_hasher):
    """set_password stores an argon2id hash (not the password) with the production cost parameters."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        person = db.session.get(User, world.people["teacher_a1"])
        accounts.set_password(person, "Lesson2026ok")
        db.session.commit()
        stored = db.session.get(User, world.people["teacher_a1"]).password_hash
    assert stored.startswith("$argon2id$")
    assert "Lesson2026ok" not in stored
    params = stored.split("$")[3]
    memory = int(params.split(",")[0].removeprefix("m="))
    assert memory >= 19 * 1024  # at least OWASP's argon2id minimum of 19 MiB
    assert PasswordHasher().verify(stored, "Lesson2026ok")


def test_same_password_hashes_differently_for_two_people(app, world):
    """Hashes are salted: two people with one password do not share a hash."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        one = db.session.get(User, world.people["teacher_a1"])
        two = db.session.get(User, world.people["student_b1"])
        accounts.set_password(one, "SamePass123")
        accounts.set_password(two, "SamePass123")
        assert one.password_hash != two.password_hash


@pytest.mark.parametrize("password, message", [
    ("", "密码至少 8 位"),
    ("abc123", "密码至少 8 位"),
    ("abcdefgh", "密码需同时包含字母和数字"),
    ("12345678", "密码需同时包含字母和数字"),
    ("!!!!????", "密码需同时包含字母和数字"),
    ("a1" * 65, "密码不能超过 128 位"),
])
def test_weak_passwords_are_refused_with_a_chinese_reason(ctx, password, message):
    """Too short, letters only, digits only, no letters or digits, or too long: each names the rule."""
    from learnspace.accounts import operations as accounts

    with pytest.raises(ValidationError) as info:
        accounts.check_password_strength(password)
    assert info.value.message == message


@pytest.mark.parametrize("password", ["abcdefg1", "张三Lesson2026", "a1" * 64])
def test_acceptable_passwords_pass(ctx, password):
    """Eight or more characters mixing letters and digits, up to 128, are accepted."""
    from learnspace.accounts import operations as accounts

    accounts.check_password_strength(password)


def test_weak_password_leaves_the_old_hash(app, world):
    """A refused password does not replace the stored hash."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.login_name == world.admins["school_a1"]))
        before = admin.password_hash
        with pytest.raises(ValidationError):
            accounts.set_password(admin, "short")
        assert admin.password_hash == before


def test_create_admin_validates_login_name_and_scope(app, world):
    """create_admin refuses bad user names, taken names and admins without a school or region."""
    from learnspace.accounts import operations as accounts

    cases = [
        (dict(login_name="a b", role="platform_admin"), "用户名应为"),
        (dict(login_name=world.admins["platform"], role="platform_admin"), "已被使用"),
        (dict(login_name="new-school-admin", role="school_admin"), "学校管理员必须指定学校"),
        (dict(login_name="new-region-admin", role="region_admin"), "区域管理员必须指定行政区划"),
        (dict(login_name="new-admin", role="superuser"), "角色"),
    ]
    with app.app_context():
        for kwargs, message in cases:
            with pytest.raises(ValidationError) as info:
                accounts.create_admin(real_name="某管理员", password="Passw0rd-x", **kwargs)
            assert message in info.value.message, kwargs
