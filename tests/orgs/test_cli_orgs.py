"""The add-region and add-school commands."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.fixtures.people import audit_log


def _run(app, *args):
    from learnspace.cli import main

    return app.test_cli_runner().invoke(main, list(args))


def _counts(app):
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School

    with app.app_context():
        return (db.session.scalar(select(func.count()).select_from(Region)),
                db.session.scalar(select(func.count()).select_from(School)))


def test_add_region_and_school_from_the_command_line(app):
    """Province, city, county and a school added by commands exist and are audited."""
    from learnspace.extensions import db
    from learnspace.orgs.models import Region, School

    for code, name, level in [("430000", "湖南省", "province"), ("430100", "长沙市", "city"),
                              ("430104", "岳麓区", "county")]:
        result = _run(app, "add-region", code, name)
        assert result.exit_code == 0, result.output
        assert f"added {level} {code}" in result.output
    result = _run(app, "add-school", "4301040001", "岳麓区实验小学", "--stage", "小学", "--county", "430104")
    assert result.exit_code == 0, result.output
    assert "added school 4301040001" in result.output
    with app.app_context():
        assert db.session.get(Region, "430104").parent_code == "430100"
        school = db.session.scalar(select(School).where(School.code == "4301040001"))
        assert (school.name, school.stage, school.county_code) == ("岳麓区实验小学", "小学", "430104")
    actions = [(e["action"], e["target"], e["ip"]) for e in audit_log(app)]
    assert actions == [("region.create", "region:430000", "cli"), ("region.create", "region:430100", "cli"),
                       ("region.create", "region:430104", "cli"), ("school.create", "school:4301040001", "cli")]


@pytest.mark.parametrize("args, message", [
    (["4301", "长沙市"], "应为 6 位数字"),
    (["43010x", "长沙市"], "应为 6 位数字"),
    (["450100", "南宁市"], "行政区划代码“450000”不存在"),
    (["430000", "湖南"], "行政区划代码“430000”已存在"),
    (["430200", " "], "区划名称不能为空"),
])
def test_add_region_rejects_bad_input_clearly(app, world, args, message):
    """Bad code, missing parent, duplicate or empty name: non-zero exit, a clear message, nothing added."""
    before = _counts(app)
    result = _run(app, "add-region", *args)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert _counts(app) == before


@pytest.mark.parametrize("args, message", [
    (["430102001", "学校", "--stage", "小学", "--county", "430102"], "应为 10 位数字"),
    (["4301020099", "学校", "--stage", "幼儿园", "--county", "430102"], "学段“幼儿园”无效"),
    (["4301020099", "学校", "--stage", "小学", "--county", "430100"], "学校必须属于一个区县"),
    (["4301030099", "学校", "--stage", "小学", "--county", "430103"], "行政区划代码“430103”不存在"),
    (["4301020001", "学校", "--stage", "小学", "--county", "430102"], "学校标识码“4301020001”已登记"),
    (["4301020099", "学校", "--county", "430102"], "Missing option '--stage'"),
])
def test_add_school_rejects_bad_input_clearly(app, world, args, message):
    """Bad code, stage or county, a duplicate, or a missing option: non-zero exit, clear message, nothing added."""
    before = _counts(app)
    result = _run(app, "add-school", *args)
    assert result.exit_code != 0
    assert message in result.output, result.output
    assert _counts(app) == before
