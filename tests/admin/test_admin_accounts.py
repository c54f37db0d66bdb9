"""Admin accounts from the web (/admin/accounts): who sees and manages which, creating within scope, disabling.

The world: province 430000 → cities 430100, 430200 → counties 430102 (schools a1, a2) and 430202
(schools b1, b2). Admins: platform, province, city_a (430100), county_a (430102), county_b (430202),
school_a1, school_b1. A region admin manages the region admins strictly below their region and the
school admins of the schools in it; only platform admins manage platform admins.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.fixtures.people import audit_log, row_counts, signed_in, token_from
from tests.fixtures.world import PASSWORD

#: the admin accounts (world keys) each admin sees on the page
SEES = {
    "platform": {"platform", "province", "city_a", "county_a", "county_b", "school_a1", "school_b1"},
    "province": {"city_a", "county_a", "county_b", "school_a1", "school_b1"},
    "city_a": {"county_a", "school_a1"},
    "county_a": {"school_a1"},
    "county_b": {"school_b1"},
}


def _user(app, login_name: str):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.login_name == login_name))
        if user is not None:
            db.session.expunge(user)
        return user


def _listed(html: str) -> set[str]:
    return set(re.findall(r'<tr data-login="([^"]+)"', html))


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _create(client, **fields):
    token = token_from(client, "/admin/accounts")
    data = {"login_name": "", "real_name": "", "role": "", "region_code": "", "school_code": "", **fields}
    return client.post("/admin/accounts", data={**data, "csrf_token": token})


# --- who sees what ----------------------------------------------------------------------

@pytest.mark.parametrize("admin", sorted(SEES))
def test_the_page_lists_exactly_the_admin_accounts_in_scope(app, world, admin):
    """Each admin sees the admin accounts they manage, with role and scope in words, and no others."""
    html = signed_in(app, world.admins[admin]).get("/admin/accounts").get_data(as_text=True)
    assert _listed(html) == {world.admins[k] for k in SEES[admin]}
    if "county_a" in SEES[admin]:
        assert "湖南省长沙市芙蓉区（430102）" in html
    if "school_a1" in SEES[admin]:
        assert "芙蓉区第一小学（4301020001）" in html


@pytest.mark.parametrize("admin", ["school_a1", "school_b1"])
def test_a_school_admin_does_not_get_the_page(app, world, admin):
    """School admins get 403 with a Chinese reason, and no link to the page on the admin home."""
    client = signed_in(app, world.admins[admin])
    response = client.get("/admin/accounts")
    assert response.status_code == 403
    assert "区县的管理员" in response.get_data(as_text=True)
    assert "/admin/accounts" not in client.get("/admin/").get_data(as_text=True)


def test_the_admin_home_links_to_the_page(app, world):
    """管理首页 of a region admin links to 管理员账号."""
    html = signed_in(app, world.admins["county_a"]).get("/admin/").get_data(as_text=True)
    assert 'href="/admin/accounts">管理员账号</a>' in html


def test_state_and_last_sign_in_are_shown(app, world):
    """A signed-in admin shows 正常 and a time; one who never signed in shows 从未登录."""
    signed_in(app, world.admins["school_a1"])
    html = signed_in(app, world.admins["county_a"]).get("/admin/accounts").get_data(as_text=True)
    row = html[html.index(f'data-login="{world.admins["school_a1"]}"'):]
    row = row[:row.index("</tr>")]
    assert ">正常<" in row and "从未登录" not in row and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", row)
    html = signed_in(app, world.admins["city_a"]).get("/admin/accounts").get_data(as_text=True)
    row = html[html.index(f'data-login="{world.admins["school_a1"]}"'):]
    assert "从未登录" not in row[:row.index("</tr>")]  # the sign-in above counts for every viewer
    other = html[html.index(f'data-login="{world.admins["county_a"]}"'):]
    assert "正常" in other[:other.index("</tr>")]


# --- creating -----------------------------------------------------------------------------

def test_a_county_admin_creates_a_school_admin_without_a_password(app, world):
    """The new school admin has no password (未设置密码), cannot sign in yet, and the creation is audited."""
    client = signed_in(app, world.admins["county_a"])
    response = _create(client, login_name="a2-admin", real_name="二中管理员", role="school_admin",
                       school_code=world.schools["a2"])
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    user = _user(app, "a2-admin")
    assert user.role == "school_admin" and user.password_hash is None and user.region_code is None
    html = client.get("/admin/accounts").get_data(as_text=True)
    assert "a2-admin" in _listed(html)
    row = html[html.index('data-login="a2-admin"'):]
    row = row[:row.index("</tr>")]
    assert "未设置密码" in row and "芙蓉区第二中学（4301020002）" in row and "从未登录" in row
    created = [e for e in audit_log(app) if e["action"] == "admin.create"]
    assert [(e["target"], e["detail"], e["actor_id"]) for e in created] == [
        (f"user:{user.id}", "school_admin", _user(app, world.admins["county_a"]).id)]
    from tests.fixtures.helpers import login
    assert login(app.test_client(), "a2-admin", PASSWORD).status_code != 302  # no password yet


def test_a_city_admin_creates_a_county_admin(app, world):
    """A city admin gives a county of their city a region admin, shown with the region's full name."""
    client = signed_in(app, world.admins["city_a"])
    response = _create(client, login_name="furong-2", real_name="芙蓉区副管理员", role="region_admin",
                       region_code="430102", school_code=world.schools["a1"])  # the school is ignored
    assert response.status_code == 302
    user = _user(app, "furong-2")
    assert user.region_code == "430102" and user.school_id is None
    assert "湖南省长沙市芙蓉区（430102）" in client.get("/admin/accounts").get_data(as_text=True)


