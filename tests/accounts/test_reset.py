"""Password reset with a code from an administrator: /reset, single use, sessions ended, scope, throttling."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from tests.fixtures.helpers import login
from tests.fixtures.people import (
    activate_with_code,
    audit_log,
    client_at,
    codes_from_html,
    give_login,
    issue_codes,
    issue_reset_code,
    reset_with_code,
    signed_in,
    token_from,
)
from tests.fixtures.world import PASSWORD

NEW = "Reset2026ok"
NUMBER = "G430102201501010011"  # 张小明's 学籍号 in the world fixture


def _reset_code(app, world, person="student_a1", admin="school_a1", confirm=False) -> str:
    client = signed_in(app, world.admins[admin])
    page = issue_reset_code(client, world.people[person] if person in world.people else _id_of(app, person),
                            confirm=confirm)
    assert page.status_code == 200, page.get_data(as_text=True)[:1000]
    [code] = codes_from_html(page.get_data(as_text=True)).values()
    return code


def _id_of(app, login_name: str) -> int:
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.login_name == login_name))


def _used(app) -> list:
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    with app.app_context():
        return list(db.session.scalars(select(ActivationCode.used_dt).where(ActivationCode.kind == "reset")))


def test_a_pupil_resets_a_forgotten_password_and_every_session_ends(app, world):
    """Weak password refused (code stays unused), then a good one: code used, old sessions gone, new password works."""
    login_name = give_login(app, world.people["student_a1"])
    other_device = signed_in(app, login_name)
    assert other_device.get("/space").status_code == 200
    code = _reset_code(app, world)

    pupil = app.test_client()
    weak = reset_with_code(pupil, NUMBER, "张小明", code, password="12345678")
    assert weak.status_code == 400
    assert _used(app) == [None]
    assert "重置码不正确" not in weak.get_data(as_text=True)  # the password's own reason, not the code's

    done = reset_with_code(pupil, NUMBER, "张小明", code.lower().replace("-", " "), password=NEW)
    assert done.status_code == 302 and done.headers["Location"].endswith("/login")
    assert "密码已重设" in pupil.get("/login").get_data(as_text=True)
    assert _used(app)[0] is not None
    assert other_device.get("/space").status_code == 302  # signed out everywhere
    assert login(app.test_client(), login_name, PASSWORD).status_code != 302
    assert login(app.test_client(), login_name, NEW).status_code == 302
    resets = [e for e in audit_log(app) if e["action"] == "password.reset" and e["result"] == "success"]
    assert [(e["target"], e["actor_id"]) for e in resets] == [(f"user:{world.people['student_a1']}",
                                                               world.people["student_a1"])]
    assert code not in repr(audit_log(app)) and code.replace("-", "") not in repr(audit_log(app))


def test_wrong_name_number_used_expired_or_void_codes_get_one_generic_message(app, world):
    """Every refusal reads the same, so the page reveals neither accounts nor code states."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.db import utcnow
    from learnspace.extensions import db

    give_login(app, world.people["student_a1"])
    code = _reset_code(app, world)
    client = app.test_client()
    generic = "账号、姓名或重置码不正确"
    for number, name, typed in ((NUMBER, "王小红", code), ("G000", "张小明", code), (NUMBER, "张小明", "ABCD-EFGH-JK")):
        refused = reset_with_code(client, number, name, typed)
        assert refused.status_code == 400 and generic in refused.get_data(as_text=True)
    assert reset_with_code(client, NUMBER, "张小明", code).status_code == 302
    used = reset_with_code(client, NUMBER, "张小明", code, password="Another2026ok")
    assert used.status_code == 400 and generic in used.get_data(as_text=True)

    expired = _reset_code(app, world)
    with app.app_context():
        db.session.execute(update(ActivationCode).values(expires_dt=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    assert generic in reset_with_code(client, NUMBER, "张小明", expired).get_data(as_text=True)

    void = _reset_code(app, world)
    admin = signed_in(app, world.admins["school_a1"])
    issue_reset_code(admin, world.people["student_a1"], confirm=True)  # regenerate: the previous one is void
    assert generic in reset_with_code(client, NUMBER, "张小明", void).get_data(as_text=True)



def test_malformed_or_oversized_reset_forms_are_refused_and_leave_the_code_unused(app, world):
    """Empty, oversized, control-character and mismatched input: a 400 with a Chinese message, nothing used.

    (Oversized fields are refused by WTForms' own length check, in Chinese through learnspace.forms.Form.)"""
    give_login(app, world.people["student_a1"])
    code = _reset_code(app, world)
    client = app.test_client()
    for number, name, typed, password, confirm, message in [
        ("", "张小明", code, NEW, None, "请输入学籍号、教师编号或用户名"),
        (NUMBER, "", code, NEW, None, "请输入姓名"),
        (NUMBER, "张小明", "", NEW, None, "请输入重置码"),
        (NUMBER, "张小明", code, NEW, "Another-2026x", "两次输入的密码不一致"),
        (NUMBER, "张小明", "A" * 5000, NEW, None, "字段长度不能超过 32 个字符"),
        (NUMBER * 100, "张小明", code, NEW, None, "字段长度不能超过 64 个字符"),
        (NUMBER, "张\x00小明", code, NEW, None, "账号、姓名或重置码不正确"),
        (NUMBER, "张小明", code, "x" * 500, None, "字段长度不能超过 128 个字符"),
    ]:
        response = reset_with_code(client, number, name, typed, password, confirm)
        assert response.status_code == 400, (number[:20], name, typed[:20], password[:20])
        assert message in response.get_data(as_text=True)
    assert _used(app) == [None]

def test_reset_and_activation_codes_do_not_stand_in_for_each_other(app, world):
    """An activation code is refused at /reset and a reset code at /activate."""
    admin = signed_in(app, world.admins["school_a1"])
    activation = codes_from_html(issue_codes(admin, world.schools["a1"], "三年级", "1班").get_data(as_text=True))
    assert reset_with_code(app.test_client(), NUMBER, "张小明", activation["张小明"]).status_code == 400
    reset = _reset_code(app, world)  # 张小明 has no space yet: one person can still get a reset code
    assert activate_with_code(app.test_client(), "张小明", reset).status_code == 400


def test_reset_codes_expire_sooner_than_activation_codes(app, world):
    """RESET_CODE_DAYS (3 by default) from now, shorter than ACTIVATION_CODE_DAYS."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.db import utcnow
    from learnspace.extensions import db

    give_login(app, world.people["student_a1"])
    _reset_code(app, world)
    s = app.config["LEARNSPACE"]
    assert s.reset_code_days < s.activation_code_days
    with app.app_context():
        expires = db.session.scalar(select(ActivationCode.expires_dt).where(ActivationCode.kind == "reset"))
        assert abs(expires - (utcnow() + timedelta(days=s.reset_code_days))) < timedelta(minutes=5)


def test_failed_reset_attempts_are_counted_and_then_slowed(make_app, world):
    """Above the per-address ceiling even the right code waits a few seconds, and the code stays unused."""
    limited = make_app(env={"LEARNSPACE_LOGIN_IP_LIMIT": "3"})
    give_login(limited, world.people["student_a1"])
    code = _reset_code(limited, world)
    guesser = client_at(limited, "192.0.2.60")
    for i in range(3):
        assert reset_with_code(guesser, NUMBER, "张小明", f"AAAA-BBBB-C{i + 2}").status_code == 400
    blocked = reset_with_code(guesser, NUMBER, "张小明", code)
    assert blocked.status_code == 429 and "请 2 秒后再试" in blocked.get_data(as_text=True)
    assert _used(limited) == [None]
    assert reset_with_code(client_at(limited, "192.0.2.61"), NUMBER, "张小明", code).status_code == 302
    assert _used(limited) != [None]


def test_admin_accounts_without_a_school_are_reset_within_scope(app, world):
    """Platform admins reset region admins; a city admin its counties; a county admin neither peers nor above."""
    county = _id_of(app, "county-a")
    for admin, target in (("county_a", "province"), ("county_b", "county-a"), ("school_a1", "county-a"),
                          ("city_a", "city-a")):
        client = signed_in(app, world.admins[admin])
        token = token_from(client, "/admin/")
        refused = client.post(f"/admin/people/{_id_of(app, target)}/reset-code", data={"csrf_token": token})
        assert refused.status_code == 403, (admin, target)
    assert issue_reset_code(signed_in(app, world.admins["city_a"]), county).status_code == 200

    code = _reset_code(app, world, person="county-a", admin="platform", confirm=True)  # voids the city admin's one
    assert reset_with_code(app.test_client(), "county-a", "芙蓉区管理员", code).status_code == 302
    assert login(app.test_client(), "county-a", NEW).status_code == 302


def test_reset_code_post_needs_a_csrf_token(app, world):
    """Without the token nothing is issued."""
    give_login(app, world.people["student_a1"])
    client = signed_in(app, world.admins["school_a1"])
    response = client.post(f"/admin/people/{world.people['student_a1']}/reset-code", data={})
    assert response.status_code in (302, 400)
    assert _used(app) == []


def test_login_page_points_to_the_reset_page(app, world):
    """忘记密码？ is on the sign-in page, also where a lockout is reported, and /reset shows the password rule."""
    page = app.test_client().get("/login").get_data(as_text=True)
    assert 'href="/reset"' in page and "忘记密码？" in page
    # The refusal (wrong password, or the lockout's "联系学校管理员") is shown on that page, beside the link.
    refused = login(app.test_client(), "platform", "Wrong2026pass")
    assert refused.status_code >= 400 and 'href="/reset"' in refused.get_data(as_text=True)
    form = app.test_client().get("/reset").get_data(as_text=True)
    assert "password-rule" in form and "重置码" in form


def _cli(app, *args):
    from learnspace.cli import main

    return app.test_cli_runner().invoke(main, list(args))


def test_cli_reset_code_lets_the_operator_reset_the_last_platform_admin(app, world):
    """learnspace reset-code prints a code once; the admin redeems it; a second needs --replace."""
    import re

    result = _cli(app, "reset-code", "platform")
    assert result.exit_code == 0, result.output
    code = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{2}", result.output).group(0)
    again = _cli(app, "reset-code", "platform")
    assert again.exit_code != 0 and "--replace" in again.output
    assert reset_with_code(app.test_client(), "platform", "平台管理员", code).status_code == 302
    assert login(app.test_client(), "platform", NEW).status_code == 302
    assert [e["ip"] for e in audit_log(app) if e["action"] == "codes.issue"] == ["cli"]


def test_cli_reset_code_applies_the_admins_scope(app, world):
    """--admin school-a1 cannot reset a county admin (refused, audited, nothing issued); an unknown account is named."""
    refused = _cli(app, "reset-code", "county-a", "--admin", "school-a1")
    assert refused.exit_code != 0 and "无权" in refused.output
    assert any(e["action"] == "admin.scope" and e["result"] == "denied" for e in audit_log(app))
    assert _used(app) == []
    unknown = _cli(app, "reset-code", "nobody")
    assert unknown.exit_code != 0 and "找不到账号" in unknown.output
    give_login(app, world.people["student_a1"])
    assert _cli(app, "reset-code", NUMBER, "--admin", "school-a1").exit_code == 0
