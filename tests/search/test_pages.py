"""The search pages: /search with highlighted results, facet links with counts, sorting and pagination;
/api/search/suggest; the search box in the header; bad input and a broken index never give a 500."""
from __future__ import annotations

import re
from html import unescape

import pytest

from tests.fixtures.people import give_login, signed_in
from tests.fixtures.search import build_search_world


@pytest.fixture
def sw(app, world):
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        db.session.remove()
    data["world"] = world
    return data


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def result_titles(html: str) -> list[str]:
    """Titles of the result list, with <mark> removed."""
    return [unescape(re.sub(r"</?mark>", "", t)) for t in re.findall(r'class="hit-title"[^>]*>(.*?)</a>', html)]


def test_anonymous_search_shows_highlighted_public_results_linking_to_lessons(client, sw):
    html = page(client, "/search?q=勾股定理")
    assert result_titles(html) == ["勾股定理", "直角三角形的认识"]
    lesson = sw["lessons"]["pythagoras"]
    assert f'href="/lessons/{lesson}"' in html
    assert '<a class="hit-title" href="/lessons/%d"><mark>勾股定理</mark></a>' % lesson in html
    assert "复习<mark>勾股定理</mark>的应用" in html  # snippet of the description match
    assert "共找到 <b>2</b> 节课程" in html
    assert "勾股定理的证明方法" not in html  # a school-only lesson


def test_pinyin_and_teacher_queries_find_the_lesson(client, sw):
    for q in ("ggdl", "gougudingli", "zhangwei", "张伟"):
        assert "勾股定理" in result_titles(page(client, f"/search?q={q}")), q


def test_facet_links_carry_counts_and_narrow_the_results(app, client, sw):
    student = signed_in(app, give_login(app, sw["world"].people["student_a1"]))
    html = page(student, "/search?q=勾股")
    # A fragment finds titles and chapters; descriptions hold whole words only (直角三角形的认识 mentions
    # 勾股定理 in its description: the whole word finds it, see the anonymous search above).
    assert set(result_titles(html)) == {"勾股定理", "勾股定理的证明方法"}
    # The lesson type facet: a link per value with its count.
    review = re.search(r'<a class="facet-value" href="([^"]+)">复习课<span class="count">1</span></a>', html)
    assert review, html
    narrowed = page(student, unescape(review.group(1)))
    assert result_titles(narrowed) == ["勾股定理的证明方法"]
    assert "课型：复习课" in narrowed  # the chosen filter as a removable chip
    assert 'class="facet-value is-selected"' in narrowed
    # The chapter filter (as the catalogue would link it) shows the chapter's name and includes its sections.
    chapter = page(student, f"/search?node={sw['nodes']['chapter']}")
    assert set(result_titles(chapter)) == {"勾股定理", "勾股定理的证明方法"}
    assert "章节：第十七章 勾股定理" in chapter


def test_sort_links_and_pagination(app, client, sw):
    from learnspace.extensions import db
    from tests.fixtures.search import index_now, publish_lesson

    with app.app_context():
        for n in range(21):
            publish_lesson(sw["teachers"]["wang"], f"勾股数练习 {n + 1}")
        index_now()
        db.session.remove()
    html = page(client, "/search?q=勾股数练习")
    assert "第 1 页 / 共 2 页" in html and len(result_titles(html)) == 20
    assert 'href="/search?q=%E5%8B%BE%E8%82%A1%E6%95%B0%E7%BB%83%E4%B9%A0&amp;page=2"' in html
    second = page(client, "/search?q=勾股数练习&page=2")
    assert len(result_titles(second)) == 1 and "上一页" in second
    newest = page(client, "/search?sort=views")
    assert result_titles(newest)[0] == "勾股定理"  # 5 views beats 0 (the region lesson is not public)
    assert '<span class="sort is-current" aria-current="true">最多观看</span>' in newest



def test_a_query_typed_on_the_newest_first_empty_page_is_ranked_by_relevance(client, sw):
    """The empty page lists the newest first; its box must not carry that sort into the pupil's query."""
    empty = page(client, "/search")
    assert '<span class="sort is-current" aria-current="true">最新发布</span>' in empty
    assert 'name="sort"' not in empty
    chosen = page(client, "/search?q=勾股&sort=views")
    assert '<input type="hidden" name="sort" value="views">' in chosen

BAD_URLS = [
    "/search?q=" + "勾" * 10_000,
    "/search?q=%22%2A%28AND",                       # " * ( AND
    "/search?q=%F0%9F%98%80%F0%9F%8E%89",            # emoji only
    "/search?q=！！！。。。",
    "/search?q=%00%01",
    "/search?q=<script>alert(1)</script>",
    "/search?page=-1", "/search?page=abc", "/search?page=99999999999999999999", "/search?q=勾股&page=1000",
    "/search?node=abc", "/search?node=-3", "/search?node=99999999", "/search?stage=<b>x</b>",
    "/search?subject=" + "x" * 5000, "/search?sort=DROP", "/search?q=勾股&q=定理&stage=初中&stage=小学",
    "/api/search/suggest?q=" + "x" * 10_000, "/api/search/suggest?q=%22%2A%28", "/api/search/suggest",
]


@pytest.mark.parametrize("url", BAD_URLS, ids=lambda u: u[:50])
def test_bad_input_gives_a_normal_page(client, sw, url):
    response = client.get(url)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "<b>x</b>" not in body


def test_punctuation_only_query_explains_itself(client, sw):
    html = page(client, "/search?q=！！！")
    assert "搜索词中没有可以查找的文字" in html


def test_broken_index_shows_a_message_not_a_500(app, client, sw):
    from learnspace.search import generations
    from learnspace.search.writer import rebuild

    with app.app_context():
        link = generations.index_dir() / generations.CURRENT
        target = link.readlink()
        link.unlink()
    try:
        html = page(client, "/search?q=勾股定理")
        assert "搜索暂时不可用" in html and result_titles(html) == []
        assert client.get("/api/search/suggest?q=勾股").get_json() == {"suggestions": []}
        assert client.get("/healthz").status_code == 503
    finally:
        with app.app_context():
            link.symlink_to(target)
            rebuild()
    assert result_titles(page(client, "/search?q=勾股定理"))


def test_suggest_api_completes_visible_titles(app, client, sw):
    assert client.get("/api/search/suggest?q=勾股").get_json()["suggestions"][0] == "勾股定理"
    assert "勾股定理" in client.get("/api/search/suggest?q=gougu").get_json()["suggestions"]
    assert "勾股定理的证明方法" not in client.get("/api/search/suggest?q=勾股").get_json()["suggestions"]
    student = signed_in(app, give_login(app, sw["world"].people["student_a1"]))
    assert "勾股定理的证明方法" in student.get("/api/search/suggest?q=勾股").get_json()["suggestions"]


def test_header_has_the_search_box_and_the_script(client, sw):
    html = page(client, "/login")
    assert re.search(r'<form class="topsearch" role="search" method="get" action="/search">', html)
    assert 'data-suggest="/api/search/suggest"' in html
    assert '<script src="/static/js/search.js" defer></script>' in html
    assert client.get("/static/js/search.js").status_code == 200
    assert "<script>" not in html  # no inline script (CSP)
