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
    ("x7#" * 43, "密码不能超过 128 位"),
    ("12345678", "这个密码太容易被猜到：这是最常见的密码之一"),
    ("password1", "这个密码太容易被猜到：这是很常见的密码"),
    ("P@ssw0rd1", "这个密码太容易被猜到：与常见密码太相似"),
    ("abcdefgh", "这个密码太容易被猜到：“abc”“6543”这样的顺序很容易被猜到"),
    ("qwertyuiop", "这个密码太容易被猜到：这是很常见的密码"),
    ("hjkl;jkl", "这个密码太容易被猜到：键盘上连续的一排键很容易被猜到"),
    ("aaaaaaaaaa", "这个密码太容易被猜到：“aaa”这样的重复很容易被猜到"),
    ("Lanmao-Chi3ge-Pingguo!", "不能直接使用页面上的示例密码"),
])
def test_weak_passwords_are_refused_with_a_chinese_reason(ctx, password, message):
    """Too short, too long, common, look-alike, sequences, keyboard rows, repeats: each says why in Chinese."""
    from learnspace.accounts import operations as accounts

    with pytest.raises(ValidationError) as info:
        accounts.check_password_strength(password)
    assert info.value.message.startswith(message)
    if "容易被猜到" in message:
        assert "请换一个别人猜不到的密码" in info.value.message  # says what to do, too


@pytest.mark.parametrize("password", ["Lesson2026ok", "张三Lesson2026", "Xiaohe-liushui9-qiao",
                                      "Xiaohe-liushui9-qiao-" + "hongtaiyang-qilai7-" * 5 + "x" * 12])
def test_acceptable_passwords_pass(ctx, password):
    """Passwords zxcvbn rates hard enough to guess are accepted, up to 128 characters; Chinese characters too."""
    from learnspace.accounts import operations as accounts

    accounts.check_password_strength(password)


@pytest.mark.parametrize("person, password, what", [
    ("student_a1", "G430102201501010011ok", "学籍号"),
    ("student_a1", "Lesson-g430102201501010011", "学籍号"),
    ("student_a1", "Zhang-Xiao-Ming-2026", "姓名拼音"),
    ("student_a1", "zxm-lanmao-chi3ge", "姓名拼音"),
    ("student_a1", "Lanmao-20150101", "身份证号中的数字"),
    ("student_a1", "Lanmao-150101-yes", "身份证号中的数字"),
    ("teacher_a1", "t4301020001001-Lesson", "教师编号"),
    ("teacher_a1", "LiLaoShi-lanmao-7", "姓名拼音"),
])
def test_passwords_with_the_persons_own_data_are_refused(app, world, person, password, what):
    """Student or teacher number, name pinyin (full or initials, any case or separators), ID-card digits."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        user = db.session.get(User, world.people[person])
        before = user.password_hash
        with pytest.raises(ValidationError) as info:
            accounts.set_password(user, password)
        assert info.value.message.startswith(f"密码不能包含您的{what}")
        assert "请换一个别人猜不到的密码" in info.value.message
        assert user.password_hash == before
        # The same password is fine for someone else: the rule is about the person's own data.
        other = db.session.get(User, world.people["student_b1"])
        accounts.set_password(other, password)


def test_login_name_in_the_password_is_refused(app, world):
    """An administrator's own login name inside the password is refused."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        admin = db.session.scalar(select(User).where(User.login_name == world.admins["county_a"]))
        with pytest.raises(ValidationError) as info:
            accounts.set_password(admin, "My-County-A-lanmao7")
        assert info.value.message.startswith("密码不能包含您的账号")


def test_id_card_number_is_never_logged(app, world, caplog):
    """Checking against the ID card decrypts it in-process; neither the number nor its digits reach the log."""
    import logging

    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    caplog.set_level(logging.DEBUG)
    with app.app_context():
        user = db.session.get(User, world.people["student_a1"])
        with pytest.raises(ValidationError):
            accounts.set_password(user, "Lanmao-20150101")
    assert "20150101" not in caplog.text and "430102" not in caplog.text


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
