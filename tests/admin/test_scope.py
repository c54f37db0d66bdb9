"""Admin scope, enforced on the server for every admin page and command.

The world: province 430000 → cities 430100, 430200 → counties 430102 (schools
a1, a2) and 430202 (schools b1, b2). Admins: platform, province, city_a
(430100), county_a (430102), county_b (430202), school_a1, school_b1.
"""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from tests.fixtures.people import audit_log, give_login, issue_codes, row_counts, signed_in, token_from

ADMINS = ["platform", "province", "city_a", "county_a", "county_b", "school_a1", "school_b1"]
SCHOOLS = ["a1", "a2", "b1", "b2"]
SCOPE = {
    "platform": {"a1", "a2", "b1", "b2"},
    "province": {"a1", "a2", "b1", "b2"},
    "city_a": {"a1", "a2"},
    "county_a": {"a1", "a2"},
    "county_b": {"b1", "b2"},
    "school_a1": {"a1"},
    "school_b1": {"b1"},
}
PAIRS = [(admin, school) for admin in ADMINS for school in SCHOOLS]
SCHOOL_OF_PERSON = {"student_a1": "a1", "teacher_a1": "a1", "student_b1": "b1"}


def _pair_id(pair):
    admin, school = pair
    return f"{admin}-{school}-{'in' if school in SCOPE[admin] else 'out'}"


def _denials(app):
    return [e for e in audit_log(app) if e["result"] == "denied"]


def _assert_refused(response, app, target: str):
    """403 with a scope message, and exactly one 'denied' audit entry naming the target."""
    assert response.status_code == 403, response.status_code
    assert "管辖范围" in response.get_data(as_text=True)
    denials = _denials(app)
    assert len(denials) == 1, denials
    assert denials[0]["target"] == target
    assert denials[0]["actor_id"] is not None


# --- lists and counts -----------------------------------------------------------------

@pytest.mark.parametrize("admin", ADMINS)
def test_school_list_shows_exactly_the_schools_in_scope(app, world, admin):
    """/admin/schools lists the admin's schools and none of the others."""
    html = signed_in(app, world.admins[admin]).get("/admin/schools").get_data(as_text=True)
    for key in SCHOOLS:
        assert (world.schools[key] in html) == (key in SCOPE[admin]), key


