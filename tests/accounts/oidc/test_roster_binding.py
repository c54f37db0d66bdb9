"""Binding a provider's person to the roster: no match, no account; the roster stays the authority."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from learnspace.accounts.models import Identity, SchoolClaimReport, User, UserSession
from learnspace.extensions import db
from learnspace.spaces.models import Space
from tests.accounts.oidc.checks import count, is_signed_in, oidc_audit, rows_besides_audit
from tests.fixtures.oidc import sign_in_via
from tests.fixtures.people import audit_log, signed_in, token_from

TEACHER = dict(name="李老师", teacher_number="T4301020001001", school_code="4301020001", role="teacher")
STUDENT = dict(name="张小明", student_number="G430102201501010011", school_code="4301020001", role="student")


def _assert_not_on_roster(app, client, response, rows_before, reason: str) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 403, (response.status_code, html[:1000])
    assert "名册" in html
    assert re.search("学校的?管理员", html), "the page must say whom to ask"
    assert "无法开通个人空间" in html
    assert rows_besides_audit(app) == rows_before  # no User, Identity, Space or UserSession row
    assert count(app, Identity) == 0 and count(app, Space) == 0 and count(app, UserSession) == 0
    assert not is_signed_in(client)
    failures = oidc_audit(app, "failure")
    assert len(failures) == 1, failures
    assert reason in failures[0]["detail"] and "provider=hunan" in failures[0]["detail"]
    assert oidc_audit(app, "success") == []
    assert not [e for e in audit_log(app) if e["action"] in ("identity.link", "space.activate")]


@pytest.mark.parametrize("claims", [
    dict(name="赵老师", teacher_number="T9999999999999", school_code="4301020001", role="teacher"),
    dict(name="钱同学", student_number="G430102209912310099", school_code="4301020001", role="student"),
    dict(name="孙某"),  # the provider sends no number at all
], ids=["unknown-teacher", "unknown-student", "no-number"])
def test_unrostered_person_gets_the_explanation_and_no_account(app, client, world, oidc_world, claims):
    """A person no roster knows is told in Chinese to ask the school admin; nothing is created."""
    oidc_world.set_user("stranger", **claims)
    users_before = count(app, User)
    before = rows_besides_audit(app)
    response = sign_in_via(client, oidc_world, "hunan", "stranger")
    _assert_not_on_roster(app, client, response, before, "not on roster")
    assert count(app, User) == users_before
    assert "sub=stranger" in oidc_audit(app, "failure")[0]["detail"]


@pytest.mark.parametrize("claims, reason", [
    ({**TEACHER, "name": "李四"}, "name differs"),
    ({**TEACHER, "role": "student"}, "role differs"),
    ({**STUDENT, "name": "张小红"}, "name differs"),
    ({**STUDENT, "role": "教师"}, "role differs"),
], ids=["teacher-name", "teacher-role", "student-name", "student-role"])
def test_matching_number_with_another_name_or_role_is_refused(app, client, world, oidc_world, claims, reason):
    """A number that matches but a name or role that does not never binds someone else's space."""
    oidc_world.set_user("mistyped", **claims)
    before = rows_besides_audit(app)
    response = sign_in_via(client, oidc_world, "hunan", "mistyped")
    _assert_not_on_roster(app, client, response, before, reason)


def test_chinese_role_word_from_the_provider_is_understood(app, client, world, oidc_world):
    """Providers that say 教师 rather than teacher still match the rostered teacher."""
    oidc_world.set_user("t-li-cn", **{**TEACHER, "role": "教师"})
    response = sign_in_via(client, oidc_world, "hunan", "t-li-cn")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    assert count(app, Identity, Identity.user_id == world.people["teacher_a1"]) == 1


def _disable(app, world, person_key: str) -> None:
    admin = signed_in(app, world.admins["school_a1"])
    person_id = world.people[person_key]
    response = admin.post(f"/admin/people/{person_id}/disable",
                          data={"csrf_token": token_from(admin, f"/admin/people/{person_id}")})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, person_id).is_disabled


def test_disabled_account_cannot_sign_in_for_the_first_time(app, client, world, oidc_world):
    """A disabled person is refused before any link, space or session is made."""
    _disable(app, world, "teacher_a1")
    oidc_world.set_user("t-li", **TEACHER)
    before = rows_besides_audit(app)
    response = sign_in_via(client, oidc_world, "hunan", "t-li")
    assert response.status_code == 403
    assert "已停用" in response.get_data(as_text=True)
    assert rows_besides_audit(app) == before
    teacher_id = world.people["teacher_a1"]
    assert count(app, Identity) == 0 and count(app, Space) == 0
    assert count(app, UserSession, UserSession.user_id == teacher_id) == 0
    assert not is_signed_in(client)
    denied = oidc_audit(app, "denied")
    assert [(e["target"], e["detail"]) for e in denied] == [
        (f"user:{teacher_id}", "provider=hunan sub=t-li account disabled")]
    assert oidc_audit(app, "success") == []


