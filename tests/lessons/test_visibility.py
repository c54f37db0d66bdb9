"""Who sees which lesson (status × visibility × viewer): can_view, the SQL lists, and HTTP (404 when hidden)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.lessons import make_lesson

STATUSES = ("draft", "published", "withdrawn")
VISIBILITIES = ("private", "school", "region", "public")
#: (status, visibility) of every lesson of 李老师 at school a1 (county 430102)
CASES = [(s, v) for s in STATUSES for v in VISIBILITIES]
EVERYTHING = set(CASES)


def _published(*visibilities):
    return {("published", v) for v in visibilities}


#: viewer key (None: not signed in) → the cases they may see
EXPECTED = {
    "teacher_a1": EVERYTHING,                                    # the owner
    "school_a1": EVERYTHING,                                     # admin of the lesson's school
    "county_a": EVERYTHING,                                      # admin of its county
    "student_a1": _published("school", "region", "public"),      # same school
    "teacher_a1b": _published("school", "region", "public"),     # another teacher, same school
    "student_a2": _published("region", "public"),                # another school, same county
    "student_b1": _published("public"),                          # another county
    "school_b1": _published("public"),                           # admin of another county's school
    "county_b": _published("public"),                            # admin of another county
    None: _published("public"),                                  # anonymous
}


@pytest.fixture
def lessons(app, world, people) -> dict:
    """One lesson per (status, visibility), titled after it; returns {case: lesson id}."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson

    made = {}
    with app.app_context():
        for status, visibility in CASES:
            lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status=status,
                                    visibility=visibility)
            db.session.get(Lesson, lesson_id).title = f"课例-{status}-{visibility}"
            made[(status, visibility)] = lesson_id
        db.session.commit()
    return made


def _viewer(world, key):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    if key is None:
        return None
    if key in world.people:
        return db.session.get(User, world.people[key])
    return db.session.scalar(select(User).where(User.login_name == world.admins[key]))


def test_can_view_and_the_sql_filter_agree_with_the_matrix(app, world, lessons):
    """For every viewer, can_view, lessons_visible_to and its count select exactly the expected lessons."""
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.permissions import can_view

    by_id = {lesson_id: case for case, lesson_id in lessons.items()}
    with app.app_context():
        for key, expected in EXPECTED.items():
            viewer = _viewer(world, key)
            allowed = {case for case, lesson_id in lessons.items()
                       if can_view(viewer, db.session.get(Lesson, lesson_id))}
            assert allowed == expected, key
            listed = {by_id[lesson.id] for lesson in operations.lessons_visible_to(viewer, limit=100)}
            assert listed == expected, key
            assert operations.count_lessons_visible_to(viewer) == len(expected), key


@pytest.mark.parametrize("key", list(EXPECTED))
def test_lesson_pages_answer_200_or_404_by_the_matrix(app, world, lessons, as_person, key):
    """Every hidden lesson is a 404 (never 403, never its title); every visible one shows; the list matches."""
    client = as_person(key)
    for case, lesson_id in lessons.items():
        response = client.get(f"/lessons/{lesson_id}")
        body = response.get_data(as_text=True)
        title = f"课例-{case[0]}-{case[1]}"
        if case in EXPECTED[key]:
            assert response.status_code == 200, (key, case)
            assert title in body
        else:
            assert response.status_code == 404, (key, case)
            assert title not in body
    listing = client.get("/lessons").get_data(as_text=True)
    shown = {case for case in lessons if f"课例-{case[0]}-{case[1]}" in listing}
    assert shown == EXPECTED[key]


def test_anonymous_visitor_of_a_hidden_lesson_is_offered_to_sign_in(app, world, lessons, client):
    """A school-only lesson answers 404 to a visitor, with a login link that comes back to it."""
    lesson_id = lessons[("published", "school")]
    response = client.get(f"/lessons/{lesson_id}")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "登录后查看" in body and f"next=/lessons/{lesson_id}" in body.replace("%2F", "/")
    assert client.get("/lessons/999999").status_code == 404


def test_lists_page_in_sql_and_fill_each_page_with_visible_lessons(app, world, people, as_person):
    """With 25 visible lessons and 10 newer hidden ones, page 1 has 20, page 2 has the other 5."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson

    with app.app_context():
        for n in range(25):
            lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
            db.session.get(Lesson, lesson_id).title = f"可见课例{n:02d}"
        for n in range(10):
            lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="draft")
            db.session.get(Lesson, lesson_id).title = f"草稿课例{n:02d}"
        db.session.commit()
        student = db.session.get(User, world.people["student_a1"])
        first = operations.lessons_visible_to(student, limit=20, offset=0)
        second = operations.lessons_visible_to(student, limit=20, offset=20)
        assert len(first) == 20 and len(second) == 5
        assert {lesson.title for lesson in first + second} == {f"可见课例{n:02d}" for n in range(25)}
        # newest first
        assert [lesson.title for lesson in first[:2]] == ["可见课例24", "可见课例23"]

    client = as_person("student_a1")
    page1 = client.get("/lessons").get_data(as_text=True)
    page2 = client.get("/lessons?page=2").get_data(as_text=True)
    assert page1.count('class="lesson-item"') == 20 and page2.count('class="lesson-item"') == 5
    assert "共 25 节" in page1 and "第 2 页 / 共 2 页" in page2 and "草稿课例" not in page1 + page2
