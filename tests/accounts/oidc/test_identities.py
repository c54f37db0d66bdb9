"""One person, several providers: linking a second provider, and admins unlinking (in scope only)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from learnspace.accounts.models import Identity
from learnspace.extensions import db
from learnspace.spaces.models import Space
from tests.accounts.oidc.checks import count, is_signed_in
from tests.fixtures.oidc import sign_in_via
from tests.fixtures.people import audit_log, signed_in, token_from

TEACHER = dict(name="李老师", teacher_number="T4301020001001", school_code="4301020001", role="teacher")


def _identities(app, user_id: int) -> list[tuple[int, str, str]]:
    with app.app_context():
        return [(i.id, i.provider, i.subject) for i in db.session.scalars(
            select(Identity).where(Identity.user_id == user_id).order_by(Identity.id))]


@pytest.fixture
def linked_twice(app, world, oidc_world):
    """李老师 signed in through hunan (subject t-li) and through other (subject li-at-other)."""
    oidc_world.set_user("t-li", **TEACHER)
    oidc_world.set_user("li-at-other", **TEACHER)
    assert sign_in_via(app.test_client(), oidc_world, "hunan", "t-li").status_code == 302
    browser = app.test_client()
    assert sign_in_via(browser, oidc_world, "other", "li-at-other").status_code == 302
    assert "李老师的个人空间" in browser.get("/space").get_data(as_text=True)
    return _identities(app, world.people["teacher_a1"])


def test_second_provider_links_a_second_identity_to_the_same_space(app, world, linked_twice):
    teacher_id = world.people["teacher_a1"]
    assert [(p, s) for _, p, s in linked_twice] == [("hunan", "t-li"), ("other", "li-at-other")]
    assert count(app, Space) == 1
    assert count(app, Space, Space.owner_id == teacher_id) == 1
    links = [e for e in audit_log(app) if e["action"] == "identity.link"]
    assert [("provider=hunan" in e["detail"], "provider=other" in e["detail"]) for e in links] == [
        (True, False), (False, True)]


def test_person_page_lists_linked_providers_by_title(app, world, linked_twice):
    html = signed_in(app, world.admins["school_a1"]).get(
        f"/admin/people/{world.people['teacher_a1']}").get_data(as_text=True)
    assert "湖南省教育统一身份认证" in html and "另一个省统一身份认证" in html
    for identity_id, _, _ in linked_twice:
        assert f"/identities/{identity_id}/unlink" in html


def _unlink(browser, person_id: int, identity_id: int):
    return browser.post(f"/admin/people/{person_id}/identities/{identity_id}/unlink",
                        data={"csrf_token": token_from(browser, "/admin/")})


@pytest.mark.parametrize("admin", ["school_a1", "county_a", "platform"])
def test_admin_in_scope_unlinks_one_identity(app, world, oidc_world, linked_twice, admin):
    """The other link and the space stay; the unlink is audited; the next sign-in re-checks the roster."""
    teacher_id = world.people["teacher_a1"]
    (hunan_id, _, _), (other_id, _, _) = linked_twice
    browser = signed_in(app, world.admins[admin])
    response = _unlink(browser, teacher_id, other_id)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/people/{teacher_id}")
    assert _identities(app, teacher_id) == [(hunan_id, "hunan", "t-li")]
    assert count(app, Space, Space.owner_id == teacher_id) == 1
    unlinks = [e for e in audit_log(app) if e["action"] == "identity.unlink"]
    assert len(unlinks) == 1
    assert unlinks[0]["target"] == f"user:{teacher_id}" and "provider=other" in unlinks[0]["detail"]
    assert unlinks[0]["actor_id"] is not None and unlinks[0]["actor_id"] != teacher_id

    # Unlinked: the provider's person is matched against the roster again, and now fails the name check.
    oidc_world.set_user("li-at-other", **{**TEACHER, "name": "李四"})
    again = app.test_client()
    assert sign_in_via(again, oidc_world, "other", "li-at-other").status_code == 403
    assert not is_signed_in(again)
    assert _identities(app, teacher_id) == [(hunan_id, "hunan", "t-li")]


@pytest.mark.parametrize("admin", ["school_b1", "county_b"])
def test_admin_out_of_scope_cannot_unlink(app, world, linked_twice, admin):
    teacher_id = world.people["teacher_a1"]
    browser = signed_in(app, world.admins[admin])
    response = _unlink(browser, teacher_id, linked_twice[1][0])
    assert response.status_code == 403
    assert "管辖范围" in response.get_data(as_text=True)
    assert _identities(app, teacher_id) == linked_twice
    assert not [e for e in audit_log(app) if e["action"] == "identity.unlink"]
    assert [e["target"] for e in audit_log(app) if e["result"] == "denied"] == [f"user:{teacher_id}"]


def test_identity_of_another_person_cannot_be_unlinked_through_this_person(app, world, oidc_world, linked_twice):
    """The identity id must belong to the person in the address (404 otherwise)."""
    student_id = world.people["student_a1"]  # same school, so the scope check passes
    browser = signed_in(app, world.admins["school_a1"])
    assert _unlink(browser, student_id, linked_twice[0][0]).status_code == 404
    assert _identities(app, world.people["teacher_a1"]) == linked_twice


def test_unlink_without_csrf_token_changes_nothing(app, world, linked_twice):
    browser = signed_in(app, world.admins["school_a1"])
    teacher_id = world.people["teacher_a1"]
    browser.post(f"/admin/people/{teacher_id}/identities/{linked_twice[0][0]}/unlink", data={})
    assert _identities(app, teacher_id) == linked_twice
