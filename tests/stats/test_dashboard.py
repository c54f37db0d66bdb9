"""The statistics dashboard: figures per unit and per class, drill-down, role filter, targets and ranking."""
from __future__ import annotations

import re

import pytest

from tests.fixtures.helpers import post_form
from tests.fixtures.people import signed_in
from tests.fixtures.stats import EXPECTED, FIELDS, RANGE, build_stats_world, expected


@pytest.fixture
def sw(app, world):
    return build_stats_world(app, world)


def _row_dict(row) -> dict:
    return {name: getattr(row, name) for name in FIELDS}


def test_unit_rows_at_every_level_match_the_worlds_figures(app, sw):
    """Schools, counties, cities, the province and the platform each add up the right people and lessons."""
    from learnspace.stats import drilldown, operations
    from learnspace.stats.periods import parse_range

    with app.app_context():
        period = parse_range(RANGE["from"], RANGE["to"])
        schools = drilldown.descendants(drilldown.PLATFORM, "school")
        by_code = {r.code: _row_dict(r) for r in operations.unit_rows(schools, period)}
        for key, code in sw.schools.items():
            assert by_code[code] == dict(zip(FIELDS, EXPECTED[key])), key
        counties = {r.code: _row_dict(r) for r in operations.child_rows(drilldown.resolve(None, "430000"), period)}
        assert counties == {"430100": expected("a1", "a2"), "430200": expected("b1", "b2")}
        county = {r.code: _row_dict(r) for r in operations.child_rows(drilldown.resolve(None, "430100"), period)}
        assert county == {"430102": expected("a1", "a2")}
        total = operations.total_row(drilldown.PLATFORM, period)
        assert _row_dict(total) == expected("a1", "a2", "b1", "b2")
        assert round(total.activation_rate, 3) == 0.8 and round(total.week_rate, 3) == 0.5


def test_role_filter_counts_only_that_role_and_hides_lesson_figures_for_students(app, sw):
    from learnspace.stats import drilldown, operations
    from learnspace.stats.periods import parse_range

    with app.app_context():
        period = parse_range(RANGE["from"], RANGE["to"])
        county = drilldown.resolve(None, "430102")
        teachers = operations.total_row(county, period, "teacher")
        students = operations.total_row(county, period, "student")
        assert (teachers.rostered, teachers.activated, teachers.new, teachers.week_active) == (4, 3, 3, 1)
        assert (students.rostered, students.activated, students.new, students.week_active) == (4, 3, 2, 2)
        assert teachers.published == 1 and teachers.teachers == 4
        assert students.published is None and students.teacher_share is None


def test_a_school_drills_down_to_grades_and_classes_computed_live(app, sw):
    from learnspace.stats import drilldown, operations
    from learnspace.stats.periods import parse_range

    with app.app_context():
        rows = operations.child_rows(drilldown.resolve(None, school=sw.schools["a1"]), parse_range(RANGE["from"], RANGE["to"]))
        got = {r.name: (r.rostered, r.activated, r.new, r.week_active, r.month_active) for r in rows}
        assert got == {"三年级 1班": (2, 2, 1, 1, 2), "三年级 2班": (1, 0, 0, 0, 0),
                       "未分年级/班级": (3, 2, 2, 1, 1)}


def test_time_series_follow_the_granularity(app, sw):
    from learnspace.stats import drilldown, operations
    from learnspace.stats.periods import parse_range

    with app.app_context():
        county = drilldown.resolve(None, "430102")
        new, active = operations.series(county, parse_range(RANGE["from"], RANGE["to"], "day"))
        assert len(new) == 49 and sum(v for _, v in new) == 5
        assert dict(new)["11-17"] == 1 and dict(new)["10-10"] == 1
        assert dict(active)["11-17"] == 2 and dict(active)["10-20"] == 1
        new, active = operations.series(county, parse_range(RANGE["from"], RANGE["to"], "month"))
        assert new == [("2026年10月", 2), ("11月", 3)]
        assert active == [("2026年10月", 1), ("11月", 4)]
        new, active = operations.series(county, parse_range(RANGE["from"], RANGE["to"], "week"))
        assert len(new) == 8 and new[-1] == ("11-16周", 2) and active[-1] == ("11-16周", 3)


