"""Browsing spaces region → school → teacher: counts for each viewer, the school page, who is listed."""
from __future__ import annotations

import re

from sqlalchemy import event, select

from tests.fixtures.browse import VIEWERS, add_person, lesson_at, viewer
from tests.fixtures.people import give_login

PROVINCE, CITY_A, CITY_B, COUNTY_A, COUNTY_B = "430000", "430100", "430200", "430102", "430202"


def _visible_lessons(v) -> list:
    """Every lesson *v* may see, decided one by one with can_view (the rule the SQL must agree with)."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.permissions import can_view

    return [lesson for lesson in db.session.scalars(select(Lesson)) if can_view(v, lesson)]


def _body(response) -> str:
    """The page without its header (which names the signed-in person)."""
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True).split("</header>", 1)[1]


def test_region_and_school_counts_agree_with_can_view_for_every_viewer(app, world, bw):
    """Each region and school counts exactly the lessons can_view lets that viewer see, and the teachers with spaces."""
    from learnspace.directory import operations
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School

    with app.app_context():
        regions = {r.code: r for r in db.session.scalars(select(Region))}
        schools = list(db.session.scalars(select(School)))
        for key in VIEWERS:
            v = viewer(world, key)
            visible = _visible_lessons(v)
            top = operations.region_counts(v, None, [regions[PROVINCE]])[PROVINCE]
            assert (top.teachers, top.lessons) == (4, len(visible)), key
            cities = operations.region_counts(v, regions[PROVINCE], [regions[CITY_A], regions[CITY_B]])
            counties = operations.region_counts(v, regions[CITY_A], [regions[COUNTY_A]])
            for code, counts in [*cities.items(), *counties.items()]:
                assert counts.lessons == sum(1 for lesson in visible if lesson.school.county_code.startswith(
                    code[:4] if code.endswith("00") else code)), (key, code)
            assert (cities[CITY_A].teachers, cities[CITY_B].teachers, counties[COUNTY_A].teachers) == (3, 1, 3)
            by_school = operations.school_counts(v, schools)
            for school in schools:
                assert by_school[school.id].lessons == sum(1 for lesson in visible if lesson.school_id == school.id)
            teachers = {s.code: by_school[s.id].teachers for s in schools}
            # a1: 李老师 and 周老师 (吴老师 has no space, 郑老师 is disabled); a2: 陈老师; b1: 黄老师.
            assert teachers == {world.schools["a1"]: 2, world.schools["a2"]: 1, world.schools["b1"]: 1,
                                world.schools["b2"]: 0}


def _card(html: str, name: str) -> str:
    match = re.search(r'<a class="card dir-node"[^>]*>\s*<h2>' + name + r"</h2>(.*?)</a>", html, re.S)
    assert match, name
    return match.group(1)


def test_province_page_shows_each_city_with_the_viewers_counts(app, world, bw, as_person):
    """A student of another county sees only public lessons in 长沙市's count; her school-mate's teacher sees more."""
    outsider = _body(as_person("student_b1").get(f"/browse/regions/{PROVINCE}"))
    insider = _body(as_person("student_a1").get(f"/browse/regions/{PROVINCE}"))
    # 长沙市 (a1, a2): public published lessons are 李's public one, 周's two and 郑's one.
    assert "3 位教师开通空间" in _card(outsider, "长沙市") and "4 节课程" in _card(outsider, "长沙市")
    # 张小明 (a1) also sees 李's school and region lessons and 陈's region lesson (same county).
    assert "7 节课程" in _card(insider, "长沙市")
    assert "1 位教师开通空间" in _card(outsider, "株洲市") and "2 节课程" in _card(outsider, "株洲市")
    assert "1 节课程" in _card(insider, "株洲市")  # 黄's school lesson is not hers to see
    assert f'href="/browse/regions/{CITY_A}"' in outsider


def test_county_page_lists_its_schools_with_links(app, world, bw, as_person):
    html = _body(as_person("teacher_b1").get(f"/browse/regions/{COUNTY_A}"))
    assert "芙蓉区第一小学" in html and "芙蓉区第二中学" in html and "荷塘区" not in html.split("</nav>", 1)[1]
    assert f'href="/browse/schools/{world.schools["a1"]}"' in html
    crumbs = html.split("</nav>", 1)[0]
    assert crumbs.index("湖南省") < crumbs.index("长沙市") < crumbs.index("芙蓉区")


def test_school_page_lists_teachers_spaces_and_only_the_viewers_lessons(app, world, bw, as_person):
    from learnspace.extensions import db
    from learnspace.spaces.models import Space

    with app.app_context():
        space_ids = {key: db.session.scalar(select(Space.id).where(Space.owner_id == world.people[key]))
                     for key in ("teacher_a1", "teacher_a1b")}
    outsider = _body(as_person("student_b1").get(f"/browse/schools/{world.schools['a1']}"))
    teachers = outsider.split('id="teachers"', 1)[1].split("</section>", 1)[0]
    assert f'href="/spaces/{space_ids["teacher_a1"]}"' in teachers and "李老师" in teachers
    assert f'href="/spaces/{space_ids["teacher_a1b"]}"' in teachers and "周老师" in teachers
    assert "吴老师" not in outsider  # no space yet
    assert "郑老师" not in teachers  # disabled account (her public lesson is still listed below)
    assert "教师空间（2）" in outsider
    lessons = outsider.split('id="lessons"', 1)[1].split("</section>", 1)[0]
    assert "李-published-public" in lessons and "周-第一单元" in lessons and "郑-公开" in lessons
    for hidden in ("李-published-school", "李-published-region", "李-published-private", "李-draft-public",
                   "李-withdrawn-public"):
        assert hidden not in outsider, hidden
    # Newest first: 周-第二单元 (1 day ago) before 周-第一单元 (3 days ago).
    assert lessons.index("周-第二单元") < lessons.index("周-第一单元")
    # 李老师's card counts what this viewer may see: one lesson for an outsider, three for her own pupil.
    assert re.search(r"李老师</b>\s*<span class=\"hint\">数学 · 1 节课程", teachers)
    insider = _body(as_person("student_a1").get(f"/browse/schools/{world.schools['a1']}"))
    assert re.search(r"李老师</b>\s*<span class=\"hint\">数学 · 3 节课程", insider)
    assert "李-published-school" in insider and "李-draft-public" not in insider


def test_students_never_appear_in_any_browse_list(app, world, bw, as_person):
    """Even with a space and activity that would make a teacher's space "updated", no student is listed."""
    from learnspace.accounts.models import User
    from learnspace.activity import operations as activity
    from learnspace.extensions import db

    with app.app_context():
        for key in ("student_a1", "student_a2", "student_b1"):
            student = db.session.get(User, world.people[key])
            for kind in ("upload", "publish", "announce", "watch", "note"):
                activity.record(student, kind)
        db.session.commit()
    pages = ["/browse", f"/browse/regions/{PROVINCE}", f"/browse/regions/{CITY_A}", f"/browse/regions/{COUNTY_A}",
             f"/browse/regions/{COUNTY_B}", f"/browse/regions/{PROVINCE}/recent"]
    for school in world.schools.values():
        pages += [f"/browse/schools/{school}", f"/browse/schools/{school}/recent"]
    for key in ("teacher_a1", "school_a1", "county_a", "platform", "student_a1", "student_b1"):
        client = as_person(key)
        for url in pages:
            html = _body(client.get(url))
            for name in ("张小明", "孙同学", "王小红"):
                assert name not in html, (key, url, name)