def test_a_platform_admin_creates_a_platform_admin(app, world):
    """Only a platform admin may create another platform admin."""
    response = _create(signed_in(app, world.admins["platform"]), login_name="boss-2", real_name="第二平台管理员",
                       role="platform_admin")
    assert response.status_code == 302
    assert _user(app, "boss-2").role == "platform_admin"


@pytest.mark.parametrize("admin, fields, target", [
    ("county_a", dict(role="region_admin", region_code="430102"), "region:430102"),  # their own level
    ("county_a", dict(role="region_admin", region_code="430100"), "region:430100"),  # above
    ("county_a", dict(role="region_admin", region_code="430202"), "region:430202"),  # another county
    ("county_a", dict(role="school_admin", school_code="4302020001"), "school:4302020001"),  # another county's school
    ("county_a", dict(role="platform_admin"), None),
    ("city_a", dict(role="region_admin", region_code="430000"), "region:430000"),  # the province above
    ("province", dict(role="platform_admin"), None),
])
def test_creating_above_or_outside_the_scope_is_refused_and_audited(app, world, admin, fields, target):
    """403 with a Chinese reason, one denied admin.create entry, and no account written."""
    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/accounts")
    before = row_counts(app)
    data = {"login_name": "sneaky", "real_name": "越权账号", "region_code": "", "school_code": "", **fields}
    response = client.post("/admin/accounts", data={**data, "csrf_token": token})
    assert response.status_code == 403
    assert ("平台管理员账号只能由平台管理员设立" if fields["role"] == "platform_admin" else "管辖范围") in \
        response.get_data(as_text=True)
    assert _user(app, "sneaky") is None
    denied = [e for e in audit_log(app) if e["result"] == "denied"]
    assert [(e["action"], e["target"], e["detail"]) for e in denied] == [("admin.create", target, fields["role"])]
    after = row_counts(app)
    for table in ("audit_entries", "user_sessions"):
        after.pop(table), before.pop(table)
    assert after == before


def test_a_school_admin_posting_the_form_is_refused(app, world):
    """The form is not theirs: a school admin's POST answers 403 and creates nobody."""
    client = signed_in(app, world.admins["school_a1"])
    token = token_from(client, "/admin/")
    response = client.post("/admin/accounts", data={"login_name": "x-admin", "real_name": "某", "role": "school_admin",
                                                    "school_code": world.schools["a1"], "csrf_token": token})
    assert response.status_code == 403 and _user(app, "x-admin") is None


