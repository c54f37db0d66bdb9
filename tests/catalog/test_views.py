"""The catalogue pages: browsing, the children API for cascading selects, and schools' edition choices."""
from __future__ import annotations

import pytest

from learnspace.catalog import operations
from learnspace.extensions import db
from tests.fixtures.catalog import node
from tests.fixtures.helpers import csrf_token
from tests.fixtures.people import audit_log, give_login, signed_in


@pytest.fixture
def catalogue(app, world):
    """The shipped catalogue plus the world; returns {key: id} for the nodes tests use."""
    with app.app_context():
        operations.load_shipped_catalogue()
        db.session.commit()
        keys = ("xx", "cz", "xx-math", "xx-math-pep", "xx-math-bsd", "xx-math-pep-g3a", "xx-math-pep-g3a-u8",
                "xx-math-pep-g3a-u8-s1", "xx-chinese-tb", "cz-math-pep")
        return {key: node(key).id for key in keys}


@pytest.fixture
def student(app, world):
    return signed_in(app, give_login(app, world.people["student_a1"]))


def choices(app, school_code: str) -> dict:
    from learnspace.orgs.operations import get_school_by_code

    with app.app_context():
        chosen = operations.editions_for_school(get_school_by_code(school_code))
        return {pair: n.key for pair, n in chosen.items()}


# --- API ------------------------------------------------------------------------------------------

def test_api_without_parent_lists_the_stages(app, catalogue, student):
    """No parent: the stages, each with id, key, name, level and has_children, in book order."""
    response = student.get("/api/catalog/children")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == [
        {"id": catalogue["xx"], "key": "xx", "name": "小学", "level": "stage", "has_children": True},
        {"id": catalogue["cz"], "key": "cz", "name": "初中", "level": "stage", "has_children": True},
    ]


def test_api_lists_children_of_a_node_and_knows_the_leaves(app, catalogue, student):
    """Children of an edition are its volumes; a chapter without sections reports has_children false."""
    volumes = student.get(f"/api/catalog/children?parent={catalogue['xx-math-pep']}").get_json()
    assert [v["name"] for v in volumes] == ["三年级上册", "三年级下册", "四年级上册"]
    assert {v["level"] for v in volumes} == {"volume"} and all(v["has_children"] for v in volumes)
    chapters = student.get(f"/api/catalog/children?parent={catalogue['xx-math-pep-g3a']}").get_json()
    assert chapters[7]["name"] == "8 分数的初步认识" and chapters[7]["has_children"] is True
    assert (chapters[8]["name"], chapters[8]["has_children"]) == ("9 数学广角——集合", False)
    assert student.get(f"/api/catalog/children?parent={catalogue['xx-math-pep-g3a-u8-s1']}").get_json() == []


@pytest.mark.parametrize("query, status, words", [
    ("?parent=999999", 404, "教材目录节点不存在"),
    ("?parent=abc", 400, "parent 应为目录节点的编号"),
])
def test_api_refuses_bad_parents_with_json_errors(app, catalogue, student, query, status, words):
    response = student.get(f"/api/catalog/children{query}")
    assert response.status_code == status
    assert words in response.get_json()["error"]


def test_api_and_pages_need_a_signed_in_user(app, catalogue, client):
    """Anonymous: the API answers 401 JSON in Chinese, the browse page sends to the login page."""
    response = client.get("/api/catalog/children")
    assert response.status_code == 401 and "请先登录" in response.get_json()["error"]
    page = client.get("/catalog")
    assert page.status_code == 302 and "/login" in page.headers["Location"]


# --- browsing ----------------------------------------------------------------------------------------

def test_browse_root_shows_the_stages_in_chinese(app, catalogue, student):
    html = student.get("/catalog").get_data(as_text=True)
    assert "教材目录" in html and "小学" in html and "初中" in html
    assert f'href="/catalog/{catalogue["xx"]}"' in html