@pytest.mark.parametrize("admin", ADMINS)
def test_dashboard_lists_only_schools_in_scope(app, world, admin):
    """The admin home's school table shows only schools the admin manages."""
    response = signed_in(app, world.admins[admin]).get("/admin/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for key in SCHOOLS:
        assert (world.schools[key] in html) == (key in SCOPE[admin]), key


@pytest.mark.parametrize("admin", ADMINS)
def test_dashboard_counts_cover_only_the_scope(app, world, admin):
    """Schools, rostered people and activated spaces are counted inside the scope only."""
    from learnspace.accounts.models import User
    from learnspace.admin.operations import schools_with_counts, scope_counts
    from learnspace.extensions import db

    give_login(app, world.people["student_b1"])  # one activated space, at b1
    people = {"a1": 2, "a2": 0, "b1": 1, "b2": 0}
    with app.app_context():
        user = db.session.scalar(select(User).where(User.login_name == world.admins[admin]))
        counts = scope_counts(user)
        rows = {school.code: (rostered, activated) for school, rostered, activated in schools_with_counts(user)}
    assert counts == {
        "schools": len(SCOPE[admin]),
        "people": sum(people[k] for k in SCOPE[admin]),
        "activated": 1 if "b1" in SCOPE[admin] else 0,
    }
    assert set(rows) == {world.schools[k] for k in SCOPE[admin]}
    if "b1" in SCOPE[admin]:
        assert rows[world.schools["b1"]] == (1, 1)
    # The page shows those same figures (text without tags, whitespace collapsed).
    html = signed_in(app, world.admins[admin]).get("/admin/").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert f"{counts['schools']} 学校" in text
    assert f"{counts['people']} 名册人数" in text
    assert f"{counts['activated']} 已开通空间" in text


def test_region_list_shows_only_regions_in_scope(app, world):
    """A city admin sees their city and its counties, not the province or the other city."""
    html = signed_in(app, world.admins["city_a"]).get("/admin/regions").get_data(as_text=True)
    assert "430100" in html and "430102" in html
    assert "430200" not in html and "430202" not in html and "株洲市" not in html


# --- one school's page -------------------------------------------------------------

@pytest.mark.parametrize("pair", PAIRS, ids=_pair_id)
def test_school_page_opens_only_in_scope(app, world, pair):
    """/admin/schools/<code>: 200 inside the scope, 403 with a 'denied' audit entry outside."""
    admin, school = pair
    response = signed_in(app, world.admins[admin]).get(f"/admin/schools/{world.schools[school]}")
    if school in SCOPE[admin]:
        assert response.status_code == 200
        assert world.schools[school] in response.get_data(as_text=True)
        assert _denials(app) == []
    else:
        _assert_refused(response, app, f"school:{world.schools[school]}")


def test_unknown_school_code_is_404(app, world):
    """A school code that does not exist is 'not found', not a server error."""
    response = signed_in(app, world.admins["platform"]).get("/admin/schools/9999999999")
    assert response.status_code == 404
    assert "不存在" in response.get_data(as_text=True)


# --- roster import page ----------------------------------------------------------------

def _roster_csv(school_code: str) -> bytes:
    return ("姓名,角色,学校标识码,学籍号,教师编号,身份证号,年级,班级\n"
            f"赵新生,学生,{school_code},G430000201601010099,,,一年级,3班\n").encode("utf-8")


@pytest.mark.parametrize("pair", [("school_a1", "a1"), ("school_a1", "a2"), ("school_a1", "b1"),
                                  ("county_b", "b2"), ("county_b", "a1"), ("city_a", "a2"),
                                  ("city_a", "b1"), ("province", "b2")], ids=_pair_id)
def test_roster_import_page_only_writes_into_schools_in_scope(app, world, pair):
    """POST /admin/roster into a school outside the scope: 403, nothing imported, denial audited."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    admin, school = pair
    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    code = world.schools[school]
    response = client.post("/admin/roster", data={"school_code": code, "csrf_token": token,
                                                  "file": (io.BytesIO(_roster_csv(code)), "名册.csv")},
                           content_type="multipart/form-data")
    with app.app_context():
        imported = db.session.scalar(select(func.count(User.id)).where(User.real_name == "赵新生"))
    if school in SCOPE[admin]:
        assert response.status_code == 200, response.get_data(as_text=True)[:3000]
        assert imported == 1
    else:
        assert imported == 0
        _assert_refused(response, app, f"school:{code}")


# --- activation codes ---------------------------------------------------------------

@pytest.mark.parametrize("pair", [("school_a1", "a1"), ("school_b1", "a1"), ("county_b", "a1"),
                                  ("city_a", "a1"), ("city_a", "b1"), ("province", "b1"),
                                  ("platform", "b1")], ids=_pair_id)
def test_activation_codes_are_issued_only_in_scope(app, world, pair):
    """POST /admin/schools/<code>/codes outside the scope: 403, no code is created, denial audited."""
    from learnspace.accounts.models import ActivationCode
    from learnspace.extensions import db

    admin, school = pair
    client = signed_in(app, world.admins[admin])
    # The token comes from a page the admin may open; the POST targets the other school.
    token = token_from(client, "/admin/roster")
    grade, klass = ("三年级", "1班") if school == "a1" else ("三年级", "2班")
    response = client.post(f"/admin/schools/{world.schools[school]}/codes",
                           data={"grade": grade, "class_name": klass, "kind": "activation", "csrf_token": token})
    with app.app_context():
        codes = db.session.scalar(select(func.count(ActivationCode.id)))
    if school in SCOPE[admin]:
        assert response.status_code == 303 and codes == 1  # on to the batch's print page
    else:
        assert codes == 0
        _assert_refused(response, app, f"school:{world.schools[school]}")


# --- one person ------------------------------------------------------------------------

PERSON_PAIRS = [(admin, person) for admin in ADMINS for person in ("student_a1", "student_b1")]


def _person_in_scope(admin, person):
    return SCHOOL_OF_PERSON[person] in SCOPE[admin]


@pytest.mark.parametrize("pair", PERSON_PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_person_page_opens_only_in_scope(app, world, pair):
    """/admin/people/<id>: 200 inside the scope; 403 and a denial entry outside."""
    admin, person = pair
    response = signed_in(app, world.admins[admin]).get(f"/admin/people/{world.people[person]}")
    if _person_in_scope(admin, person):
        assert response.status_code == 200
        assert _denials(app) == []
    else:
        _assert_refused(response, app, f"user:{world.people[person]}")


@pytest.mark.parametrize("admin", ADMINS)
def test_revealing_an_id_card_needs_scope_and_is_audited(app, world, admin):
    """reveal-id shows the full number only inside the scope (audited); outside it is 403."""
    from tests.fixtures.world import valid_id

    number = valid_id("43010220150101001")
    person = world.people["student_a1"]
    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    response = client.post(f"/admin/people/{person}/reveal-id", data={"csrf_token": token})
    body = response.get_data(as_text=True)
    reveals = [e for e in audit_log(app) if e["action"] == "idcard.reveal"]
    if _person_in_scope(admin, "student_a1"):
        assert response.status_code == 200
        assert number in body
        assert response.headers["Cache-Control"] == "no-store"
        assert len(reveals) == 1 and reveals[0]["target"] == f"user:{person}"
    else:
        assert number not in body
        assert reveals == []
        _assert_refused(response, app, f"user:{person}")


def test_person_page_shows_the_id_card_masked(app, world):
    """Without the reveal button the page shows 430***********XXXX, never the number."""
    from tests.fixtures.world import valid_id

    number = valid_id("43010220150101001")
    html = signed_in(app, world.admins["school_a1"]).get(
        f"/admin/people/{world.people['student_a1']}").get_data(as_text=True)
    assert number not in html
    assert number[:3] + "*" * 11 + number[-4:] in html


@pytest.mark.parametrize("pair", PERSON_PAIRS, ids=lambda p: f"{p[0]}-{p[1]}")
def test_disabling_a_person_needs_scope(app, world, pair):
    """disable: inside the scope the account is disabled; outside 403 and it stays enabled."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    admin, person = pair
    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    response = client.post(f"/admin/people/{world.people[person]}/disable", data={"csrf_token": token})
    with app.app_context():
        disabled = db.session.get(User, world.people[person]).is_disabled
    if _person_in_scope(admin, person):
        assert response.status_code == 302
        assert disabled
    else:
        assert not disabled
        _assert_refused(response, app, f"user:{world.people[person]}")


@pytest.mark.parametrize("admin, person, target, allowed, denied_target", [
    ("county_a", "student_a1", "a2", True, None),
    ("province", "student_a1", "b2", True, None),
    ("platform", "student_b1", "a1", True, None),
    ("school_a1", "student_a1", "a2", False, "school:a2"),      # the person is in scope, the target is not
    ("county_a", "student_a1", "b1", False, "school:b1"),
    ("city_a", "student_b1", "a1", False, "user:student_b1"),   # the person is outside the scope
    ("school_b1", "student_a1", "b1", False, "user:student_a1"),
])
def test_transfer_needs_both_the_person_and_the_target_school_in_scope(app, world, admin, person, target,
                                                                       allowed, denied_target):
    """transfer: allowed only when the admin manages the person and the new school; else 403, no move."""
    from learnspace.accounts.models import SchoolTransfer, User
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    response = client.post(f"/admin/people/{world.people[person]}/transfer",
                           data={"school_code": world.schools[target], "csrf_token": token})
    with app.app_context():
        school_code = db.session.scalar(select(School.code).join(User, User.school_id == School.id)
                                        .where(User.id == world.people[person]))
        moves = db.session.scalar(select(func.count(SchoolTransfer.id)))
    if allowed:
        assert response.status_code == 302
        assert school_code == world.schools[target] and moves == 1
    else:
        assert school_code == world.schools[SCHOOL_OF_PERSON[person]] and moves == 0
        kind, key = denied_target.split(":")
        expected = f"school:{world.schools[key]}" if kind == "school" else f"user:{world.people[key]}"
        _assert_refused(response, app, expected)


# --- regions and schools ----------------------------------------------------------------

@pytest.mark.parametrize("admin, code, name, allowed", [
    ("platform", "440000", "广东省", True),
    ("province", "430300", "湘潭市", True),
    ("province", "440000", "广东省", False),
    ("city_a", "430103", "天心区", True),
    ("city_a", "430203", "芦淞区", False),
    ("city_a", "430300", "湘潭市", False),
    ("city_a", "430100", "长沙市（改）", False),   # its own region, not something under it
    ("county_a", "430103", "天心区", False),
    ("county_b", "430203", "芦淞区", False),
    ("school_a1", "430103", "天心区", False),
])
def test_new_regions_only_below_the_admins_region(app, world, admin, code, name, allowed):
    """POST /admin/regions creates a region only inside the admin's region; else 403, nothing created."""
    from learnspace.extensions import db
    from learnspace.orgs.models import Region

    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    with app.app_context():
        existed = db.session.get(Region, code) is not None
    response = client.post("/admin/regions", data={"code": code, "name": name, "csrf_token": token})
    with app.app_context():
        region = db.session.get(Region, code)
        stored_name = region.name if region else None
    if allowed:
        assert response.status_code == 302
        assert stored_name == name
    else:
        assert response.status_code == 403
        assert (stored_name is not None) == existed and stored_name != name  # neither created nor renamed
        denials = _denials(app)
        assert [(d["action"], d["target"]) for d in denials] == [("region.create", f"region:{code}")]


@pytest.mark.parametrize("admin, county, allowed", [
    ("platform", "430202", True),
    ("city_a", "430102", True),
    ("county_b", "430202", True),
    ("county_a", "430202", False),
    ("city_a", "430202", False),
    ("school_a1", "430102", False),
])
def test_new_schools_only_in_counties_in_scope(app, world, admin, county, allowed):
    """POST /admin/schools registers a school only in a county the admin manages; else 403, nothing added."""
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    client = signed_in(app, world.admins[admin])
    token = token_from(client, "/admin/roster")
    code = county + "0099"
    response = client.post("/admin/schools", data={"code": code, "name": "新建实验学校", "stage": "小学",
                                                   "county_code": county, "csrf_token": token})
    with app.app_context():
        created = db.session.scalar(select(School).where(School.code == code))
    if allowed:
        assert response.status_code == 302
        assert created is not None and created.county_code == county
    else:
        assert response.status_code == 403
        assert "管辖" in response.get_data(as_text=True)
        assert created is None
        assert [(d["action"], d["target"]) for d in _denials(app)] == [("school.create", f"region:{county}")]


# --- who may enter at all ------------------------------------------------------------------

ADMIN_URLS_GET = ["/admin/", "/admin/schools", "/admin/regions", "/admin/roster",
                  "/admin/schools/{a1}", "/admin/people/{student_a1}"]
ADMIN_URLS_POST = ["/admin/roster", "/admin/regions", "/admin/schools", "/admin/schools/{a1}/codes",
                   "/admin/people/{student_a1}/reveal-id", "/admin/people/{student_a1}/disable",
                   "/admin/people/{student_a1}/transfer"]


def _fill(url, world):
    return url.format(a1=world.schools["a1"], student_a1=world.people["student_a1"])


@pytest.mark.parametrize("person", ["student_a1", "teacher_a1"])
def test_students_and_teachers_get_403_on_every_admin_page(app, world, person):
    """A signed-in student or teacher is refused on every admin URL, GET or POST, and nothing changes."""
    client = signed_in(app, give_login(app, world.people[person]))
    token = token_from(client, "/space")
    before = row_counts(app)
    for url in ADMIN_URLS_GET:
        assert client.get(_fill(url, world)).status_code == 403, url
    for url in ADMIN_URLS_POST:
        response = client.post(_fill(url, world), data={"csrf_token": token, "code": "430103", "name": "x",
                                                         "school_code": world.schools["a2"]})
        assert response.status_code == 403, url
    after = row_counts(app)
    after.pop("user_sessions"), before.pop("user_sessions")
    assert after == before


def test_anonymous_visitors_are_sent_to_login(app, client, world):
    """Without a session every admin page redirects to the login page."""
    for url in ADMIN_URLS_GET:
        response = client.get(_fill(url, world))
        assert response.status_code == 302 and "/login" in response.headers["Location"], url


def test_no_admin_get_changes_anything(app, world):
    """Opening every admin page (as platform admin) leaves every table as it was."""
    client = signed_in(app, world.admins["platform"])
    client.get("/admin/")  # settle the session row
    before = row_counts(app)
    for url in ADMIN_URLS_GET + ["/admin/schools/{a1}/codes", "/admin/people/{student_a1}/reveal-id",
                                 "/admin/people/{student_a1}/disable", "/admin/people/{student_a1}/transfer"]:
        response = client.get(_fill(url, world))
        assert response.status_code in (200, 405), url
    assert row_counts(app) == before


@pytest.mark.parametrize("url", ["/admin/schools/{a1}/codes", "/admin/people/{student_a1}/reveal-id",
                                 "/admin/people/{student_a1}/disable", "/admin/people/{student_a1}/transfer",
                                 "/logout"])
def test_state_changing_routes_refuse_get(app, world, url):
    """Routes that change state answer 405 to GET."""
    client = signed_in(app, world.admins["platform"])
    assert client.get(_fill(url, world)).status_code == 405


def test_admin_post_without_csrf_token_changes_nothing(app, world):
    """An in-scope admin's POST without the CSRF token is refused with 400 and writes nothing."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    client = signed_in(app, world.admins["platform"])
    before = row_counts(app)
    person = world.people["student_a1"]
    assert client.post(f"/admin/people/{person}/disable").status_code == 400
    assert client.post(f"/admin/schools/{world.schools['a1']}/codes",
                       data={"grade": "三年级", "class_name": "1班", "kind": "activation"}).status_code == 400
    assert client.post("/admin/regions", data={"code": "440000", "name": "广东省"}).status_code == 400
    with app.app_context():
        assert not db.session.get(User, person).is_disabled
    assert row_counts(app) == before


def test_issuing_codes_uses_the_admin_scope_in_the_page_form(app, world):
    """The school page of an in-scope school offers the codes form, and it works for that admin."""
    client = signed_in(app, world.admins["county_a"])
    response = issue_codes(client, world.schools["a1"], "三年级", "1班")
    assert response.status_code == 200 and "张小明" in response.get_data(as_text=True)
