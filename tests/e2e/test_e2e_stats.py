"""A county admin reads the statistics dashboard (rates, weekly active spaces per school, charts), drills down
to a school by clicking its bar, exports the table to XLSX and CSV; on a phone the same dashboard fits the screen."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.fixtures.stats import RANGE_FROM, RANGE_TO, build_stats_world
from tests.fixtures.world import PASSWORD

from .harness import PHONE, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def sw(app, world):
    return build_stats_world(app, world)


def _close_up(visit, locator, name: str) -> None:
    """Save a screenshot of one part of the page at its real size (full-page phone shots are tall)."""
    visit.shots.count += 1
    locator.screenshot(path=str(visit.shots.folder / f"{visit.shots.prefix}-{visit.shots.count:02d}-{name}-{visit.label}.png"))


def _fits(visit) -> None:
    size = visit.overflow()
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"


def test_county_admin_reads_the_dashboard_drills_down_and_exports(sw, open_browser):
    visit = open_browser()
    page = sign_in(visit, sw.admins["county_a"], PASSWORD)
    with page.expect_navigation():
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="统计").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("芙蓉区 · 空间统计")
    page.get_by_label("开始日期").fill(RANGE_FROM)
    page.get_by_label("结束日期").fill(RANGE_TO)
    with page.expect_navigation():
        page.get_by_role("button", name="查看").click()
    figures = page.locator(".stats-figures")
    expect(figures.locator(".stat").nth(0)).to_contain_text("8")
    expect(figures.locator(".stat").nth(2)).to_contain_text("75.0%")
    expect(figures.locator(".stat").nth(4)).to_contain_text("周活跃空间 · 50.0%")
    table = page.locator("#children table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").first).to_contain_text("芙蓉区第一小学")
    expect(page.locator("svg.chart")).to_have_count(3)
    visit.shot("county")

    with page.expect_download() as download:
        page.get_by_role("link", name="导出 Excel").click()
    assert download.value.suggested_filename == "空间统计-芙蓉区-20261001-20261118.xlsx"
    sheet = load_workbook(io.BytesIO(download.value.path().read_bytes()))["空间统计"]
    assert [c.value for c in sheet[1]][:4] == ["单位", "代码", "名册人数", "已开通空间"]
    assert [c.value for c in sheet[2]][:4] == ["芙蓉区第一小学", "4301020001", 6, 4]
    with page.expect_download() as download:
        page.get_by_role("link", name="导出 CSV").click()
    data = download.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[-1][:3] == ["合计（芙蓉区）", "430102", "8"]

    # Drill down by clicking the school's bar in the chart.
    with page.expect_navigation():
        page.locator("svg.chart-bars a.c-drill").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("芙蓉区第一小学 · 空间统计")
    expect(page).to_have_url(re.compile(r"school=4301020001.*from=2026-10-01"))
    rows = page.locator("#children tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("三年级 1班")
    visit.shot("school")

    with page.expect_navigation():
        page.locator(".crumbs").get_by_role("link", name="芙蓉区").click()
    with page.expect_navigation():
        page.get_by_role("link", name="评优排名").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("优秀学校候选排名")
    visit.shot("ranking")

    # The county's yearly target, then its progress on the dashboard.
    with page.expect_navigation():
        page.get_by_role("link", name="芙蓉区 · 空间统计").click()
    with page.expect_navigation():
        page.get_by_role("link", name="年度目标").click()
    page.get_by_label("本年新开通空间目标（个）").fill("-5")
    with page.expect_navigation():
        page.get_by_role("button", name="保存目标").click()
    expect(page.locator(".flash-error")).to_have_text("目标必须是正整数")
    page.get_by_label("本年新开通空间目标（个）").fill("20")
    with page.expect_navigation():
        page.get_by_role("button", name="保存目标").click()
    expect(page.locator(".flash-success")).to_contain_text("新开通空间目标：20 个")
    visit.shot("target")
    with page.expect_navigation():
        page.locator(".crumbs").get_by_role("link", name="空间统计").click()
    expect(page.locator(".stats-target")).to_contain_text("/ 20 个")
    visit.shot("dashboard-with-target")


def test_the_dashboard_fits_a_phone(sw, open_browser):
    visit = open_browser(viewport=PHONE)
    page = sign_in(visit, sw.admins["city_a"], PASSWORD)
    page.goto(f"/stats/?region=430102&from={RANGE_FROM}&to={RANGE_TO}")
    expect(page.get_by_role("heading", level=1)).to_have_text("芙蓉区 · 空间统计")
    expect(page.locator("svg.chart")).to_have_count(3)
    _fits(visit)
    visit.shot("county")
    _close_up(visit, page.locator(".stats-charts"), "charts")
    _close_up(visit, page.locator("#children"), "children")
    page.goto(f"/stats/?region=430100&from={RANGE_FROM}&to={RANGE_TO}&by=week")
    expect(page.get_by_role("heading", level=1)).to_have_text("长沙市 · 空间统计")
    _fits(visit)
    visit.shot("city-weekly")
    page.goto(f"/stats/ranking?region=430100&from={RANGE_FROM}&to={RANGE_TO}")
    _fits(visit)
    visit.shot("ranking")
    page.goto("/stats/weights")
    expect(page.get_by_role("heading", level=1)).to_have_text("评优排名的评分权重")
    _fits(visit)
    visit.shot("weights")
