"""Bad input gets a clear Chinese message and the right status, never a 500 and never anyone's numbers."""
from __future__ import annotations

import pytest

from tests.fixtures.helpers import post_form
from tests.fixtures.people import signed_in
from tests.fixtures.stats import RANGE, build_stats_world


@pytest.fixture
def sw(app, world):
    return build_stats_world(app, world)


BAD_QUERIES = [
    ({"region": "999999"}, 404, "行政区划代码“999999”不存在"),
    ({"region": "43"}, 400, "应为 6 位数字"),
    ({"region": "43010X"}, 400, "应为 6 位数字"),
    ({"school": "123"}, 400, "应为 10 位数字"),
    ({"school": "4309990001"}, 404, "学校标识码“4309990001”不存在"),
    ({"region": "430102", "school": "4301020001"}, 400, "请只指定一个单位"),
    ({"from": "2026-11-18", "to": "2026-10-01"}, 400, "开始日期 2026-11-18 晚于结束日期 2026-10-01"),
    ({"from": "2010-01-01", "to": "2026-11-18"}, 400, "日期范围不能超过 10 年"),
    ({"from": "2026-13-01"}, 400, "开始日期“2026-13-01”无效"),
    ({"to": "yesterday"}, 400, "结束日期“yesterday”无效"),
    ({"from": "0001-01-01", "to": "2026-01-02"}, 400, "开始日期 0001-01-01 超出范围"),
    ({"to": "9999-12-31"}, 400, "结束日期 9999-12-31 超出范围"),
    ({"from": "2025-01-01", "to": "2026-11-18", "by": "day"}, 400, "按日显示最多 366 天"),
    ({"by": "hour"}, 400, "统计粒度“hour”无效"),
    ({"role": "admin"}, 400, "角色“admin”无效"),
]


@pytest.mark.parametrize("query,status,message", BAD_QUERIES)
@pytest.mark.parametrize("path", ["/stats/", "/stats/export.csv", "/stats/export.xlsx", "/stats/ranking"])
def test_bad_queries_get_a_clear_message_and_no_figures(app, sw, path, query, status, message):
    client = signed_in(app, sw.admins["platform"])
    response = client.get(path, query_string=query)
    if path == "/stats/ranking" and "role" in query:
        assert response.status_code == 200  # the ranking has no role filter and ignores it
        return
    assert response.status_code == status, (path, query, response.status_code)
    text = response.get_data(as_text=True)
    assert message in text
    assert "芙蓉区第一小学" not in text and "<svg" not in text


def test_a_bad_date_on_the_dashboard_keeps_the_form_to_correct_it(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    response = client.get("/stats/", query_string={"from": "2026-11-18", "to": "2026-10-01"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'role="alert">开始日期 2026-11-18 晚于结束日期 2026-10-01' in html
    assert 'name="from" value="2026-11-18"' in html and 'name="region" value="430102"' in html


def test_sibling_and_parent_regions_are_refused_without_numbers(app, sw):
    client = signed_in(app, sw.admins["county_a"])
    for query in ({"region": "430202"}, {"region": "430100"}, {"region": "430000"}, {"region": "all"},
                  {"school": "4302020001"}):
        response = client.get("/stats/", query_string={**query, **RANGE})
        assert response.status_code == 403, query
        text = response.get_data(as_text=True)
        assert "不在您的管辖范围内" in text or "只有平台管理员" in text
        assert "名册人数" not in text and "<svg" not in text  # the refusal names the unit, shows no figure


def test_unknown_export_format_is_a_404_with_a_message(app, sw):
    client = signed_in(app, sw.admins["platform"])
    response = client.get("/stats/export.pdf")
    assert response.status_code == 404 and "只支持 CSV 和 XLSX" in response.get_data(as_text=True)


@pytest.mark.parametrize("year,value,message", [
    ("2026", "-5", "目标必须是正整数"),
    ("2026", "0", "目标必须是正整数"),
    ("2026", "一百万", "不是整数"),
    ("2026", "1e6", "不是整数"),
    ("2026", "3.5", "不是整数"),
    ("2026", "", "不是整数"),
    ("2026", "99999999999", "超过了全国师生总数"),
    ("1999", "1000", "只能设定"),
    ("abcd", "1000", "年份“abcd”无效"),
])
def test_absurd_targets_are_refused_with_a_message_and_nothing_is_stored(app, sw, year, value, message):
    from learnspace.china_time import today
    from learnspace.extensions import db
    from learnspace.stats.models import StatsTarget

    year = year.replace("2026", str(today().year))
    client = signed_in(app, sw.admins["county_a"])
    response = post_form(client, "/stats/targets", "/stats/targets", {"year": year, "new_spaces": value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(StatsTarget)) == 0


@pytest.mark.parametrize("field,value,message", [
    ("activation_rate", "-1", "应在 0 到 100 之间"),
    ("activation_rate", "abc", "不是数字"),
    ("activation_rate", "nan", "应在 0 到 100 之间"),
    ("weekly_active_rate", "1000", "应在 0 到 100 之间"),
    ("min_rostered", "-3", "参评最少名册人数应在"),
    ("min_rostered", "2.5", "不是整数"),
])
def test_absurd_weights_are_refused(app, sw, field, value, message):
    data = {"activation_rate": "40", "weekly_active_rate": "20", "monthly_active_rate": "20",
            "teacher_publish_share": "10", "lessons_per_teacher": "10", "min_rostered": "30", field: value}
    client = signed_in(app, sw.admins["platform"])
    response = post_form(client, "/stats/weights", "/stats/weights", data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_all_zero_weights_are_refused(app, sw):
    data = dict.fromkeys(["activation_rate", "weekly_active_rate", "monthly_active_rate", "teacher_publish_share",
                          "lessons_per_teacher"], "0")
    client = signed_in(app, sw.admins["platform"])
    response = post_form(client, "/stats/weights", "/stats/weights", {**data, "min_rostered": "1"})
    assert response.status_code == 400 and "权重不能全部为 0" in response.get_data(as_text=True)


@pytest.mark.parametrize("args,message", [
    (["--region", "999999"], "不存在"),
    (["--region", "abc"], "应为 6 位数字"),
    (["--from", "2026-11-18", "--to", "2026-10-01"], "晚于结束日期"),
    (["--from", "2000-01-01", "--to", "2026-11-18"], "不能超过 10 年"),
    (["--admin", "nobody"], "找不到管理员账号"),
])
def test_cli_bad_input_exits_with_the_message(app, sw, args, message):
    from learnspace.cli import main

    result = app.test_cli_runner().invoke(main, ["stats", "activation", *args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


ODD_VALUES = ["", " ", "0", "-1", "all", "430102\n", "４３０１０２", "'; DROP TABLE users; --", "%", "_", "x" * 500,
              "2026-02-30", "20261118", "2026-W47-3", "null", "<script>"]


@pytest.mark.parametrize("name", ["region", "school", "from", "to", "by", "role", "level"])
def test_odd_values_in_any_parameter_never_cause_a_server_error(app, sw, name):
    client = signed_in(app, sw.admins["county_a"])
    for value in ODD_VALUES:
        for path in ("/stats/", "/stats/export.csv", "/stats/ranking"):
            response = client.get(path, query_string={name: value})
            assert response.status_code in (200, 400, 403, 404), (path, name, value, response.status_code)
            assert "<script>" not in response.get_data(as_text=True).split("</head>", 1)[-1]
