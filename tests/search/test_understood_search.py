"""Searching as pupils type it, over the real index (lessons published and drained through the outbox):
subject, grade and edition words filter, the rest is text, chips come back, and the page shows them removable."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures.search import add_teacher, build_search_world, index_now, publish_lesson, viewer_of


def primary_chinese_node() -> int:
    """小学 → 语文 → 部编版（统编版） → 三年级上册 → 第二单元 (the chapter); flushes."""
    from tests.fixtures.lessons import node_chain

    return node_chain(("test-primary", "u-primary-chinese", "u-primary-chinese-tb", "u-primary-chinese-tb-g3a",
                       "u-primary-chinese-tb-g3a-u2"), "小学", "语文", "部编版（统编版）", "三年级", "三年级上册",
                      "第二单元 金秋时节").id


@pytest.fixture
def pupils(app, world):
    """The five lessons of build_search_world plus a public 三年级 数学 (人教版) and a 三年级 语文 (部编版) lesson."""
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild
    from tests.fixtures.lessons import make_chapter

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        zhou = add_teacher("周敏", world.schools["a2"], "T4301020002009")
        node = primary_chinese_node()
        db.session.commit()
        data["lessons"]["autumn"] = publish_lesson(zhou, "秋天的雨", description="感受秋天的美。", node=node, views=9)
        data["lessons"]["clock"] = publish_lesson(zhou, "时、分、秒", description="认识钟面。",
                                                  node=make_chapter().id, views=2)
        index_now()
        data["world"] = world
        yield data
        db.session.rollback()
        db.session.remove()


def run(q, **kwargs):
    from learnspace.search.query import search

    return search(viewer_of(None), q, **kwargs)


@pytest.mark.parametrize("q, expected, chips", [
    ("数学", ["pythagoras", "clock", "triangle"], [("学科", "数学")]),
    ("shuxue", ["pythagoras", "clock", "triangle"], [("学科", "数学")]),
    ("三年级", ["autumn", "clock"], [("年级", "三年级")]),
    ("人教版", ["pythagoras", "clock", "triangle"], [("教材版本", "人教版")]),
    ("部编", ["autumn"], [("教材版本", "部编版（统编版）")]),
    ("八年级数学", ["pythagoras", "triangle"], [("学科", "数学"), ("年级", "八年级")]),
    ("初二 数学", ["pythagoras", "triangle"], [("学科", "数学"), ("年级", "八年级")]),
    ("语数英", ["autumn", "pythagoras", "clock", "triangle"], [("学科", "语文"), ("学科", "数学")]),
])
def test_facet_words_list_those_lessons_most_watched_first(pupils, q, expected, chips):
    from learnspace.search.views import FACET_TITLES

    result = run(q)
    assert [hit["id"] for hit in result.hits] == [pupils["lessons"][name] for name in expected]
    assert [(FACET_TITLES[c.field], c.label) for c in result.understood if c.source == "query"] == chips
    assert result.message is None and result.note is None


def test_grade_subject_and_chapter_words_in_one_query(pupils):
    from learnspace.search.query import PARTIAL

    result = run("八年级数学勾股定理")
    # 勾股定理 is the title of one and in the description of the other 八年级 数学 lesson; title first.
    assert [hit["id"] for hit in result.hits] == [pupils["lessons"]["pythagoras"], pupils["lessons"]["triangle"]]
    assert result.hits[0]["title_html"] == "<mark>勾股定理</mark>"
    assert {(c.field, c.value) for c in result.understood} == {("grade", "八年级"), ("subject", "数学")}
    # A grade no lesson of 勾股定理 has: read as filters nothing is found, so the words are searched as text
    # (no chips) and the loose match says it found only some of them.
    other = run("三年级 勾股定理")
    assert other.understood == [] and other.note == PARTIAL
    assert [hit["id"] for hit in other.hits][0] == pupils["lessons"]["pythagoras"]


def test_text_read_as_facet_words_falls_back_to_text_when_that_finds_nothing(pupils):
    from tests.fixtures.search import publish_lesson

    lesson = publish_lesson(pupils["teachers"]["zhang"], "语文园地一", node=primary_chinese_node(), views=1)
    index_now()
    # 语文 + 园地一: the 语文 lesson whose title holds 园地 is found by the understood query.
    assert [h["id"] for h in run("语文园地").hits] == [lesson]
    # 三年级 + 勾股定理 finds nothing; but 数学勾股定理 as subject + text does.
    assert run("数学勾股定理").hits[0]["id"] == pupils["lessons"]["pythagoras"]


def test_explicit_filters_in_the_url_win_over_words(pupils):
    result = run("数学", filters={"subject": "语文"})
    # 数学 stays text (no 语文 lesson mentions it): nothing, and the only chip is the URL's filter.
    assert result.total == 0
    assert [(c.field, c.value, c.source) for c in result.understood] == [("subject", "语文", "filter")]
    same = run("数学 勾股定理", filters={"subject": "数学"})
    assert [h["id"] for h in same.hits][:1] == [pupils["lessons"]["pythagoras"]]
    assert [c.source for c in same.understood] == ["filter"]
    # The word says what the URL says: it is not text as well (勾股定理 alone has no 数学 in its title).
    alone = run("数学", filters={"subject": "数学"})
    assert [h["id"] for h in alone.hits] == [pupils["lessons"][n] for n in ("pythagoras", "clock", "triangle")]


def chip_links(html: str) -> dict[str, str]:
    return {unescape(label).strip(): unescape(href) for href, label in
            re.findall(r'<a class="word-chip" data-field="\w+" href="([^"]+)"[^>]*>([^<]+)<', html)}


def test_the_page_shows_removable_chips_and_every_state_is_a_url(client, pupils):
    html = client.get("/search?q=八年级数学勾股定理&sort=views").get_data(as_text=True)
    links = chip_links(html)
    assert set(links) == {"数学", "八年级"}
    query = {k: v[0] for k, v in parse_qs(urlsplit(links["数学"]).query).items()}
    assert query == {"q": "八年级勾股定理", "sort": "views"}
    html = client.get(links["数学"]).get_data(as_text=True)
    assert set(chip_links(html)) == {"八年级"}
    assert "已按搜索词筛选" in html
    # Removing the last word chip leaves the text; removing a URL filter chip drops the parameter (helper 3's chips).
    only_text = client.get(chip_links(html)["八年级"]).get_data(as_text=True)
    assert chip_links(only_text) == {} and "勾股定理" in only_text
