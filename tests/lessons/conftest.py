"""Fixtures for lesson tests: a catalogue chain down to sections and signed-in people of several schools."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.lessons import make_catalogue
from tests.fixtures.people import give_login, signed_in
from tests.fixtures.snapshots import replay


@pytest.fixture
def nodes(app, world) -> dict:
    """Catalogue node ids by level name (see tests.fixtures.lessons.make_catalogue)."""
    from learnspace.extensions import db

    def build():
        with app.app_context():
            found = {name: node.id for name, node in make_catalogue().items()}
            db.session.commit()
        return found
    return replay(app, ("lessons: nodes", repr(world)), build)


def add_person(app, world, key: str, role: str, school: str, **fields) -> int:
    """Add one more rostered person at world school *school*; returns their id (also kept in world.people)."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    with app.app_context():
        school_id = db.session.scalar(select(School.id).where(School.code == world.schools[school]))
        person = User(role=role, school_id=school_id, **fields)
        db.session.add(person)
        db.session.commit()
        world.people[key] = person.id
        return person.id


@pytest.fixture
def people(app, world) -> dict:
    """Logins: 李老师 (teacher_a1), her school's student, a student of the same county (a2), one of another
    county (b1), a second teacher at a1, and the admins from the world."""
    def build():
        add_person(app, world, "student_a2", "student", "a2", real_name="孙同学",
                   student_number="G430102201504040044", grade="七年级", class_name="1班")
        add_person(app, world, "teacher_a1b", "teacher", "a1", real_name="周老师", teacher_number="T4301020001002")
        logins = {key: give_login(app, world.people[key])
                  for key in ("teacher_a1", "student_a1", "student_a2", "student_b1", "teacher_a1b")}
        logins.update({key: world.admins[key] for key in ("school_a1", "school_b1", "county_a", "county_b")})
        return {"logins": logins, "people": {key: world.people[key] for key in ("student_a2", "teacher_a1b")}}

    made = replay(app, ("lessons: people", repr(world)), build)  # written back in later tests
    world.people.update(made["people"])
    return made["logins"]


@pytest.fixture
def as_person(app, people):
    """Return ``as_person(key)``: a test client signed in as that person (None key: anonymous)."""
    def sign_in(key):
        return app.test_client() if key is None else signed_in(app, people[key])
    return sign_in
