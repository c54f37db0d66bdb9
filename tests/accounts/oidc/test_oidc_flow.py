"""Sign-in through a real OpenID Connect provider process, end to end over HTTP."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from learnspace.accounts.models import Identity, UserSession
from learnspace.extensions import db
from learnspace.spaces.models import Space
from tests.fixtures.oidc import sign_in_via
from tests.fixtures.people import audit_log


def _count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def test_first_sign_in_links_identity_and_activates_the_rostered_teachers_space(app, client, world, oidc_world):
    oidc_world.set_user("t-li", name="李老师", teacher_number="T4301020001001", school_code="4301020001",
                        role="teacher")
    response = sign_in_via(client, oidc_world, "hunan", "t-li")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    page = client.get("/space").get_data(as_text=True)
    assert "李老师的个人空间" in page
    teacher_id = world.people["teacher_a1"]
    assert _count(app, Identity, Identity.user_id == teacher_id, Identity.provider == "hunan") == 1
    assert _count(app, Space, Space.owner_id == teacher_id) == 1



TEACHER = dict(name="李老师", teacher_number="T4301020001001", school_code="4301020001", role="teacher")
STUDENT = dict(name="张小明", student_number="G430102201501010011", school_code="4301020001", role="student")


def _entries(app, action):
    return [e for e in audit_log(app) if e["action"] == action]


def test_first_sign_in_writes_link_sign_in_and_activation_audit_entries(app, client, world, oidc_world):
    """identity.link, space.activate and a successful auth.oidc, each naming the person, provider and subject."""
    oidc_world.set_user("t-li", **TEACHER)
    client.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert sign_in_via(client, oidc_world, "hunan", "t-li").status_code == 302
    teacher_id = world.people["teacher_a1"]
    links = _entries(app, "identity.link")
    assert len(links) == 1
    assert links[0]["target"] == f"user:{teacher_id}" and links[0]["result"] == "success"
    assert "provider=hunan" in links[0]["detail"] and "sub=t-li" in links[0]["detail"]
    sign_ins = _entries(app, "auth.oidc")
    assert [(e["result"], e["target"], e["actor_id"], e["ip"]) for e in sign_ins] == [
        ("success", f"user:{teacher_id}", teacher_id, "10.1.2.3")]
    assert "provider=hunan" in sign_ins[0]["detail"] and "sub=t-li" in sign_ins[0]["detail"]
    activations = _entries(app, "space.activate")
    assert [(e["target"], e["detail"]) for e in activations] == [(f"user:{teacher_id}", "oidc")]


def test_second_sign_in_reuses_the_identity_and_the_space(app, world, oidc_world):
    """Signing in again (another browser) adds a session, not an Identity, Space or link."""
    oidc_world.set_user("t-li", **TEACHER)
    first, second = app.test_client(), app.test_client()
    assert sign_in_via(first, oidc_world, "hunan", "t-li").status_code == 302
    with app.app_context():
        identity = db.session.scalar(select(Identity))
        identity_id, first_login = identity.id, identity.last_login_dt
        space_id = db.session.scalar(select(Space.id))
    response = sign_in_via(second, oidc_world, "hunan", "t-li")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    assert "李老师的个人空间" in second.get("/space").get_data(as_text=True)
    with app.app_context():
        assert [i.id for i in db.session.scalars(select(Identity))] == [identity_id]
        assert list(db.session.scalars(select(Space.id))) == [space_id]
        assert db.session.get(Identity, identity_id).last_login_dt > first_login
    assert _count(app, UserSession, UserSession.user_id == world.people["teacher_a1"]) == 2
    assert len(_entries(app, "identity.link")) == 1
    assert len(_entries(app, "space.activate")) == 1
    assert [e["result"] for e in _entries(app, "auth.oidc")] == ["success", "success"]


def test_a_rostered_student_signs_in_to_their_own_space(app, client, world, oidc_world):
    """A student is matched by student number and gets their own space, not anybody else's."""
    oidc_world.set_user("s-zhang", **STUDENT)
    response = sign_in_via(client, oidc_world, "hunan", "s-zhang")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    assert "张小明的个人空间" in client.get("/space").get_data(as_text=True)
    student_id = world.people["student_a1"]
    assert _count(app, Identity, Identity.user_id == student_id, Identity.subject == "s-zhang") == 1
    assert _count(app, Space) == 1
    assert _count(app, Space, Space.owner_id == student_id) == 1


def test_same_site_next_is_honoured(client, world, oidc_world):
    """A relative path given at the start of the sign-in is where the browser lands."""
    oidc_world.set_user("t-li", **TEACHER)
    response = sign_in_via(client, oidc_world, "hunan", "t-li", next_url="/spaces/42?from=sso")
    assert response.status_code == 302
    assert response.headers["Location"] in ("/spaces/42?from=sso", "http://localhost/spaces/42?from=sso")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/\\evil.example",
                                    "/\\/evil.example", "https:evil.example", " //evil.example"])
def test_off_site_next_is_ignored(client, world, oidc_world, target):
    """The sign-in cannot be used as an open redirect: off-site targets land in the person's space."""
    oidc_world.set_user("t-li", **TEACHER)
    response = sign_in_via(client, oidc_world, "hunan", "t-li", next_url=target)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "evil" not in location
    assert location in ("/space", "http://localhost/space")
