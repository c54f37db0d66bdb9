"""Generated permission matrix: role × relation × visibility/consent, for every space and lesson view.

Each case is produced from the product of viewer kinds (role and relation to the owner) and owner
kinds (teacher, students of each consent state) or lesson visibility × status. The expected answer
comes from ``expected_space`` / ``expected_lesson`` below, written from the issue's words and not by
calling the code under test; the code (``can_view_space``, ``can_view``, ``visible_clause``) and the
real pages (``/spaces/<id>``, ``/lessons/<id>``, the progress API) must all agree with it.
"""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from tests.fixtures.helpers import csrf_token
from tests.fixtures.lessons import make_lesson
from tests.fixtures.people import signed_in
from tests.fixtures.world import PASSWORD
from tests.study.people import add_person, birthday_years_ago

#: admins whose scope contains school a1 (芙蓉区第一小学)
ADMINS_OF_A1 = {"school_admin", "county_admin", "city_admin", "province_admin", "platform_admin"}
#: viewers and how they relate to owners, who are all students or teachers of 三年级1班 at a1
VIEWERS = {
    # key: (kind of person, where); admins are the world's admins
    "anonymous": None,
    "classmate": ("student", "a1", "1班", 15),
    "classmate_restricted": ("student", "a1", "1班", 10),
    "schoolmate_other_class": ("student", "a1", "2班", 15),
    "student_same_county": ("student", "a2", "1班", 15),
    "student_other_county": ("student", "b1", "1班", 15),
    "teacher_same_school": ("teacher", "a1", None, None),
    "teacher_same_county": ("teacher", "a2", None, None),
    "teacher_other_county": ("teacher", "b1", None, None),
    "school_admin": "school_a1",
    "school_admin_other": "school_b1",
    "county_admin": "county_a",
    "county_admin_other": "county_b",
    "city_admin": "city_a",
    "province_admin": "province",
    "platform_admin": "platform",
}
#: owners of student spaces by consent state: (age in years or None for no ID card, consent recorded)
STUDENT_OWNERS = {
    "student_over14": (15, False),
    "student_consented": (10, True),
    "student_restricted": (10, False),
    "student_unknown_age": (None, False),
}
OWNERS = ["teacher", *STUDENT_OWNERS]
VISIBILITIES = ["private", "school", "region", "public"]
STATUSES = ["draft", "published", "withdrawn"]


def expected_space(viewer: str, owner: str) -> bool:
    """The issue's rule: teachers' spaces for everyone signed in; a student's only for their teachers,
    their school's admins and (outside restricted mode, both sides) their classmates."""
    if viewer == "anonymous":
        return False
    if owner == "teacher":
        return True
    if viewer == "teacher_same_school" or viewer in ADMINS_OF_A1:
        return True
    if viewer == "classmate":
        return owner in ("student_over14", "student_consented")
    return False


def expected_follow(viewer: str, owner: str) -> bool:
    """Anyone signed in follows a teacher; a student only by same-school people who may see the space."""
    if viewer == "anonymous":
        return False
    if owner == "teacher":
        return True
    return expected_space(viewer, owner) and viewer in ("classmate", "teacher_same_school", "school_admin")


def expected_lesson(viewer: str, visibility: str, status: str) -> bool:
    """Drafts and withdrawn lessons only for the author and admins in scope; published ones by visibility."""
    if viewer == "author" or viewer in ADMINS_OF_A1:
        return True
    if status != "published":
        return False
    if visibility == "public":
        return True
    same_school = viewer in ("classmate", "classmate_restricted", "schoolmate_other_class", "teacher_same_school")
    same_county = same_school or viewer in ("student_same_county", "teacher_same_county")
    return {"school": same_school, "region": same_county, "private": False}[visibility]