def test_county_admin_sees_rates_weekly_active_per_school_with_charts_and_drills_to_a_school(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    page = client.get("/stats/", query_string=RANGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "芙蓉区 · 空间统计" in html
    assert html.count("<svg") == 3  # new activations, active spaces, activation rate by school
    assert "芙蓉区第一小学" in html and "芙蓉区第二中学" in html
    assert "荷塘" not in html  # the sibling county and its schools never appear
    assert "75.0%" in html  # 6 of 8 activated
    link = re.search(r'<a href="(/stats/\?school=4301020001[^"]*)">芙蓉区第一小学</a>', html)
    assert link, "no drill-down link to the school"
    school = client.get(link.group(1).replace("&amp;", "&"))
    assert school.status_code == 200
    body = school.get_data(as_text=True)
    assert "芙蓉区第一小学 · 空间统计" in body and "三年级 1班" in body and "未分年级/班级" in body
    assert 'class="crumbs"' in body and "芙蓉区</a>" in body


def test_nav_shows_statistics_to_admins_only(app, sw):
    from tests.fixtures.people import give_login

    admin = signed_in(app, sw.admins["school_a1"])
    assert 'href="/stats/"' in admin.get("/admin/").get_data(as_text=True)
    login_name = give_login(app, sw.people["teacher_a1c"])
    teacher = signed_in(app, login_name)
    assert 'href="/stats/"' not in teacher.get("/spaces/mine", follow_redirects=True).get_data(as_text=True)
    refused = teacher.get("/stats/")
    assert refused.status_code == 403 and "仅限管理员" in refused.get_data(as_text=True)


def test_region_admin_sets_a_yearly_target_and_sees_progress(app, sw):
    from learnspace.china_time import today

    year = today().year
    client = signed_in(app, sw.admins["county_a"])
    saved = post_form(client, "/stats/targets", "/stats/targets", {"year": str(year), "new_spaces": "1,000"},
                      follow_redirects=True)
    assert saved.status_code == 200
    assert f"已设定 {year} 年新开通空间目标：1,000 个" in saved.get_data(as_text=True)
    page = client.get("/stats/").get_data(as_text=True)
    assert f"{year} 年新开通目标" in page and "/ 1,000 个" in page
    # The county's target is its own: the other county's admin does not get it, and a school admin cannot set one.
    other = signed_in(app, sw.admins["county_b"]).get("/stats/").get_data(as_text=True)
    assert "1,000 个" not in other
    school = signed_in(app, sw.admins["school_a1"])
    assert "由区域管理员为本区域设定" in school.get("/stats/targets").get_data(as_text=True)
    refused = post_form(school, "/stats/targets", "/stats/targets", {"year": str(year), "new_spaces": "5"})
    assert refused.status_code == 403


def test_target_progress_counts_new_spaces_of_the_year(app, sw):
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.stats import drilldown, operations

    with app.app_context():
        admin = db.session.scalar(db.select(User).where(User.login_name == sw.admins["province"]))
        province = drilldown.resolve(admin, "430000")
        operations.set_target(admin, province, operations.today().year, 10)
        db.session.commit()
        progress = operations.target_progress(province, 2026)
        if operations.today().year == 2026:
            assert (progress.target, progress.done) == (10, 7 + 1)  # 2026 activations incl. 09-15
        with pytest.raises(Exception):
            operations.set_target(admin, drilldown.resolve(admin, "430102"), operations.today().year, 5)


def test_ranking_scores_schools_with_the_figures_beside_the_score(app, sw):
    from learnspace.stats import drilldown, operations
    from learnspace.stats.periods import parse_range

    with app.app_context():
        w = dict(operations.DEFAULT_WEIGHTS, min_rostered=1)
        ranked = operations.ranking(drilldown.PLATFORM, "school", parse_range(RANGE["from"], RANGE["to"]), w)
        by_code = {r.row.code: r for r in ranked}
        b1 = by_code[sw.schools["b1"]]
        # b1: activation 1, week 0.5, month 0.5, teacher share 1, lessons per teacher 1/1 (the best) → 1
        assert b1.parts == {"activation_rate": 1.0, "weekly_active_rate": 0.5, "monthly_active_rate": 0.5,
                            "teacher_publish_share": 1.0, "lessons_per_teacher": 1.0}
        assert b1.score == pytest.approx(100 * (40 + 10 + 10 + 10 + 10) / 100)
        assert ranked[0].row.code == sw.schools["b1"] and ranked[0].rank == 1
        assert by_code[sw.schools["b2"]].score is None and by_code[sw.schools["b2"]].rank is None
        counties = operations.ranking(drilldown.PLATFORM, "county", parse_range(RANGE["from"], RANGE["to"]), w)
        assert [r.row.code for r in counties] == ["430202", "430102"]


def test_platform_admin_changes_the_weights_and_the_ranking_page_shows_them(app, sw):
    client = signed_in(app, sw.admins["platform"])
    data = {"activation_rate": "0", "weekly_active_rate": "0", "monthly_active_rate": "0",
            "teacher_publish_share": "0", "lessons_per_teacher": "5", "min_rostered": "1"}
    saved = post_form(client, "/stats/weights", "/stats/weights", data, follow_redirects=True)
    assert "评分权重已保存" in saved.get_data(as_text=True)
    page = client.get("/stats/ranking", query_string={**RANGE, "level": "school"}).get_data(as_text=True)
    assert "人均发布课程</b>（权重 5）" in page
    assert re.search(r'<td class="num score" data-label="得分">100\.0</td>', page)
    # A region admin sees the weights but cannot change them.
    county = signed_in(app, sw.admins["county_a"])
    assert "权重由平台管理员设定" in county.get("/stats/weights").get_data(as_text=True)
    refused = post_form(county, "/stats/weights", "/stats/weights", data)
    assert refused.status_code == 403
