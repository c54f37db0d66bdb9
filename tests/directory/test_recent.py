"""Recently updated spaces of a school and a region: which actions count, the window, order, limits."""
from __future__ import annotations

from sqlalchemy import select

from tests.fixtures.browse import days_ago, viewer


def _record(app, world, entries) -> None:
    """entries: (person key, kind, days ago)."""
    from learnspace.accounts.models import User
    from learnspace.activity import operations as activity
    from learnspace.extensions import db

    with app.app_context():
        for key, kind, ago in entries:
            activity.record(db.session.get(User, world.people[key]), kind, at=days_ago(ago))
        db.session.commit()


ACTIVITY = [
    ("teacher_a1", "publish", 2),        # counts
    ("teacher_a1", "sign_in", 0),        # does not move her up: signing in changes nothing in the space
    ("teacher_a1b", "announce", 0.05),   # latest
    ("teacher_a1b", "upload", 5),
    ("teacher_a2", "upload", 40),        # outside the 30-day window
    ("teacher_b1", "sign_in", 0),        # no update kinds at all
    ("teacher_b1", "watch", 0),
    ("teacher_a1d", "publish", 0),       # disabled: never listed
]


def _names(entries) -> list[str]:
    return [e.owner.real_name for e in entries]


def test_updates_are_publish_upload_and_announce_in_the_last_30_days_latest_first(app, world, bw):
    from learnspace.directory import operations
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs

    _record(app, world, ACTIVITY)
    with app.app_context():
        v = viewer(world, "student_b1")
        a1 = orgs.get_school_by_code(world.schools["a1"])
        entries = operations.recently_updated(v, school=a1)
        assert _names(entries) == ["周老师", "李老师"]
        assert entries[0].kinds == ["上传课程文件", "发布公告"] and entries[1].kinds == ["发布课程"]
        assert entries[0].updated_dt > entries[1].updated_dt
        for code, expected in (("430000", ["周老师", "李老师"]), ("430100", ["周老师", "李老师"]),
                               ("430102", ["周老师", "李老师"]), ("430200", []), ("430202", [])):
            assert _names(operations.recently_updated(v, region=orgs.get_region(code))) == expected, code
        # With a longer window 陈老师's upload 40 days ago is back, last.
        assert _names(operations.recently_updated(v, region=orgs.get_region("430000"), days=60)) == [
            "周老师", "李老师", "陈老师"]
        assert _names(operations.recently_updated(v, region=orgs.get_region("430000"), limit=1)) == ["周老师"]
        db.session.rollback()


def test_school_page_shows_the_latest_few_and_links_to_the_full_list(app, world, bw, as_person):
    from learnspace.directory.views import RECENT_ON_PAGE
    from tests.fixtures.browse import add_person
    from tests.fixtures.people import give_login

    extra = []
    with app.app_context():
        for n in range(RECENT_ON_PAGE + 1):
            add_person(world, f"extra{n}", "teacher", "a1", real_name=f"新老师{n}", teacher_number=f"T430102000199{n}")
            extra.append((f"extra{n}", "publish", 1 + n / 10))
    for n in range(RECENT_ON_PAGE + 1):
        give_login(app, world.people[f"extra{n}"])
    _record(app, world, ACTIVITY + extra)
    client = as_person("student_a2")
    school = world.schools["a1"]
    html = client.get(f"/browse/schools/{school}").get_data(as_text=True)
    recent = html.split('id="recent"', 1)[1].split("</section>", 1)[0]
    assert recent.count("<li>") == RECENT_ON_PAGE
    assert recent.index("周老师") < recent.index("新老师0") < recent.index("新老师1")
    assert f'href="/browse/schools/{school}/recent"' in recent
    full = client.get(f"/browse/schools/{school}/recent").get_data(as_text=True).split("</header>", 1)[1]
    assert full.count("<li>") == RECENT_ON_PAGE + 3  # the seven extra teachers, 周老师 and 李老师
    assert full.index("新老师6") < full.index("李老师")  # 1.6 days ago before 2 days ago
    assert "陈老师" not in full and "黄老师" not in full and "郑老师" not in full
    region = client.get("/browse/regions/430100/recent").get_data(as_text=True).split("</header>", 1)[1]
    assert "芙蓉区第一小学" in region and region.count("<li>") == RECENT_ON_PAGE + 3


def test_a_quiet_school_says_so(app, world, bw, as_person):
    _record(app, world, ACTIVITY)
    html = as_person("teacher_b1").get(f"/browse/schools/{world.schools['b1']}").get_data(as_text=True)
    assert "最近 30 天没有老师发布课程或公告" in html
    html = as_person("teacher_b1").get("/browse/regions/430202/recent").get_data(as_text=True)
    assert "最近 30 天没有老师发布课程或公告" in html


def test_an_activity_day_of_another_school_moves_with_the_teacher(app, world, bw):
    """The list follows the teacher's current school: a transferred teacher's updates show at the new school."""
    from learnspace.accounts.models import User
    from learnspace.directory import operations
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs
    from learnspace.orgs.models import School

    _record(app, world, [("teacher_a2", "publish", 1)])
    with app.app_context():
        b2 = db.session.scalar(select(School).where(School.code == world.schools["b2"]))
        db.session.get(User, world.people["teacher_a2"]).school_id = b2.id
        db.session.commit()
        v = viewer(world, "teacher_a1")
        assert _names(operations.recently_updated(v, school=b2)) == ["陈老师"]
        assert _names(operations.recently_updated(v, region=orgs.get_region("430100"))) == []


def test_a_saved_profile_counts_as_an_update_and_its_subjects_show_on_the_school_page(app, world, bw, as_person):
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    _record(app, world, ACTIVITY)
    with app.app_context():
        spaces.update_profile(db.session.get(User, world.people["teacher_b1"]), subjects=["语文", "科学"],
                              grades=["三年级"], introduction="你好", default_visibility="public")
        db.session.commit()
    client = as_person("student_a1")
    region = client.get("/browse/regions/430202").get_data(as_text=True)
    recent = region.split('id="recent"', 1)[1].split("</section>", 1)[0]
    assert "黄老师" in recent and "更新资料" in recent
    school = client.get(f"/browse/schools/{world.schools['b1']}").get_data(as_text=True)
    assert "语文、科学 · 1 节课程" in school  # the profile's subjects, not the lessons' (数学)
    province = client.get("/browse/regions/430000/recent").get_data(as_text=True).split("</header>", 1)[1]
    assert province.index("黄老师") < province.index("周老师")  # just now, before 周老师's announcement
