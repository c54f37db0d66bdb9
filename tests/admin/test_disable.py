"""Disabling and re-enabling accounts: never oneself, never the last platform admin, re-enable in scope."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.helpers import login
from tests.fixtures.people import audit_log, give_login, row_counts, signed_in, token_from
from tests.fixtures.world import PASSWORD


def _user_id(app, login_name: str) -> int:
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.login_name == login_name))


def _disabled(app, user_id: int) -> bool:
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.get(User, user_id).is_disabled


def _set_disabled(app, user_id: int) -> None:
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        accounts.disable_user(db.session.get(User, user_id))
        db.session.commit()


def test_an_admin_cannot_disable_their_own_account(app, world):
    """A school admin posting to disable themselves gets 403 with a Chinese reason; nothing is written."""
    me = _user_id(app, world.admins["school_a1"])
    client = signed_in(app, world.admins["school_a1"])
    page = client.get(f"/admin/people/{me}").get_data(as_text=True)
    assert "停用账号</button>" not in page  # no button for oneself
    token = token_from(client, "/admin/roster")
    before = row_counts(app)
    response = client.post(f"/admin/people/{me}/disable", data={"csrf_token": token})
    assert response.status_code == 403
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert not _disabled(app, me)
    after = row_counts(app)
    after.pop("user_sessions"), before.pop("user_sessions")
    assert after == before
    assert client.get("/admin/").status_code == 200  # still signed in


def test_the_button_is_shown_for_another_person(app, world):
    """The disable button appears on someone else's page."""
    client = signed_in(app, world.admins["school_a1"])
    page = client.get(f"/admin/people/{world.people['teacher_a1']}").get_data(as_text=True)
    assert "停用账号</button>" in page and "重新启用</button>" not in page


def test_the_last_enabled_platform_admin_cannot_be_disabled(app, world):
    """disable_user refuses the only enabled platform admin; with a second one it is allowed."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.errors import ValidationError
    from learnspace.extensions import db

    platform = _user_id(app, world.admins["platform"])
    with app.app_context():
        with pytest.raises(ValidationError, match="最后一个可用的平台管理员"):
            accounts.disable_user(db.session.get(User, platform))
        db.session.rollback()
    assert not _disabled(app, platform)
    with app.app_context():
        second = accounts.create_admin("platform-2", "第二平台管理员", PASSWORD, "platform_admin")
        accounts.disable_user(second)  # the first one is still enabled
        db.session.commit()
        with pytest.raises(ValidationError):  # and the first is now the last enabled one again
            accounts.disable_user(db.session.get(User, platform))
        db.session.rollback()
    assert not _disabled(app, platform)


def test_disabled_person_cannot_sign_in_and_re_enabled_can(app, world):
    """Disable ends the sessions and blocks sign-in; re-enable (audited) lets the person sign in again."""
    person = world.people["teacher_a1"]
    login_name = give_login(app, person)
    theirs = signed_in(app, login_name)
    assert theirs.get("/space").status_code == 200
    admin = signed_in(app, world.admins["county_a"])
    token = token_from(admin, f"/admin/people/{person}")
    assert admin.post(f"/admin/people/{person}/disable", data={"csrf_token": token}).status_code == 302
    assert _disabled(app, person)
    assert theirs.get("/space").status_code in (302, 401)  # the old session is gone
    assert login(app.test_client(), login_name, PASSWORD).status_code == 403
    page = admin.get(f"/admin/people/{person}").get_data(as_text=True)
    assert "已停用" in page and "重新启用</button>" in page and "停用账号</button>" not in page
    school_page = admin.get(f"/admin/schools/{world.schools['a1']}").get_data(as_text=True)
    assert '<span class="tag">已停用</span>' in school_page

    response = admin.post(f"/admin/people/{person}/enable", data={"csrf_token": token})
    assert response.status_code == 302
    assert not _disabled(app, person)
    assert login(app.test_client(), login_name, PASSWORD).status_code == 302
    entries = [e for e in audit_log(app) if e["action"] == "user.enable"]
    assert len(entries) == 1 and entries[0]["target"] == f"user:{person}"
    assert entries[0]["actor_id"] == _user_id(app, world.admins["county_a"])


@pytest.mark.parametrize("admin", ["school_b1", "county_b"])
def test_re_enable_outside_the_scope_is_refused(app, world, admin):
    """An admin of another school or county gets 403, a denied audit entry, and the account stays disabled."""
    person = world.people["student_a1"]
    _set_disabled(app, person)
    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    response = client.post(f"/admin/people/{person}/enable", data={"csrf_token": token})
    assert response.status_code == 403 and "管辖范围" in response.get_data(as_text=True)
    assert _disabled(app, person)
    denied = [e for e in audit_log(app) if e["result"] == "denied"]
    assert [e["target"] for e in denied] == [f"user:{person}"]
    assert not [e for e in audit_log(app) if e["action"] == "user.enable"]


def test_re_enable_needs_the_csrf_token_and_post(app, world):
    """Without the CSRF token the POST is 400 and the account stays disabled; GET is 405."""
    person = world.people["student_a1"]
    _set_disabled(app, person)
    client = signed_in(app, world.admins["platform"])
    assert client.post(f"/admin/people/{person}/enable").status_code == 400
    assert client.get(f"/admin/people/{person}/enable").status_code == 405
    assert _disabled(app, person)


def test_re_enabling_an_enabled_account_is_refused(app, world):
    """Re-enabling an account that is not disabled answers 400 with a reason and audits nothing."""
    person = world.people["student_a1"]
    client = signed_in(app, world.admins["platform"])
    token = token_from(client, "/admin/roster")
    response = client.post(f"/admin/people/{person}/enable", data={"csrf_token": token})
    assert response.status_code == 400 and "未停用" in response.get_data(as_text=True)
    assert not [e for e in audit_log(app) if e["action"] == "user.enable"]