def test_disabled_account_with_a_linked_identity_is_refused(app, world, oidc_world):
    """Once disabled, a linked person's browser is signed out and the next sign-in creates no session."""
    oidc_world.set_user("t-li", **TEACHER)
    browser = app.test_client()
    assert sign_in_via(browser, oidc_world, "hunan", "t-li").status_code == 302
    _disable(app, world, "teacher_a1")
    assert not is_signed_in(browser)
    sessions = count(app, UserSession)
    response = sign_in_via(browser, oidc_world, "hunan", "t-li")
    assert response.status_code == 403
    assert "已停用" in response.get_data(as_text=True)
    assert count(app, UserSession) == sessions
    assert not is_signed_in(browser)
    assert count(app, Identity) == 1  # the link is kept; the account is what is refused
    assert len(oidc_audit(app, "denied")) == 1


# --- a provider asserting another school ----------------------------------------------------------

def _report_ids(app) -> list[tuple[int, bool]]:
    with app.app_context():
        return [(r.id, r.resolved_dt is not None) for r in db.session.scalars(select(SchoolClaimReport))]


def test_other_school_claim_is_reported_not_applied(app, client, world, oidc_world):
    """Sign-in works, the person stays at the roster's school, and the school admin sees a report."""
    teacher_id = world.people["teacher_a1"]
    with app.app_context():
        school_id = db.session.get(User, teacher_id).school_id
    oidc_world.set_user("t-li", **{**TEACHER, "school_code": world.schools["b1"]})
    response = sign_in_via(client, oidc_world, "hunan", "t-li")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    assert is_signed_in(client)
    with app.app_context():
        assert db.session.get(User, teacher_id).school_id == school_id
        report = db.session.scalar(select(SchoolClaimReport))
        assert (report.user_id, report.school_id, report.provider, report.asserted_school_code,
                report.resolved_dt) == (teacher_id, school_id, "hunan", world.schools["b1"], None)
    assert [e["target"] for e in audit_log(app) if e["action"] == "identity.school_mismatch"] == [
        f"user:{teacher_id}"]
    # The same claim again does not pile up reports.
    assert sign_in_via(app.test_client(), oidc_world, "hunan", "t-li").status_code == 302
    assert len(_report_ids(app)) == 1

    page = signed_in(app, world.admins["school_a1"]).get(f"/admin/schools/{world.schools['a1']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="school-claims"' in html and "李老师" in html and world.schools["b1"] in html
    # The school the provider named does not see it: the person is not theirs.
    other = signed_in(app, world.admins["school_b1"]).get(f"/admin/schools/{world.schools['b1']}")
    assert 'id="school-claims"' not in other.get_data(as_text=True)


def test_matching_school_claim_makes_no_report(app, client, world, oidc_world):
    oidc_world.set_user("t-li", **TEACHER)
    assert sign_in_via(client, oidc_world, "hunan", "t-li").status_code == 302
    assert _report_ids(app) == []


@pytest.mark.parametrize("admin, allowed", [
    ("school_b1", False), ("county_b", False), ("school_a1", True), ("county_a", True), ("province", True),
])
def test_only_admins_in_scope_can_resolve_a_school_claim_report(app, world, oidc_world, admin, allowed):
    """Resolving hides the report from the school page; admins of other schools get 403."""
    oidc_world.set_user("t-li", **{**TEACHER, "school_code": world.schools["b1"]})
    assert sign_in_via(app.test_client(), oidc_world, "hunan", "t-li").status_code == 302
    [(report_id, _)] = _report_ids(app)
    school = world.schools["a1"]
    browser = signed_in(app, world.admins[admin])
    token = token_from(browser, "/admin/")
    response = browser.post(f"/admin/schools/{school}/reports/{report_id}/resolve", data={"csrf_token": token})
    if not allowed:
        assert response.status_code == 403
        assert _report_ids(app) == [(report_id, False)]
        assert [e for e in audit_log(app) if e["action"] == "identity.school_mismatch_resolved"] == []
        assert any(e["result"] == "denied" for e in audit_log(app))
        return
    assert response.status_code == 302
    assert _report_ids(app) == [(report_id, True)]
    assert [e["target"] for e in audit_log(app) if e["action"] == "identity.school_mismatch_resolved"] == [
        f"user:{world.people['teacher_a1']}"]
    html = browser.get(f"/admin/schools/{school}").get_data(as_text=True)
    assert 'id="school-claims"' not in html


def test_report_of_one_school_cannot_be_resolved_through_another(app, world, oidc_world):
    """An admin of school b1 cannot resolve a1's report by putting it under b1's address."""
    oidc_world.set_user("t-li", **{**TEACHER, "school_code": world.schools["b1"]})
    assert sign_in_via(app.test_client(), oidc_world, "hunan", "t-li").status_code == 302
    [(report_id, _)] = _report_ids(app)
    browser = signed_in(app, world.admins["school_b1"])
    response = browser.post(f"/admin/schools/{world.schools['b1']}/reports/{report_id}/resolve",
                            data={"csrf_token": token_from(browser, "/admin/")})
    assert response.status_code == 404
    assert _report_ids(app) == [(report_id, False)]
