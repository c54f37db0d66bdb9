"""Sign-in through a real OpenID Connect provider process, end to end over HTTP."""
from __future__ import annotations

from sqlalchemy import func, select

from learnspace.accounts.models import Identity, UserSession
from learnspace.audit.models import AuditEntry
from learnspace.extensions import db
from learnspace.spaces.models import Space
from tests.fixtures.oidc import sign_in_via


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