def test_anonymous_visitors_are_sent_to_sign_in(app, world, bw, as_person):
    anonymous = as_person(None)
    for url in ("/browse", f"/browse/regions/{PROVINCE}", f"/browse/schools/{world.schools['a1']}",
                f"/browse/schools/{world.schools['a1']}/recent", f"/browse/regions/{COUNTY_A}/recent"):
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_unknown_or_malformed_places_are_404_in_chinese(app, world, bw, as_person):
    client = as_person("student_a1")
    for url, message in (("/browse/regions/999999", "不存在"), ("/browse/regions/43", "6 位数字"),
                         ("/browse/schools/123", "10 位数字"), ("/browse/schools/9999999999", "不存在"),
                         ("/browse/schools/abcdefghij/recent", "10 位数字"),
                         ("/browse/regions/4301%2500/recent", "6 位数字")):
        response = client.get(url)
        assert response.status_code == 404, url
        assert message in response.get_data(as_text=True), url


def test_a_teacher_who_moved_is_listed_at_the_new_school_and_her_lessons_stay(app, world, bw):
    from learnspace.accounts.models import User
    from learnspace.directory import operations
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    with app.app_context():
        schools = {key: db.session.scalar(select(School).where(School.code == code))
                   for key, code in world.schools.items()}
        db.session.get(User, world.people["teacher_a2"]).school_id = schools["b2"].id
        db.session.commit()
        v = viewer(world, "platform")
        assert [e.owner.real_name for e in operations.teachers_of_school(v, schools["b2"])] == ["陈老师"]
        assert operations.teachers_of_school(v, schools["a2"]) == []
        counts = operations.school_counts(v, [schools["a2"], schools["b2"]])
        assert (counts[schools["a2"].id].teachers, counts[schools["a2"].id].lessons) == (0, 1)
        assert (counts[schools["b2"].id].teachers, counts[schools["b2"].id].lessons) == (1, 0)


