"""Scope matrix: every admin × every unit on the page, both exports and the CLI; nobody sees a sibling's numbers."""
from __future__ import annotations

import pytest

from tests.fixtures.people import audit_log, signed_in
from tests.fixtures.stats import RANGE, build_stats_world

#: unit → query parameters
UNITS = {
    "all": {"region": "all"},
    "province": {"region": "430000"},
    "city_a": {"region": "430100"},
    "city_b": {"region": "430200"},
    "county_a": {"region": "430102"},
    "county_b": {"region": "430202"},
    "school_a1": {"school": "4301020001"},
    "school_a2": {"school": "4301020002"},
    "school_b1": {"school": "4302020001"},
}
#: admin → the units they may see (their own and those under it)
ALLOWED = {
    "platform": set(UNITS),
    "province": set(UNITS) - {"all"},
    "city_a": {"city_a", "county_a", "school_a1", "school_a2"},
    "county_a": {"county_a", "school_a1", "school_a2"},
    "county_b": {"county_b", "school_b1"},
    "school_a1": {"school_a1"},
    "school_b1": {"school_b1"},
}
MATRIX = [(admin, unit) for admin in ALLOWED for unit in UNITS]


@pytest.fixture
def sw(app, world):
    return build_stats_world(app, world)


@pytest.mark.parametrize("admin", sorted(ALLOWED))
def test_each_admin_sees_exactly_their_units_on_page_csv_xlsx_and_ranking(app, sw, admin):
    client = signed_in(app, sw.admins[admin])
    for unit, query in UNITS.items():
        allowed = unit in ALLOWED[admin]
        for path in ("/stats/", "/stats/export.csv", "/stats/export.xlsx"):
            response = client.get(path, query_string={**query, **RANGE})
            assert response.status_code == (200 if allowed else 403), (admin, unit, path, response.status_code)
            if not allowed:
                text = response.get_data(as_text=True)
                assert "不在您的管辖范围内" in text or "只有平台管理员" in text, (admin, unit, path)
                assert "名册人数" not in text and "已开通" not in text  # no figures at all
        if unit.startswith("school"):
            continue
        ranking = client.get("/stats/ranking", query_string={**query, **RANGE})
        assert ranking.status_code == (200 if allowed else 403), (admin, unit, "ranking")
    denied = [e for e in audit_log(app) if e["action"] == "stats.scope" and e["result"] == "denied"]
    # Every refusal is audited: page and two exports, plus the ranking for regions.
    assert len(denied) == sum(3 if u.startswith("school") else 4 for u in set(UNITS) - ALLOWED[admin])


@pytest.mark.parametrize("admin", ["county_a", "school_a1", "city_a"])
def test_the_home_page_shows_only_the_admins_own_unit_and_nothing_of_the_siblings(app, sw, admin):
    client = signed_in(app, sw.admins[admin])
    html = client.get("/stats/", query_string=RANGE).get_data(as_text=True)
    assert "荷塘" not in html and "株洲" not in html
    rows = client.get("/stats/export.csv", query_string=RANGE).get_data().decode("utf-8-sig").splitlines()
    assert not any("荷塘" in row for row in rows)
    own_views = {"county_a": "10", "city_a": "10", "school_a1": "7"}[admin]  # b1 alone has 100
    assert rows[-1].split(",")[12] == own_views
    if admin != "school_a1":
        assert "湖南省" not in html.split('class="page-head"', 1)[1]


def test_breadcrumbs_only_name_units_the_admin_may_open(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    html = client.get("/stats/", query_string={"school": "4301020001", **RANGE}).get_data(as_text=True)
    crumbs = html.split('class="crumbs"', 1)[1].split("</p>", 1)[0]
    assert "芙蓉区" in crumbs and "长沙市" not in crumbs and "湖南省" not in crumbs


@pytest.mark.parametrize("admin,unit", [(a, u) for a, u in MATRIX if a in ("county_a", "school_b1", "city_a")])
def test_cli_with_admin_applies_the_same_scope(app, sw, admin, unit):
    from learnspace.cli import main

    query = UNITS[unit]
    args = ["stats", "activation", "--admin", sw.admins[admin], "--from", RANGE["from"], "--to", RANGE["to"],
            "--format", "csv"]
    args += ["--school", query["school"]] if "school" in query else ["--region", query["region"]]
    result = app.test_cli_runner().invoke(main, args)
    if unit in ALLOWED[admin]:
        assert result.exit_code == 0, result.output
        assert result.output.startswith("单位,代码,名册人数")
    else:
        assert result.exit_code == 1, result.output
        assert "不在您的管辖范围内" in result.output or "只有平台管理员" in result.output
        assert "名册人数" not in result.output
