"""The create-admin command: creates working admin accounts and rejects bad input clearly."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.fixtures.helpers import login
from tests.fixtures.people import audit_log

GOOD = "Adm1n-strong-pass"


def _run(app, *args):
    from learnspace.cli import main

    return app.test_cli_runner().invoke(main, list(args))


def _admin(app, login_name):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.login_name == login_name))
        if user is not None:
            db.session.expunge(user)
        return user


def _user_count(app):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(User.id)))


def test_create_platform_admin_who_can_sign_in(app, world):
    """create-admin makes a platform admin with an argon2 password who signs in on the web."""
    result = _run(app, "create-admin", "boss", "--name", "王主任", "--password", GOOD)
    assert result.exit_code == 0, result.output
    assert "created platform_admin boss" in result.output
    admin = _admin(app, "boss")
    assert admin.role == "platform_admin" and admin.real_name == "王主任"
    assert admin.password_hash.startswith("$argon2id$") and GOOD not in admin.password_hash
    assert login(app.test_client(), "boss", GOOD).status_code == 302
    created = [e for e in audit_log(app) if e["action"] == "admin.create"]
    assert [(e["target"], e["detail"], e["ip"]) for e in created] == [(f"user:{admin.id}", "platform_admin", "cli")]


def test_create_region_admin_gets_that_regions_scope(app, world):
    """--role region_admin --region 430100 creates an admin who manages the city's schools only."""
    from learnspace.accounts.models import User
    from learnspace.admin.operations import schools_with_counts
    from learnspace.extensions import db

    result = _run(app, "create-admin", "changsha", "--name", "长沙管理员", "--role", "region_admin",
                  "--region", "430100", "--password", GOOD)
    assert result.exit_code == 0, result.output
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.login_name == "changsha"))
        assert admin.region_code == "430100"
        assert {s.code for s, _, _ in schools_with_counts(admin)} == {world.schools["a1"], world.schools["a2"]}


def test_create_school_admin_for_a_school(app, world):
    """--role school_admin --school CODE ties the admin to that school."""
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    result = _run(app, "create-admin", "a2-admin", "--name", "二中管理员", "--role", "school_admin",
                  "--school", world.schools["a2"], "--password", GOOD)
    assert result.exit_code == 0, result.output
    admin = _admin(app, "a2-admin")
    with app.app_context():
        assert db.session.get(School, admin.school_id).code == world.schools["a2"]


@pytest.mark.parametrize("args, message", [
    (["weakling", "--name", "某", "--password", "short"], "密码至少 8 位"),
    (["letters", "--name", "某", "--password", "password123"], "这个密码太容易被猜到"),
    (["letters", "--name", "某", "--password", "Letters-2026"], "密码不能包含您的账号"),
    (["platform", "--name", "某", "--password", GOOD], "用户名“platform”已被使用"),
    (["a b", "--name", "某", "--password", GOOD], "用户名应为"),
    (["no-school", "--name", "某", "--role", "school_admin", "--password", GOOD], "学校管理员必须指定学校"),
    (["bad-school", "--name", "某", "--role", "school_admin", "--school", "4399990001", "--password", GOOD],
     "学校标识码“4399990001”不存在"),
    (["no-region", "--name", "某", "--role", "region_admin", "--password", GOOD], "区域管理员必须指定行政区划"),
    (["bad-region", "--name", "某", "--role", "region_admin", "--region", "440100", "--password", GOOD],
     "行政区划代码“440100”不存在"),
    (["bad-role", "--name", "某", "--role", "teacher", "--password", GOOD], "Invalid value for '--role'"),
])
def test_create_admin_rejects_bad_input_with_a_clear_message(app, world, args, message):
    """Each bad input exits non-zero, names the problem and creates nobody."""
    before = _user_count(app)
    result = _run(app, "create-admin", *args)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert _user_count(app) == before
    assert _admin(app, args[0]) is None or args[0] == "platform"