def test_the_school_page_costs_the_same_queries_for_two_teachers_or_twelve(app, world, bw, as_person):
    """Counts and lists are grouped queries: more teachers and lessons do not mean more queries."""
    from learnspace.extensions import db

    client = as_person("student_b1")
    url = f"/browse/schools/{world.schools['a1']}"

    def queries() -> int:
        seen = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: seen.append(1)  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(seen)

    before = queries()
    with app.app_context():
        for n in range(10):
            person = add_person(world, f"extra{n}", "teacher", "a1", real_name=f"新老师{n}",
                                teacher_number=f"T43010200019{n:02d}")
            lesson_at(person, world.schools["a1"], bw.nodes["chapter"], title=f"新课{n}")
    for n in range(10):
        give_login(app, world.people[f"extra{n}"])
    after = queries()
    html = _body(client.get(url))
    assert "教师空间（12）" in html and "新老师9" in html
    assert after == before, (before, after)


def test_names_are_escaped(app, world, bw, as_person):
    from learnspace.accounts.models import User
    from learnspace.activity import operations as activity
    from learnspace.extensions import db

    with app.app_context():
        teacher = db.session.get(User, world.people["teacher_a1b"])
        teacher.real_name = "<b>周</b>"
        activity.record(teacher, "publish")
        db.session.commit()
    client = as_person("student_a1")
    for url in (f"/browse/schools/{world.schools['a1']}", f"/browse/regions/{COUNTY_A}"):
        html = client.get(url).get_data(as_text=True)
        assert "&lt;b&gt;周&lt;/b&gt;" in html and "<b>周</b>" not in html, url


def test_navigation_links_to_browsing_for_people_and_admins(app, world, bw, as_person):
    for key in ("student_a1", "teacher_a1", "school_a1"):
        html = as_person(key).get("/catalog").get_data(as_text=True)
        nav = html.split('class="mainnav"', 1)[1].split("</nav>", 1)[0]
        assert 'href="/browse"' in nav and "浏览空间" in nav, key
    html = as_person("student_a1").get("/browse").get_data(as_text=True)
    assert 'href="/browse" aria-current="page"' in html
    # Her own school is one click away.
    assert f'href="/browse/schools/{world.schools["a1"]}"' in html
