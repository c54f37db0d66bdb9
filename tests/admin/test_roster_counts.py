"""名册人数 means the same everywhere: students and teachers on the roster, school admins listed apart."""
from __future__ import annotations

import re

from tests.fixtures.people import give_login, signed_in

MEANING = "名册人数 = 名册上的学生和教师（不含管理员）"


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _add_school_admins(app, school_code: str, count: int) -> None:
    from learnspace.accounts import admins
    from learnspace.extensions import db

    with app.app_context():
        for i in range(count):
            admins.create_admin_account(None, f"extra-admin-{i}", f"副管理员{i}", "school_admin",
                                        school_code=school_code)
        db.session.commit()


def test_school_header_and_people_list_agree(app, world):
    """With three school admins at a1, the header's 名册人数 and the 名册人员 heading both say 2; admins listed apart."""
    _add_school_admins(app, world.schools["a1"], 2)  # plus school-a1 from the world: three admins
    give_login(app, world.people["teacher_a1"])
    html = signed_in(app, world.admins["county_a"]).get(f"/admin/schools/{world.schools['a1']}").get_data(as_text=True)
    text = _text(html)
    header = int(re.search(r"(\d+) 名册人数", text).group(1))
    listed = int(re.search(r"名册人员（(\d+)）", text).group(1))
    people = html[html.index('id="people"'):html.index('id="school-admins"')]
    rows = len(re.findall(r'<td data-label="姓名"', people))
    assert header == listed == rows == 2
    assert "1 已开通空间" in text
    assert "学校管理员（3）" in text and "副管理员0" in text and "一小管理员" in text
    assert "副管理员0" not in people and "一小管理员" not in people
    assert MEANING in text


def test_dashboard_schools_list_and_school_page_count_alike(app, world):
    """The dashboard, the schools list and each school page give the same 名册人数, and say what it counts."""
    _add_school_admins(app, world.schools["a2"], 1)
    client = signed_in(app, world.admins["county_a"])
    dashboard = _text(client.get("/admin/").get_data(as_text=True))
    schools = client.get("/admin/schools").get_data(as_text=True)
    per_school = {}
    for key in ("a1", "a2"):
        page = _text(client.get(f"/admin/schools/{world.schools[key]}").get_data(as_text=True))
        per_school[key] = int(re.search(r"(\d+) 名册人数", page).group(1))
        assert int(re.search(r"名册人员（(\d+)）", page).group(1)) == per_school[key]
        row = schools[schools.index(world.schools[key]):]
        listed = int(re.search(r'data-label="名册人数" class="num">(\d+)<', row).group(1))
        assert listed == per_school[key], key
    assert per_school == {"a1": 2, "a2": 0}
    assert f"{sum(per_school.values())} 名册人数" in dashboard
    assert MEANING in dashboard and MEANING in _text(schools)
