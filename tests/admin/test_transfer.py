"""School transfers: the person moves, the space stays theirs, the move is kept in history."""
from __future__ import annotations

from sqlalchemy import select

from tests.fixtures.people import give_login, signed_in, token_from


def _transfer(app, world, admin, person, target):
    client = signed_in(app, world.admins[admin])
    url = f"/admin/people/{world.people[person]}"
    return client.post(f"{url}/transfer", data={"school_code": world.schools[target],
                                                "csrf_token": token_from(client, url)})


def _state(app, person_id):
    from learnspace.accounts.models import SchoolTransfer, User
    from learnspace.extensions import db
    from learnspace.orgs.models import School
    from learnspace.spaces.models import Space

    with app.app_context():
        user = db.session.get(User, person_id)
        space = db.session.scalar(select(Space).where(Space.owner_id == person_id))
        moves = list(db.session.scalars(select(SchoolTransfer).where(SchoolTransfer.user_id == person_id)
                                        .order_by(SchoolTransfer.id)))
        code = {s.id: s.code for s in db.session.scalars(select(School))}
        return dict(
            school=code[user.school_id],
            space_id=space.id if space else None,
            activated_school=code.get(space.activated_school_id) if space else None,
            moves=[(code.get(m.from_school_id), code[m.to_school_id], m.actor_id) for m in moves],
        )


def _admin_id(app, login_name):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.login_name == login_name))


def test_transfer_keeps_the_same_space_and_records_the_move(app, world):
    """A student moving from a1 to b1 keeps their space id; activated_school stays a1; a history row is written."""
    give_login(app, world.people["student_a1"])
    before = _state(app, world.people["student_a1"])
    assert before["school"] == world.schools["a1"] and before["space_id"] is not None

    response = _transfer(app, world, "province", "student_a1", "b1")
    assert response.status_code == 302

    after = _state(app, world.people["student_a1"])
    assert after["school"] == world.schools["b1"]
    assert after["space_id"] == before["space_id"]
    assert after["activated_school"] == world.schools["a1"]
    assert after["moves"] == [(world.schools["a1"], world.schools["b1"], _admin_id(app, "province"))]


def test_two_moves_build_a_history_and_the_space_follows(app, world):
    """a1 → a2 → b2: two history rows in order, one space throughout."""
    give_login(app, world.people["student_a1"])
    space_id = _state(app, world.people["student_a1"])["space_id"]
    assert _transfer(app, world, "county_a", "student_a1", "a2").status_code == 302
    assert _transfer(app, world, "platform", "student_a1", "b2").status_code == 302
    state = _state(app, world.people["student_a1"])
    assert state["space_id"] == space_id
    assert [(m[0], m[1]) for m in state["moves"]] == [(world.schools["a1"], world.schools["a2"]),
                                                      (world.schools["a2"], world.schools["b2"])]
    assert state["activated_school"] == world.schools["a1"]


def test_moved_student_still_signs_in_to_the_same_space(app, world):
    """After the move the student's login and /space are unchanged, now showing the new school."""
    name = give_login(app, world.people["student_a1"])
    _transfer(app, world, "province", "student_a1", "b1")
    page = signed_in(app, name).get("/space").get_data(as_text=True)
    assert "张小明的个人空间" in page and "荷塘区第一小学" in page


def test_new_school_admin_manages_the_person_and_the_old_one_no_longer_does(app, world):
    """Scope follows the person's current school."""
    _transfer(app, world, "province", "student_a1", "b1")
    url = f"/admin/people/{world.people['student_a1']}"
    assert signed_in(app, world.admins["school_b1"]).get(url).status_code == 200
    assert signed_in(app, world.admins["school_a1"]).get(url).status_code == 403


def test_transfer_of_a_not_yet_activated_person_creates_no_space(app, world):
    """Moving someone still waiting for activation moves them; a space appears only at activation."""
    assert _transfer(app, world, "platform", "student_b1", "a1").status_code == 302
    state = _state(app, world.people["student_b1"])
    assert state["school"] == world.schools["a1"] and state["space_id"] is None
    assert len(state["moves"]) == 1


def test_transfer_to_the_current_school_is_refused(app, world):
    """Moving a person to the school they are already in is refused and records nothing."""
    response = _transfer(app, world, "school_a1", "student_a1", "a1")
    assert response.status_code == 400
    assert "该用户已在这所学校" in response.get_data(as_text=True)
    assert _state(app, world.people["student_a1"])["moves"] == []


def test_transfer_to_an_unknown_school_code_is_refused(app, world):
    """A school code that does not exist: a clear 'not found' and no change."""
    client = signed_in(app, world.admins["platform"])
    url = f"/admin/people/{world.people['student_a1']}"
    response = client.post(f"{url}/transfer", data={"school_code": "4309990001", "csrf_token": token_from(client, url)})
    assert response.status_code == 404
    assert "不存在" in response.get_data(as_text=True)
    assert _state(app, world.people["student_a1"])["school"] == world.schools["a1"]


def test_transfer_with_a_malformed_school_code_explains_the_format(app, world):
    """A code that is not 10 digits is refused with the form's Chinese message, no change."""
    client = signed_in(app, world.admins["platform"])
    url = f"/admin/people/{world.people['student_a1']}"
    response = client.post(f"{url}/transfer", data={"school_code": "43010", "csrf_token": token_from(client, url)})
    assert response.status_code == 302
    assert "应为 10 位数字" in client.get(url).get_data(as_text=True)
    assert _state(app, world.people["student_a1"])["moves"] == []
