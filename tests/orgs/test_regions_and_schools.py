"""Regions (GB/T 2260 codes, province → city → county) and schools (10-digit codes, one county)."""
from __future__ import annotations

import pytest

from learnspace.errors import Conflict, NotFound, ValidationError
from learnspace.orgs import operations as orgs


@pytest.mark.parametrize("code, level, prefix, parent", [
    ("430000", "province", "43", None),
    ("430100", "city", "4301", "430000"),
    ("430102", "county", "430102", "430100"),
    ("110101", "county", "110101", "110100"),
])
def test_region_code_tells_level_prefix_and_parent(code, level, prefix, parent):
    """A 6-digit code ending 0000 is a province, 00 a city, otherwise a county."""
    assert orgs.region_level_of(code) == level
    assert orgs.region_prefix(code) == prefix
    assert orgs.parent_code_of(code) == parent


@pytest.mark.parametrize("code", ["", "4301", "4301000", "43010a", " 430100"])
def test_malformed_region_codes_are_refused(code):
    """Anything but exactly six digits is refused with a Chinese message."""
    with pytest.raises(ValidationError) as info:
        orgs.region_level_of(code)
    assert "应为 6 位数字" in info.value.message


def test_regions_build_a_tree(ctx):
    """Create province, city and county; each links to its parent and region_path walks down."""
    orgs.create_region("440000", "广东省")
    orgs.create_region("440300", "深圳市")
    county = orgs.create_region("440305", "南山区")
    assert (county.level, county.parent_code) == ("county", "440300")
    assert [r.code for r in orgs.region_path(county)] == ["440000", "440300", "440305"]


def test_region_needs_its_parent(ctx):
    """A city cannot be added before its province."""
    with pytest.raises(NotFound) as info:
        orgs.create_region("450100", "南宁市")
    assert "450000" in info.value.message


def test_region_code_is_unique_and_name_required(ctx):
    """Adding a code twice is a conflict; an empty or over-long name is refused."""
    orgs.create_region("460000", "海南省")
    with pytest.raises(Conflict):
        orgs.create_region("460000", "海南")
    for name in ("", "  ", "名" * 65):
        with pytest.raises(ValidationError):
            orgs.create_region("460100", name)


def test_school_belongs_to_one_county(ctx):
    """A school is registered in a county, with a 10-digit code and a known stage."""
    for code, name in [("440000", "广东省"), ("440300", "深圳市"), ("440305", "南山区")]:
        orgs.create_region(code, name)
    school = orgs.create_school("4403050001", "南山实验学校", "九年一贯制", "440305")
    assert school.county.name == "南山区"
    assert orgs.get_school_by_code("4403050001").id == school.id


@pytest.mark.parametrize("code, name, stage, county, error, message", [
    ("440305001", "学校", "小学", "440305", ValidationError, "应为 10 位数字"),
    ("44030500a1", "学校", "小学", "440305", ValidationError, "应为 10 位数字"),
    ("4403050002", "", "小学", "440305", ValidationError, "学校名称不能为空"),
    ("4403050002", "学校", "大学", "440305", ValidationError, "学段“大学”无效"),
    ("4403050002", "学校", "小学", "440300", ValidationError, "学校必须属于一个区县"),
    ("4403050002", "学校", "小学", "440399", NotFound, "行政区划代码“440399”不存在"),
    ("4403050001", "重复学校", "小学", "440305", Conflict, "已登记"),
])
def test_bad_schools_are_refused_with_a_clear_reason(ctx, code, name, stage, county, error, message):
    """Wrong code format, empty name, unknown stage, a city instead of a county, unknown county, duplicate."""
    for region, region_name in [("440000", "广东省"), ("440300", "深圳市"), ("440305", "南山区")]:
        orgs.create_region(region, region_name)
    orgs.create_school("4403050001", "南山实验学校", "小学", "440305")
    with pytest.raises(error) as info:
        orgs.create_school(code, name, stage, county)
    assert message in info.value.message


def test_unknown_school_code_is_not_found(ctx):
    """Looking up an unregistered school code says so in Chinese."""
    with pytest.raises(NotFound) as info:
        orgs.get_school_by_code("4300000000")
    assert "不存在" in info.value.message