def test_volume_page_has_breadcrumbs_chapters_and_sections(app, catalogue, student):
    """三年级上册: breadcrumbs 教材目录 › 小学 › 数学 › 人教版, every unit, and the sections of each."""
    response = student.get(f"/catalog/{catalogue['xx-math-pep-g3a']}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    start = html.index('class="crumbs"')
    crumbs = html[start:html.index("</nav>", start)]
    for key, name in (("xx", "小学"), ("xx-math", "数学"), ("xx-math-pep", "人教版")):
        assert f'<a href="/catalog/{catalogue[key]}">{name}</a>' in crumbs
    assert crumbs.index("小学") < crumbs.index("数学") < crumbs.index("人教版") < crumbs.index("三年级上册")
    assert "1 时、分、秒" in html and "万以内的加法和减法（一）" in html and "几分之一" in html
    assert f'href="/catalog/{catalogue["xx-math-pep-g3a-u8-s1"]}"' in html


def test_section_page_leaves_a_place_for_lessons(app, catalogue, student):
    html = student.get(f"/catalog/{catalogue['xx-math-pep-g3a-u8-s1']}").get_data(as_text=True)
    assert "几分之一" in html and 'id="lessons"' in html and "8 分数的初步认识" in html


def test_chapter_page_links_to_the_search_for_its_lessons(app, catalogue, student):
    """The chapter page sends the reader to /search filtered by that node (which includes its sections)."""
    chapter = catalogue["xx-math-pep-g3a-u8"]
    html = student.get(f"/catalog/{chapter}").get_data(as_text=True)
    assert f'href="/search?node={chapter}"' in html
    assert student.get(f"/search?node={chapter}").status_code == 200


def test_unknown_node_page_is_404_in_chinese(app, catalogue, student):
    response = student.get("/catalog/999999")
    assert response.status_code == 404 and "教材目录节点不存在" in response.get_data(as_text=True)


# --- schools' edition choices ---------------------------------------------------------------------------

def editions_url(code: str) -> str:
    return f"/admin/schools/{code}/editions"


def test_school_admin_chooses_editions_per_grade_and_subject(app, world, catalogue):
    """The page offers each grade of a 小学 and both maths editions; saving records the choice and an audit entry."""
    admin = signed_in(app, world.admins["school_a1"])
    code = world.schools["a1"]
    page = admin.get(editions_url(code))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "一年级" in html and "六年级" in html and "七年级" not in html
    assert f'value="{catalogue["xx-math-pep"]}"' in html and f'value="{catalogue["xx-math-bsd"]}"' in html
    assert f'value="{catalogue["cz-math-pep"]}"' not in html
    response = admin.post(editions_url(code), data={
        "csrf_token": csrf_token(html), "edition:三年级:数学": str(catalogue["xx-math-bsd"]),
        "edition:三年级:语文": str(catalogue["xx-chinese-tb"]), "edition:四年级:数学": ""})
    assert response.status_code == 302
    assert choices(app, code) == {("三年级", "数学"): "xx-math-bsd", ("三年级", "语文"): "xx-chinese-tb"}
    assert [e["detail"] for e in audit_log(app) if e["action"] == "school.editions"] == [
        "三年级数学：北师大版；三年级语文：部编版（统编版）"]
    again = admin.get(editions_url(code)).get_data(as_text=True)
    assert f'<option value="{catalogue["xx-math-bsd"]}" selected>' in again

    # Changing to 人教版 and clearing 语文.
    admin.post(editions_url(code), data={"csrf_token": csrf_token(again),
                                         "edition:三年级:数学": str(catalogue["xx-math-pep"]),
                                         "edition:三年级:语文": ""})
    assert choices(app, code) == {("三年级", "数学"): "xx-math-pep"}


def test_admin_school_page_links_to_the_editions_page(app, world, catalogue):
    admin = signed_in(app, world.admins["county_a"])
    html = admin.get(f"/admin/schools/{world.schools['a1']}").get_data(as_text=True)
    assert f'href="{editions_url(world.schools["a1"])}"' in html


def test_admins_outside_the_school_scope_and_teachers_get_403(app, world, catalogue):
    """荷塘区's admin and another school's admin are refused (audited); a teacher too; nothing is saved."""
    code = world.schools["a1"]
    for login in (world.admins["county_b"], world.admins["school_b1"]):
        outsider = signed_in(app, login)
        assert outsider.get(editions_url(code)).status_code == 403
        response = outsider.post(editions_url(code), data={
            "csrf_token": csrf_token(outsider.get(f"/admin/schools/{world.schools['b1']}/editions")
                                     .get_data(as_text=True)),
            "edition:三年级:数学": str(catalogue["xx-math-pep"])})
        assert response.status_code == 403
        assert "不在您的管辖范围内" in response.get_data(as_text=True)
    teacher = signed_in(app, give_login(app, world.people["teacher_a1"]))
    assert teacher.get(editions_url(code)).status_code == 403
    assert choices(app, code) == {}
    denied = [e for e in audit_log(app) if e["result"] == "denied" and e["target"] == f"school:{code}"]
    assert len(denied) == 4  # GET and POST of each outsider; the teacher is refused as a non-admin


def test_an_edition_of_another_subject_or_stage_is_refused(app, world, catalogue):
    """Posting 初中人教版 for 三年级数学 is refused in Chinese and saves nothing."""
    admin = signed_in(app, world.admins["platform"])
    code = world.schools["a1"]
    token = csrf_token(admin.get(editions_url(code)).get_data(as_text=True))
    response = admin.post(editions_url(code), data={"csrf_token": token,
                                                    "edition:三年级:数学": str(catalogue["cz-math-pep"])})
    assert response.status_code == 404 and "三年级数学所选的教材版本不存在" in response.get_data(as_text=True)
    assert choices(app, code) == {}


def test_set_school_edition_checks_grade_subject_stage_and_level(app, world, catalogue):
    """The operation itself refuses a grade the school lacks, a wrong subject, a wrong stage and a non-edition."""
    from learnspace.errors import ValidationError
    from learnspace.orgs.operations import get_school_by_code

    with app.app_context():
        school = get_school_by_code(world.schools["a1"])
        pep, chinese = node("xx-math-pep"), node("xx-chinese-tb")
        with pytest.raises(ValidationError, match="没有“七年级”"):
            operations.set_school_edition(school, "七年级", "数学", pep)
        with pytest.raises(ValidationError, match="不能用作数学教材"):
            operations.set_school_edition(school, "三年级", "数学", chinese)
        with pytest.raises(ValidationError, match="不是教材版本"):
            operations.set_school_edition(school, "三年级", "数学", node("xx-math-pep-g3a"))
        junior = get_school_by_code(world.schools["a2"])
        with pytest.raises(ValidationError, match="是小学教材，不适用于七年级"):
            operations.set_school_edition(junior, "七年级", "数学", pep)
        row = operations.set_school_edition(school, "三年级", "数学", pep)
        assert row.edition_node.key == "xx-math-pep"
        assert operations.edition_for(school, "三年级", "数学").key == "xx-math-pep"
        assert operations.edition_for(school, "四年级", "数学") is None
        operations.set_school_edition(school, "三年级", "数学", None)
        assert operations.editions_for_school(school) == {}