@pytest.mark.parametrize("fields, message", [
    (dict(login_name="platform", real_name="重名", role="school_admin", school_code="4301020002"), "已被使用"),
    (dict(login_name="a b", real_name="空格", role="school_admin", school_code="4301020002"), "用户名应为"),
    (dict(login_name="no-school", real_name="没学校", role="school_admin"), "学校管理员必须指定学校"),
    (dict(login_name="formula", real_name="=HYPERLINK(1)", role="school_admin", school_code="4301020002"),
     "不能以 = + - @ 开头"),
    (dict(login_name="no-name", real_name="", role="school_admin", school_code="4301020002"), "请填写姓名"),
])
def test_bad_input_is_explained_and_writes_nothing(app, world, fields, message):
    """Each bad form answers 400 with the reason on the page and no new account."""
    client = signed_in(app, world.admins["county_a"])
    before = row_counts(app)
    response = _create(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    after = row_counts(app)
    after.pop("user_sessions"), before.pop("user_sessions")
    assert after == before


def test_the_form_offers_only_choices_in_scope(app, world):
    """A county admin is offered the school admin role and their own schools; no region, no platform role."""
    html = signed_in(app, world.admins["county_a"]).get("/admin/accounts").get_data(as_text=True)
    form = html[html.index('id="new-account"'):]
    assert 'value="school_admin"' in form and 'value="platform_admin"' not in form
    assert world.schools["a1"] in form and world.schools["a2"] in form and world.schools["b1"] not in form
    assert 'name="region_code"' not in form and 'value="region_admin"' not in form  # no region lies below a county
    city = signed_in(app, world.admins["city_a"]).get("/admin/accounts").get_data(as_text=True)
    city_form = city[city.index('id="new-account"'):]
    assert 'value="430102"' in city_form and 'value="430100"' not in city_form and 'value="430202"' not in city_form


# --- disabling and re-enabling ------------------------------------------------------------

def test_disable_and_re_enable_from_the_page(app, world):
    """A county admin disables their school admin (sessions end, 已停用) and re-enables them; both audited."""
    target = world.admins["school_a1"]
    theirs = signed_in(app, target)
    assert theirs.get("/admin/").status_code == 200
    client = signed_in(app, world.admins["county_a"])
    user_id = _user(app, target).id
    token = token_from(client, "/admin/accounts")
    response = client.post(f"/admin/accounts/{user_id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert response.status_code == 200 and "已停用“一小管理员”" in response.get_data(as_text=True)
    assert _user(app, target).is_disabled
    assert theirs.get("/admin/").status_code in (302, 401)
    html = client.get("/admin/accounts").get_data(as_text=True)
    row = html[html.index(f'data-login="{target}"'):]
    row = row[:row.index("</tr>")]
    assert "已停用" in row and "重新启用</button>" in row and ">停用</button>" not in row

    response = client.post(f"/admin/accounts/{user_id}/enable", data={"csrf_token": token}, follow_redirects=True)
    assert "已重新启用" in response.get_data(as_text=True)
    assert not _user(app, target).is_disabled
    assert signed_in(app, target).get("/admin/").status_code == 200
    county = _user(app, world.admins["county_a"]).id
    done = [(e["action"], e["target"], e["actor_id"]) for e in audit_log(app) if e["action"].startswith("user.")]
    assert done == [("user.disable", f"user:{user_id}", county), ("user.enable", f"user:{user_id}", county)]


@pytest.mark.parametrize("admin, target", [
    ("county_b", "school_a1"),  # another county's school admin
    ("county_a", "county_b"),  # a peer region admin elsewhere
    ("county_a", "city_a"),  # the admin above
    ("province", "platform"),  # a platform admin
    ("school_b1", "school_a1"),  # a school admin has no say over admin accounts
])
@pytest.mark.parametrize("action", ["disable", "enable"])
def test_posting_an_out_of_scope_account_is_refused_and_audited(app, world, admin, target, action):
    """403, one denied admin.scope entry naming the account, and the account unchanged."""
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    target_id = _user(app, world.admins[target]).id
    if action == "enable":
        with app.app_context():
            if target == "platform":  # the last platform admin cannot be disabled: add a second one
                accounts.create_admin("boss-2", "第二平台管理员", None, "platform_admin")
            accounts.disable_user(db.session.get(User, target_id))
            db.session.commit()
    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/")
    response = client.post(f"/admin/accounts/{target_id}/{action}", data={"csrf_token": token})
    assert response.status_code == 403 and "管辖范围" in response.get_data(as_text=True)
    assert _user(app, world.admins[target]).is_disabled == (action == "enable")
    denied = [(e["action"], e["target"]) for e in audit_log(app) if e["result"] == "denied"]
    assert denied == [("admin.scope", f"user:{target_id}")]
    assert not [e for e in audit_log(app) if e["action"] == f"user.{action}"]


def test_a_rostered_person_is_not_an_admin_account(app, world):
    """The accounts routes act on admin accounts only: a student's id answers 403 (use the school's pages)."""
    client = signed_in(app, world.admins["platform"])
    token = token_from(client, "/admin/accounts")
    response = client.post(f"/admin/accounts/{world.people['student_a1']}/disable", data={"csrf_token": token})
    assert response.status_code == 403


def test_disable_needs_post_and_the_csrf_token(app, world):
    """Without the token the POST is 400 and nothing changes; GET is 405."""
    target_id = _user(app, world.admins["school_a1"]).id
    client = signed_in(app, world.admins["county_a"])
    assert client.post(f"/admin/accounts/{target_id}/disable").status_code == 400
    assert client.get(f"/admin/accounts/{target_id}/disable").status_code == 405
    assert not _user(app, world.admins["school_a1"]).is_disabled


def test_no_one_disables_themselves_from_the_page(app, world):
    """The own row has no button; a forged POST is refused with the Chinese reason and changes nothing."""
    me = _user(app, world.admins["platform"])
    client = signed_in(app, world.admins["platform"])
    html = client.get("/admin/accounts").get_data(as_text=True)
    row = html[html.index(f'data-login="{me.login_name}"'):]
    row = row[:row.index("</tr>")]
    assert "（本人）" in row and "</button>" not in row
    token = token_from(client, "/admin/accounts")
    response = client.post(f"/admin/accounts/{me.id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert not _user(app, me.login_name).is_disabled
    assert not [e for e in audit_log(app) if e["action"] == "user.disable"]
    assert client.get("/admin/accounts").status_code == 200  # still signed in


def test_the_last_platform_admin_stays(app, world):
    """With two platform admins one may disable the other; the one left can be disabled by nobody.

    From the page only another enabled platform admin could try, and then it is not the last; so the
    page shows the operation's refusal when the check fires (here: the second admin is re-enabled and
    the first, now one of two, is disabled; then the second cannot disable themselves as the last).
    """
    from learnspace.accounts import admins
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        admins.create_admin_account(None, "boss-2", "第二平台管理员", "platform_admin", password=PASSWORD)
        db.session.commit()
    first, second = _user(app, world.admins["platform"]), _user(app, "boss-2")
    client = signed_in(app, "boss-2")
    token = token_from(client, "/admin/accounts")
    assert client.post(f"/admin/accounts/{first.id}/disable", data={"csrf_token": token}).status_code == 302
    assert _user(app, first.login_name).is_disabled
    # boss-2 is now the only enabled platform admin: the operation refuses to disable them, whoever asks.
    from learnspace.accounts import operations as accounts
    from learnspace.errors import ValidationError

    with app.app_context():
        with pytest.raises(ValidationError, match="最后一个可用的平台管理员"):
            accounts.disable_user(db.session.get(User, second.id), by=db.session.get(User, first.id))
        db.session.rollback()
    response = client.post(f"/admin/accounts/{second.id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "不能停用自己的账号" in response.get_data(as_text=True)
    assert not _user(app, "boss-2").is_disabled
    # Re-enabling the first is allowed, and then either may disable the other again.
    assert client.post(f"/admin/accounts/{first.id}/enable", data={"csrf_token": token}).status_code == 302
    assert not _user(app, first.login_name).is_disabled


# --- the person page for admin accounts -----------------------------------------------------

def test_the_person_page_shows_an_admin_account_in_scope(app, world):
    """/admin/people/<id> of a region admin shows the scope in words and the state for their manager."""
    county = _user(app, world.admins["county_a"])
    html = signed_in(app, world.admins["city_a"]).get(f"/admin/people/{county.id}").get_data(as_text=True)
    text = _text(html)
    assert "管辖范围 湖南省长沙市芙蓉区（430102）" in text and "账号状态 正常" in text
    assert "停用账号</button>" in html


@pytest.mark.parametrize("admin, target", [("county_b", "school_a1"), ("city_a", "county_b"),
                                           ("school_a1", "county_a"), ("province", "platform")])
def test_the_person_page_of_an_out_of_scope_admin_is_refused(app, world, admin, target):
    """403 and a denied admin.scope entry."""
    target_id = _user(app, world.admins[target]).id
    response = signed_in(app, world.admins[admin]).get(f"/admin/people/{target_id}")
    assert response.status_code == 403
    denied = [(e["action"], e["target"]) for e in audit_log(app) if e["result"] == "denied"]
    assert denied == [("admin.scope", f"user:{target_id}")]


# --- the command line goes through the same checks --------------------------------------------

def test_create_admin_command_applies_the_acting_admins_scope(app, world):
    """create-admin --admin county-a may make a school admin of its school but not a region admin elsewhere."""
    from learnspace.cli import main

    runner = app.test_cli_runner()
    refused = runner.invoke(main, ["create-admin", "ht-2", "--name", "荷塘副管理员", "--role", "region_admin",
                                   "--region", "430202", "--admin", world.admins["county_a"], "--password", PASSWORD])
    assert refused.exit_code != 0 and "管辖范围" in refused.output
    assert _user(app, "ht-2") is None
    denied = [(e["action"], e["target"], e["ip"]) for e in audit_log(app) if e["result"] == "denied"]
    assert denied == [("admin.create", "region:430202", "cli")]
    made = runner.invoke(main, ["create-admin", "a1-second", "--name", "一小副管理员", "--role", "school_admin",
                                "--school", world.schools["a1"], "--admin", world.admins["county_a"],
                                "--password", PASSWORD])
    assert made.exit_code == 0, made.output
    created = [e for e in audit_log(app) if e["action"] == "admin.create" and e["result"] == "success"]
    assert [(e["target"], e["actor_id"]) for e in created] == [
        (f"user:{_user(app, 'a1-second').id}", _user(app, world.admins["county_a"]).id)]
