"""``learnspace demo --idp-users``: the people scripts/run --demo gives its local identity provider."""
from __future__ import annotations

import json

from learnspace.accounts.models import User
from learnspace.cli import main
from learnspace.extensions import db
from learnspace.spaces import operations as spaces
from tests.fixtures.oidc import sign_in_via


def test_demo_idp_users_match_the_demo_roster(app, client, oidc_world, tmp_path):
    """The demo teacher enters her space, the demo student's space opens on first sign-in, the third is refused."""
    users_file = tmp_path / "idp-users.json"
    result = app.test_cli_runner().invoke(main, ["demo", "--idp-users", str(users_file)])
    assert result.exit_code == 0, result.output
    users = {u["claims"]["sub"]: u for u in json.loads(users_file.read_text(encoding="utf-8"))}
    assert set(users) == {"demo-teacher", "demo-student", "demo-unrostered"}
    assert all(u["who"] for u in users.values())

    def space_method(number_field: str, number: str):
        with app.app_context():
            person = db.session.query(User).filter_by(**{number_field: number}).one()
            space = spaces.space_of(person)
            method = space.activation_method if space else None
            db.session.remove()
            return method

    student_number = users["demo-student"]["claims"]["student_number"]
    assert space_method("student_number", student_number) is None  # so the newcomer sees an activation

    for sub, user in users.items():
        claims = {k: v for k, v in user["claims"].items() if k != "sub"}
        oidc_world.set_user(sub, **claims)

    teacher = sign_in_via(client, oidc_world, "hunan", "demo-teacher")
    assert teacher.status_code == 302 and teacher.headers["Location"].endswith("/space")
    assert users["demo-teacher"]["claims"]["name"] in client.get("/space").get_data(as_text=True)
    client.post("/logout")

    other = app.test_client()
    student = sign_in_via(other, oidc_world, "hunan", "demo-student")
    assert student.status_code == 302 and student.headers["Location"].endswith("/space")
    assert space_method("student_number", student_number) == "oidc"

    # Run again (as scripts/run --demo does on every start): the same student is offered.
    app.test_cli_runner().invoke(main, ["demo", "--idp-users", str(users_file)])
    again = {u["claims"]["sub"]: u for u in json.loads(users_file.read_text(encoding="utf-8"))}
    assert again["demo-student"]["claims"]["student_number"] == student_number

    stranger = sign_in_via(app.test_client(), oidc_world, "hunan", "demo-unrostered")
    assert stranger.status_code == 403
    assert "未在学校名册中找到" in stranger.get_data(as_text=True)
