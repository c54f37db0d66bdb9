"""The space page: the owner sees their own space; students' spaces are private to their school."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.people import give_login, signed_in


def _space_id(app, person_id):
    from learnspace.extensions import db
    from learnspace.spaces.models import Space

    with app.app_context():
        return db.session.scalar(select(Space.id).where(Space.owner_id == person_id))


def _add_person(app, world, key, role, school, **fields):
    """Add and activate one more rostered person; returns their login name."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    with app.app_context():
        school_id = db.session.scalar(select(School.id).where(School.code == world.schools[school]))
        person = User(role=role, school_id=school_id, **fields)
        db.session.add(person)
        db.session.commit()
        world.people[key] = person.id
    return give_login(app, world.people[key])


@pytest.fixture
def campus(app, world):
    """The world plus activated people: two students and a teacher at a1, a student and a teacher at b1."""
    logins = {
        "student_a1": give_login(app, world.people["student_a1"]),
        "teacher_a1": give_login(app, world.people["teacher_a1"]),
        "student_b1": give_login(app, world.people["student_b1"]),
        "classmate_a1": _add_person(app, world, "classmate_a1", "student", "a1", real_name="陈同学",
                                    student_number="G430102201503030033", grade="三年级", class_name="1班"),
        "teacher_b1": _add_person(app, world, "teacher_b1", "teacher", "b1", real_name="赵老师",
                                  teacher_number="T4302020001001"),
    }
    return logins


def test_owner_sees_their_own_space_at_space_and_by_id(app, world, campus):
    """/space and /spaces/<id> both show the owner's space with name, school and role."""
    client = signed_in(app, campus["student_a1"])
    mine = client.get("/space")
    assert mine.status_code == 200
    html = mine.get_data(as_text=True)
    assert "张小明的个人空间" in html and "芙蓉区第一小学" in html and "学生" in html
    by_id = client.get(f"/spaces/{_space_id(app, world.people['student_a1'])}")
    assert by_id.status_code == 200 and "张小明的个人空间" in by_id.get_data(as_text=True)


@pytest.mark.parametrize("viewer, allowed", [
    ("student_a1", True),     # the owner
    ("teacher_a1", True),     # a teacher of the same school
    ("classmate_a1", False),  # another student, same school
    ("student_b1", False),    # a student of another school
    ("teacher_b1", False),    # a teacher of another school
])
def test_a_students_space_is_visible_only_to_owner_and_own_school_teachers(app, world, campus, viewer, allowed):
    """A student's space: 200 for the owner and their school's teachers, 403 for other students and schools."""
    response = signed_in(app, campus[viewer]).get(f"/spaces/{_space_id(app, world.people['student_a1'])}")
    if allowed:
        assert response.status_code == 200
        assert "张小明的个人空间" in response.get_data(as_text=True)
    else:
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "张小明" not in body and "仅对本人" in body


@pytest.mark.parametrize("admin, allowed", [("school_a1", True), ("county_a", True), ("city_a", True),
                                            ("province", True), ("school_b1", False), ("county_b", False)])
def test_admins_see_students_spaces_only_inside_their_scope(app, world, campus, admin, allowed):
    """Admins may open a student's space of a school they manage; others get 403."""
    response = signed_in(app, world.admins[admin]).get(f"/spaces/{_space_id(app, world.people['student_a1'])}")
    assert response.status_code == (200 if allowed else 403)


@pytest.mark.parametrize("viewer", ["student_b1", "teacher_b1", "classmate_a1"])
def test_teachers_spaces_are_open_to_every_signed_in_user(app, world, campus, viewer):
    """Teachers share lessons: any signed-in person may open a teacher's space."""
    response = signed_in(app, campus[viewer]).get(f"/spaces/{_space_id(app, world.people['teacher_a1'])}")
    assert response.status_code == 200
    assert "李老师的个人空间" in response.get_data(as_text=True)


def test_space_pages_need_a_login(app, client, world, campus):
    """Anonymous visitors are sent to the login page for /space and /spaces/<id>."""
    for url in ("/space", f"/spaces/{_space_id(app, world.people['teacher_a1'])}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_unknown_space_is_404(app, world, campus):
    """A space id that does not exist answers 404 with a Chinese message."""
    response = signed_in(app, campus["student_a1"]).get("/spaces/999999")
    assert response.status_code == 404
    assert "不存在" in response.get_data(as_text=True)


def test_front_page_sends_each_role_to_its_home(app, world, campus):
    """/ shows the welcome page to visitors, sends people to /space and admins to /admin/."""
    assert app.test_client().get("/").status_code == 200
    student = signed_in(app, campus["student_a1"]).get("/")
    assert student.status_code == 302 and student.headers["Location"].endswith("/space")
    admin = signed_in(app, world.admins["county_a"]).get("/")
    assert admin.status_code == 302 and admin.headers["Location"].endswith("/admin/")