def _build(app, world) -> dict:
    """Create every viewer and owner; return keys → (user id, login name)."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    people = {}
    with app.app_context():
        for key, spec in VIEWERS.items():
            if spec is None:
                continue
            if isinstance(spec, str):
                admin = db.session.scalar(select(User).where(User.login_name == world.admins[spec]))
                people[key] = (admin.id, admin.login_name)
                continue
            role, school, class_name, age = spec
            pid = add_person(world.schools[school], role, name=key, class_name=class_name,
                             born=birthday_years_ago(age) if age else None)
            people[key] = (pid, db.session.get(User, pid).login_name)
        pid = add_person(world.schools["a1"], "teacher", name="owner-teacher")
        people["teacher"] = (pid, db.session.get(User, pid).login_name)
        for key, (age, consent) in STUDENT_OWNERS.items():
            pid = add_person(world.schools["a1"], name=key, born=birthday_years_ago(age) if age else None,
                             consent=consent)
            people[key] = (pid, db.session.get(User, pid).login_name)
    return people


def _clients(app, people) -> dict:
    clients = {"anonymous": app.test_client()}
    for key in VIEWERS:
        if key != "anonymous":
            clients[key] = signed_in(app, people[key][1], PASSWORD)
    return clients


def _space_id(user_id):
    from learnspace.extensions import db
    from learnspace.spaces.models import Space

    return db.session.scalar(select(Space.id).where(Space.owner_id == user_id))


def test_the_matrix_covers_every_combination():
    """Generated, not hand-listed: every viewer meets every owner, every visibility and every status."""
    assert len(list(itertools.product(VIEWERS, OWNERS))) == len(VIEWERS) * 5
    assert len(list(itertools.product([*VIEWERS, "author"], VISIBILITIES, STATUSES))) == (len(VIEWERS) + 1) * 12


@pytest.mark.parametrize("owner", OWNERS)
def test_space_matrix(app, world, owner):
    """can_view_space, can_follow, follow_refusal and the space page agree with the rule for every viewer of this owner."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.spaces.operations import follow_refusal
    from learnspace.spaces.permissions import can_follow, can_view_space
    from learnspace.study import operations as study

    people = _build(app, world)
    owner_id = people[owner][0]
    secret = f"私密笔记-{owner}"
    with app.app_context():
        space_id = _space_id(owner_id)
        if owner != "teacher":  # a private note that no one but the owner may ever read
            lesson = db.session.get(Lesson, make_lesson(people["teacher"][0], world.schools["a1"],
                                                        status="published", visibility="public"))
            study.add_note(db.session.get(User, owner_id), lesson, secret)
            db.session.commit()
    clients = _clients(app, people)
    wrong = []
    with app.app_context():
        owner_user = db.session.get(User, owner_id)
        for viewer in VIEWERS:
            viewer_user = db.session.get(User, people[viewer][0]) if viewer != "anonymous" else None
            want = expected_space(viewer, owner)
            if can_view_space(viewer_user, owner_user) != want:
                wrong.append((viewer, "can_view_space", not want))
            if viewer_user is not None:
                follows = can_follow(viewer_user, owner_user)
                if follows != expected_follow(viewer, owner):
                    wrong.append((viewer, "can_follow", follows))
                if follows != (follow_refusal(viewer_user, owner_user) is None):
                    wrong.append((viewer, "can_follow disagrees with spaces.operations.follow_refusal", follows))
            db.session.expire_all()
    for viewer, client in clients.items():
        response = client.get(f"/spaces/{space_id}")
        want = expected_space(viewer, owner)
        if viewer == "anonymous":
            ok = response.status_code == 302 and "/login" in response.headers["Location"]
        else:
            ok = response.status_code == (200 if want else 403) or (not want and response.status_code == 404)
        if not ok:
            wrong.append((viewer, "GET /spaces", response.status_code))
        if secret.encode() in response.data:
            wrong.append((viewer, "private note shown", True))
    owner_client = signed_in(app, people[owner][1], PASSWORD)
    own = owner_client.get(f"/spaces/{space_id}")
    assert own.status_code == 200
    if owner != "teacher":
        assert secret in own.get_data(as_text=True)
        assert ("受限模式" in own.get_data(as_text=True)) == (owner in ("student_restricted", "student_unknown_age"))
    assert not wrong, wrong


def test_lesson_matrix(app, world):
    """can_view, visible_clause, the lesson page and the learning API agree for every viewer, visibility and status."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.permissions import can_view, visible_clause

    people = _build(app, world)
    people["author"] = people["teacher"]
    lessons = {}
    with app.app_context():
        for visibility, status in itertools.product(VISIBILITIES, STATUSES):
            lessons[(visibility, status)] = make_lesson(people["author"][0], world.schools["a1"], status=status,
                                                        visibility=visibility)
    clients = _clients(app, people)
    clients["author"] = signed_in(app, people["author"][1], PASSWORD)
    wrong = []
    with app.app_context():
        for viewer in clients:
            viewer_user = db.session.get(User, people[viewer][0]) if viewer != "anonymous" else None
            listed = set(db.session.scalars(select(Lesson.id).where(visible_clause(viewer_user))))
            for (visibility, status), lesson_id in lessons.items():
                want = expected_lesson(viewer, visibility, status)
                lesson = db.session.get(Lesson, lesson_id)
                if can_view(viewer_user, lesson) != want:
                    wrong.append((viewer, visibility, status, "can_view"))
                if (lesson_id in listed) != want:
                    wrong.append((viewer, visibility, status, "visible_clause"))
    for viewer, client in clients.items():
        token = None
        for (visibility, status), lesson_id in lessons.items():
            want = expected_lesson(viewer, visibility, status)
            page = client.get(f"/lessons/{lesson_id}")
            if page.status_code != (200 if want else 404):
                wrong.append((viewer, visibility, status, "GET /lessons", page.status_code))
            if page.status_code == 200 and token is None:
                token = csrf_token(page.get_data(as_text=True)) if b"csrf_token" in page.data else None
        if viewer == "anonymous" or token is None:
            continue
        for (visibility, status), lesson_id in lessons.items():
            want = expected_lesson(viewer, visibility, status)
            report = client.post(f"/api/lessons/{lesson_id}/progress", json={"position": 30, "played": 5},
                                 headers={"X-CSRFToken": token})
            if report.status_code != (200 if want else 404):
                wrong.append((viewer, visibility, status, "POST progress", report.status_code))
            favourite = client.post(f"/lessons/{lesson_id}/favourite", data={"csrf_token": token})
            if favourite.status_code != (302 if want else 404):
                wrong.append((viewer, visibility, status, "POST favourite", favourite.status_code))
    assert not wrong, wrong
