"""The audit log: one entry per audited action, no secrets in it, and append-only."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import delete, select, update

from tests.fixtures.people import (
    activate_with_code,
    audit_log,
    codes_from_html,
    confirmation_fields,
    give_login,
    issue_codes,
    issue_reset_code,
    reset_with_code,
    signed_in,
    token_from,
)
from tests.fixtures.world import PASSWORD, valid_id

WRONG = "Wr0ng-password"
NEW_PASSWORD = "Space2026ok"
ROSTER_ID = valid_id("43010220160202002")


def _roster(school_code: str, id_card: str = ROSTER_ID) -> bytes:
    return ("姓名,角色,学校标识码,学籍号,教师编号,身份证号,年级,班级\n"
            f"周新同学,学生,{school_code},G430102201602020022,,{id_card},一年级,2班\n").encode("utf-8")


def _post_roster(client, school_code, body: bytes):
    token = token_from(client, "/admin/roster")
    return client.post("/admin/roster", content_type="multipart/form-data",
                       data={"school_code": school_code, "csrf_token": token,
                             "file": (io.BytesIO(body), "roster.csv")})


def _user_id(app, login_name):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.login_name == login_name))


# Each case prepares what it needs (entries written then do not count) and returns
# the action to audit plus who should be named as the actor.

def case_login_success(app, world):
    client = app.test_client()
    token = token_from(client, "/login")
    return (lambda: client.post("/login", data={"login_name": "platform", "password": PASSWORD,
                                                "csrf_token": token}),
            _user_id(app, "platform"))


def case_login_failure(app, world):
    client = app.test_client()
    token = token_from(client, "/login")
    return (lambda: client.post("/login", data={"login_name": "platform", "password": WRONG,
                                                "csrf_token": token}), None)


def case_login_rate_limited(app, world):
    from tests.fixtures.helpers import login

    client = app.test_client()
    for _ in range(5):
        login(client, "county-a", WRONG)
    token = token_from(client, "/login")
    return (lambda: client.post("/login", data={"login_name": "county-a", "password": PASSWORD,
                                                "csrf_token": token}), None)


def case_logout(app, world):
    client = signed_in(app, "school-a1")
    token = token_from(client, "/admin/")
    return lambda: client.post("/logout", data={"csrf_token": token}), _user_id(app, "school-a1")


def case_roster_import(app, world):
    client = signed_in(app, "school-a1")
    return (lambda: _post_roster(client, world.schools["a1"], _roster(world.schools["a1"])),
            _user_id(app, "school-a1"))


def case_roster_import_rejected(app, world):
    client = signed_in(app, "school-a1")
    bad = valid_id("43010220160202002")[:17] + ("0" if ROSTER_ID[17] != "0" else "1")
    return (lambda: _post_roster(client, world.schools["a1"], _roster(world.schools["a1"], bad)),
            _user_id(app, "school-a1"))


def case_activation_redeem(app, world):
    admin = signed_in(app, "school-a1")
    code = codes_from_html(issue_codes(admin, world.schools["a1"], "三年级", "1班").get_data(as_text=True))["张小明"]
    client = app.test_client()
    return lambda: activate_with_code(client, "张小明", code, NEW_PASSWORD), world.people["student_a1"]


def case_activation_redeem_failure(app, world):
    admin = signed_in(app, "school-a1")
    code = codes_from_html(issue_codes(admin, world.schools["a1"], "三年级", "1班").get_data(as_text=True))["张小明"]
    client = app.test_client()
    return lambda: activate_with_code(client, "王小红", code, NEW_PASSWORD), None


def case_code_issue(app, world):
    admin = signed_in(app, "school-a1")
    token = token_from(admin, f"/admin/schools/{world.schools['a1']}")
    return (lambda: admin.post(f"/admin/schools/{world.schools['a1']}/codes",
                               data={"grade": "三年级", "class_name": "1班", "kind": "activation",
                                     "csrf_token": token}),
            _user_id(app, "school-a1"))


def case_code_regenerate(app, world):
    admin = signed_in(app, "school-a1")
    issue_codes(admin, world.schools["a1"], "三年级", "1班")
    asked = issue_codes(admin, world.schools["a1"], "三年级", "1班")  # the confirmation page: nothing audited yet
    data = {"grade": "三年级", "class_name": "1班", "kind": "activation", **confirmation_fields(asked)}
    return (lambda: admin.post(f"/admin/schools/{world.schools['a1']}/codes", data=data),
            _user_id(app, "school-a1"))


def case_reset_code_issue(app, world):
    admin = signed_in(app, "school-a1")
    token = token_from(admin, f"/admin/people/{world.people['student_a1']}")
    return (lambda: admin.post(f"/admin/people/{world.people['student_a1']}/reset-code", data={"csrf_token": token}),
            _user_id(app, "school-a1"))


def _reset_code_for_student(app, world) -> str:
    give_login(app, world.people["student_a1"])
    page = issue_reset_code(signed_in(app, "school-a1"), world.people["student_a1"])
    return codes_from_html(page.get_data(as_text=True))["张小明"]


def case_password_reset(app, world):
    code = _reset_code_for_student(app, world)
    client = app.test_client()
    return (lambda: reset_with_code(client, "G430102201501010011", "张小明", code, NEW_PASSWORD),
            world.people["student_a1"])


def case_password_reset_failure(app, world):
    code = _reset_code_for_student(app, world)
    client = app.test_client()
    return lambda: reset_with_code(client, "G430102201501010011", "王小红", code, NEW_PASSWORD), None


def case_idcard_reveal(app, world):
    admin = signed_in(app, "county-a")
    token = token_from(admin, "/admin/")
    return (lambda: admin.post(f"/admin/people/{world.people['student_a1']}/reveal-id", data={"csrf_token": token}),
            _user_id(app, "county-a"))


def case_disable(app, world):
    admin = signed_in(app, "county-b")
    token = token_from(admin, "/admin/")
    return (lambda: admin.post(f"/admin/people/{world.people['student_b1']}/disable", data={"csrf_token": token}),
            _user_id(app, "county-b"))


def case_transfer(app, world):
    admin = signed_in(app, "province")
    token = token_from(admin, "/admin/")
    return (lambda: admin.post(f"/admin/people/{world.people['student_b1']}/transfer",
                               data={"school_code": world.schools["a2"], "csrf_token": token}),
            _user_id(app, "province"))


def case_scope_denial(app, world):
    admin = signed_in(app, "school-b1")
    return lambda: admin.get(f"/admin/schools/{world.schools['a1']}"), _user_id(app, "school-b1")


def case_region_create(app, world):
    admin = signed_in(app, "city-a")
    token = token_from(admin, "/admin/regions")
    return (lambda: admin.post("/admin/regions", data={"code": "430103", "name": "天心区", "csrf_token": token}),
            _user_id(app, "city-a"))


def case_school_create(app, world):
    admin = signed_in(app, "county-a")
    token = token_from(admin, "/admin/schools")
    return (lambda: admin.post("/admin/schools", data={"code": "4301020099", "name": "芙蓉区新学校", "stage": "小学",
                                                       "county_code": "430102", "csrf_token": token}),
            _user_id(app, "county-a"))


AUDITED = [
    ("login success", case_login_success, [("auth.login", "success")]),
    ("login failure", case_login_failure, [("auth.login", "failure")]),
    ("login rate limited", case_login_rate_limited, [("auth.login", "denied")]),
    ("logout", case_logout, [("auth.logout", "success")]),
    ("roster import", case_roster_import, [("roster.import", "success")]),
    ("roster import rejected", case_roster_import_rejected, [("roster.import", "failure")]),
    # Redeeming a code also activates the space: two facts, one entry each.
    ("activation redeem", case_activation_redeem, [("activation.redeem", "success"), ("space.activate", "success")]),
    ("activation redeem failure", case_activation_redeem_failure, [("activation.redeem", "failure")]),
    ("code issue", case_code_issue, [("codes.issue", "success")]),
    ("code regenerate", case_code_regenerate, [("codes.void", "success"), ("codes.issue", "success")]),
    ("reset code issue", case_reset_code_issue, [("codes.issue", "success")]),
    ("password reset", case_password_reset, [("password.reset", "success")]),
    ("password reset failure", case_password_reset_failure, [("password.reset", "failure")]),
    ("id-card reveal", case_idcard_reveal, [("idcard.reveal", "success")]),
    ("disable", case_disable, [("user.disable", "success")]),
    ("transfer", case_transfer, [("user.transfer", "success")]),
    ("scope denial", case_scope_denial, [("admin.scope", "denied")]),
    ("region create", case_region_create, [("region.create", "success")]),
    ("school create", case_school_create, [("school.create", "success")]),
]


@pytest.mark.parametrize("label, prepare, expected", AUDITED, ids=[a[0] for a in AUDITED])
def test_each_audited_action_writes_exactly_the_expected_entries(app, world, label, prepare, expected):
    """The action adds exactly the listed entries, with the acting user and the client IP."""
    action, actor_id = prepare(app, world)
    before = len(audit_log(app))
    response = action()
    assert response.status_code < 500
    new = audit_log(app)[before:]
    assert [(e["action"], e["result"]) for e in new] == expected, new
    first = new[0]
    assert first["ip"] == "127.0.0.1"
    assert first["actor_id"] == actor_id


def test_cli_roster_import_is_audited_once_naming_the_admin(app, world, tmp_path):
    """The CLI import writes one roster.import entry with the --admin as actor and 'cli' as origin."""
    from learnspace.cli import main

    path = tmp_path / "roster.csv"
    path.write_bytes(_roster(world.schools["a1"]))
    before = len(audit_log(app))
    result = app.test_cli_runner().invoke(main, ["import-roster", str(path), "--school", world.schools["a1"],
                                                 "--admin", "school-a1"])
    assert result.exit_code == 0, result.output
    new = audit_log(app)[before:]
    assert [(e["action"], e["result"], e["ip"]) for e in new] == [("roster.import", "success", "cli")]
    assert new[0]["actor_id"] == _user_id(app, "school-a1")


def test_audit_log_holds_no_passwords_codes_id_numbers_or_names(app, world):
    """After sign-ins, an import with ID numbers, codes, activation and a reveal, the log has no secrets."""
    from tests.fixtures.helpers import login

    login(app.test_client(), "platform", WRONG)
    login(app.test_client(), "nobody", PASSWORD)
    admin = signed_in(app, "school-a1")
    assert _post_roster(admin, world.schools["a1"], _roster(world.schools["a1"])).status_code == 200
    bad = ROSTER_ID[:17] + ("0" if ROSTER_ID[17] != "0" else "1")
    _post_roster(admin, world.schools["a1"], _roster(world.schools["a1"], bad))
    html = issue_codes(admin, world.schools["a1"], "三年级", "1班").get_data(as_text=True)
    code = codes_from_html(html)["张小明"]
    activate_with_code(app.test_client(), "王小红", code, NEW_PASSWORD)  # wrong name
    assert activate_with_code(app.test_client(), "张小明", code, NEW_PASSWORD).status_code == 302
    token = token_from(admin, "/admin/")
    revealed = admin.post(f"/admin/people/{world.people['student_a1']}/reveal-id", data={"csrf_token": token})
    world_id = valid_id("43010220150101001")
    assert world_id in revealed.get_data(as_text=True)

    log_text = repr(audit_log(app))
    for secret in (PASSWORD, WRONG, NEW_PASSWORD, code, code.replace("-", ""), ROSTER_ID, bad, world_id,
                   "张小明", "王小红", "周新同学"):
        assert secret not in log_text, secret
    assert len(audit_log(app)) >= 9


def _one_entry(app):
    from learnspace.audit import operations as audit
    from learnspace.extensions import db

    with app.app_context():
        entry = audit.record("test.entry", target="user:1", detail="kept as written")
        db.session.commit()
        return entry.id


def test_an_audit_entry_cannot_be_changed_through_the_orm(app, world):
    """Editing a loaded entry and flushing raises; the stored entry is unchanged."""
    from learnspace.audit.models import AuditEntry
    from learnspace.extensions import db

    entry_id = _one_entry(app)
    with app.app_context():
        entry = db.session.get(AuditEntry, entry_id)
        entry.detail = "rewritten"
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.commit()
        db.session.rollback()
    with app.app_context():
        assert db.session.get(AuditEntry, entry_id).detail == "kept as written"


def test_an_audit_entry_cannot_be_deleted_through_the_orm(app, world):
    """Deleting a loaded entry and flushing raises; the entry is still there."""
    from learnspace.audit.models import AuditEntry
    from learnspace.extensions import db

    entry_id = _one_entry(app)
    with app.app_context():
        db.session.delete(db.session.get(AuditEntry, entry_id))
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.commit()
        db.session.rollback()
    with app.app_context():
        assert db.session.get(AuditEntry, entry_id) is not None


@pytest.mark.parametrize("statement", [
    lambda AuditEntry: update(AuditEntry).values(detail="rewritten"),
    lambda AuditEntry: delete(AuditEntry),
    lambda AuditEntry: update(AuditEntry.__table__).values(detail="rewritten"),
], ids=["bulk update", "bulk delete", "table update"])
def test_bulk_update_or_delete_of_audit_entries_is_refused(app, world, statement):
    """ORM-enabled UPDATE/DELETE statements on audit entries raise too, and nothing changes."""
    from learnspace.audit.models import AuditEntry
    from learnspace.extensions import db

    entry_id = _one_entry(app)
    with app.app_context():
        with pytest.raises(RuntimeError, match="append-only"):
            db.session.execute(statement(AuditEntry))
        db.session.rollback()
    with app.app_context():
        assert db.session.get(AuditEntry, entry_id).detail == "kept as written"
