"""Filters everywhere: the 课程 list and the catalogue take the search page's filters under the same URL
parameters (stage, subject, grade, edition, lesson_type, language), show the same panel with counts and a
"筛选 (n)" button for phones, keep the filters across pages and links, and answer hostile values with an
empty state, never a 500."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.fixtures.people import give_login, signed_in
from tests.fixtures.search import add_chinese_lesson, build_search_world

HOSTILE = [
    "subject=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "grade=%27%20OR%201%3D1%20--",
    "language=" + "x" * 200,
    "stage=%00%01",
    "edition=%E2%80%AE%E4%BA%BA%E6%95%99",
    "lesson_type=a&lesson_type=b&subject=",
    "page=-5&subject=%E8%AF%AD%E6%96%87%E8%AF%AD%E6%96%87",
]


@pytest.fixture
def fw(app, world):
    """The search world (four 初中 数学 八年级 lessons, one private 小学 one) plus a public 小学 语文 三年级 lesson."""
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        add_chinese_lesson(data)
        db.session.remove()
    data["world"] = world
    return data


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def titles(html: str) -> list[str]:
    """Lesson titles of a 课程 list or catalogue page, in order."""
    return [unescape(t) for t in re.findall(r'class="lesson-title"[^>]*>([^<]*)</a>', html)]


def facet_link(html: str, field: str, name: str) -> str:
    """The href of the facet value *name* of *field* in the filter panel."""
    section = re.search(r'data-facet="%s".*?</section>' % field, html, re.S)
    assert section, (field, html)
    found = re.search(r'<a class="facet-value[^"]*"[^>]*href="([^"]+)"[^>]*>%s<span class="count">(\d+)</span>'
                      % re.escape(name), section.group(0), re.S)
    assert found, (field, name, section.group(0))
    return unescape(found.group(1))


def params(url: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_lesson_list_filters_by_subject_and_grade_with_counts_and_a_shareable_url(client, fw):
    everything = page(client, "/lessons")
    assert set(titles(everything)) == {"勾股定理", "直角三角形的认识", "古诗三首"}
    assert 'class="button filter-open"' in everything and ">筛选</a>" in everything  # nothing chosen yet
    # The panel: the same facets as the search page, with counts of the visible lessons.
    maths = facet_link(everything, "subject", "数学")
    assert params(maths) == {"subject": "数学"}
    narrowed = page(client, maths)
    assert set(titles(narrowed)) == {"勾股定理", "直角三角形的认识"}
    assert "学科：数学" in narrowed and "符合筛选条件的共 2 节" in narrowed
    grade = facet_link(narrowed, "grade", "八年级")
    assert params(grade) == {"subject": "数学", "grade": "八年级"}
    both = page(client, grade)
    assert set(titles(both)) == {"勾股定理", "直角三角形的认识"}
    assert "筛选 (2)" in both  # the phone button counts the active filters
    # Un-choosing (the selected value or its chip) goes back to the wider list.
    assert params(facet_link(both, "grade", "八年级")) == {"subject": "数学"}
    # The same parameters mean the same on the search page (a URL can be carried over).
    search = page(client, "/search?" + urlsplit(grade).query)
    assert "共找到 <b>2</b> 节课程" in search
    chinese = page(client, "/lessons?subject=语文&grade=三年级&stage=小学")
    assert titles(chinese) == ["古诗三首"]
    assert titles(page(client, "/lessons?subject=数学&grade=三年级")) == []


def test_lesson_list_counts_respect_visibility(app, fw):
    teacher = signed_in(app, give_login(app, fw["world"].people["teacher_a1"]))
    html = page(teacher, "/lessons?lesson_type=复习课")
    # 李老师 (teacher_a1) sees the school-only proof lesson; anonymous visitors do not.
    assert titles(html) == ["勾股定理的证明方法"]
    anonymous = app.test_client()
    assert titles(page(anonymous, "/lessons?lesson_type=复习课")) == []
    assert "没有符合筛选条件的课程" in page(anonymous, "/lessons?lesson_type=复习课")
    # The private 秒的认识 is counted for its teacher only.
    own = page(teacher, "/lessons?grade=三年级&subject=数学")
    assert titles(own) == ["秒的认识"]
    assert '>三年级<span class="count">1</span>' in own


def test_pagination_keeps_the_filters(app, client, fw):
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from tests.fixtures.lessons import make_lesson

    with app.app_context():
        for n in range(22):
            lesson_id = make_lesson(fw["world"].people["teacher_a1"], fw["world"].schools["a1"],
                                    status="published", visibility="public")
            db.session.get(Lesson, lesson_id).title = f"计时课{n:02d}"
        db.session.commit()
    first = page(client, "/lessons?grade=三年级&subject=数学")
    assert len(titles(first)) == 20 and "第 1 页 / 共 2 页" in first
    following = re.search(r'rel="next" href="([^"]+)"', first).group(1)
    assert params(unescape(following)) == {"grade": "三年级", "subject": "数学", "page": "2"}
    second = page(client, unescape(following))
    assert len(titles(second)) == 2 and all(t.startswith("计时课") for t in titles(second))
    # Choosing another filter starts again at page 1.
    assert "page" not in params(facet_link(second, "lesson_type", "新授课"))


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_filter_values_give_an_empty_state_not_an_error(app, client, fw, query):
    student = signed_in(app, give_login(app, fw["world"].people["student_a1"]))
    for url in ("/lessons?", "/search?", "/catalog?", f"/catalog/{fw['nodes']['chapter']}?"):
        response = student.get(url + query)
        assert response.status_code == 200, (url, query)
        html = response.get_data(as_text=True)
        assert "<script>alert(1)</script>" not in html
        if "subject=%3Cscript" in query:
            assert titles(html) == [] and "共找到 <b>2</b>" not in html
            if url.startswith("/lessons"):
                assert "没有符合筛选条件的课程" in html and "清除全部筛选" in html
                assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the chip names it, escaped


def test_catalogue_takes_the_same_filters(app, fw):
    student = signed_in(app, give_login(app, fw["world"].people["student_a1"]))
    root = page(student, "/catalog?subject=语文")
    # Stages cannot conflict with a subject: both stay; their lesson counts count 语文 lessons only.
    assert "学科：语文" in root and "筛选 (1)" in root and "查看 1 节课程" in root
    stage_link = re.search(r'<a class="card" href="([^"]+)">\s*<h2>初中</h2>.*?(\d+) 节课', root, re.S)
    assert stage_link and stage_link.group(2) == "0"
    assert re.search(r'<h2>初中</h2>\s*<p class="hint">1 个学科', root)  # the branch's own size is unchanged
    assert params(unescape(stage_link.group(1))) == {"subject": "语文"}  # the filter follows the link
    junior = page(student, unescape(stage_link.group(1)))
    assert "<h2>数学</h2>" not in junior  # the 数学 subject node is ruled out by subject=语文
    assert "没有符合筛选条件的教材目录" in junior
    # A chapter page lists its lessons narrowed by lesson type; its facets count the chapter's lessons.
    chapter = f"/catalog/{fw['nodes']['chapter']}"
    html = page(student, chapter)
    assert set(titles(html)) == {"勾股定理", "勾股定理的证明方法"}
    assert params(facet_link(html, "lesson_type", "复习课")) == {"lesson_type": "复习课"}
    review = page(student, chapter + "?lesson_type=复习课")
    assert titles(review) == ["勾股定理的证明方法"] and "课例（1）" in review
    find = re.search(r'href="(/search\?[^"]+)"', review).group(1)
    assert params(unescape(find)) == {"node": str(fw["nodes"]["chapter"]), "lesson_type": "复习课"}


def test_large_lists_offer_the_values_without_counts(client, fw, monkeypatch):
    from learnspace.lessons import operations

    # Above the limit the grouped count is skipped: values come from the catalogue and the fixed lists.
    monkeypatch.setattr(operations, "FACET_COUNT_LIMIT", 1)
    html = page(client, "/lessons")
    assert '<span class="count">' not in html
    for field, name in (("subject", "语文"), ("grade", "八年级"), ("lesson_type", "实验课"), ("language", "藏语")):
        section = re.search(r'data-facet="%s".*?</section>' % field, html, re.S).group(0)
        assert f">{name}</a>" in section, (field, section)
    grades = re.findall(r'>([一二三四五六七八九]年级)</a>', re.search(r'data-facet="grade".*?</section>', html, re.S)[0])
    assert len(grades) >= 2 and grades == sorted(grades, key=lambda g: "一二三四五六七八九".index(g[0]))  # not by code
    narrowed = page(client, "/lessons?subject=语文")
    assert titles(narrowed) == ["古诗三首"]
    assert 'data-facet="subject"' in narrowed and "学科：语文" in narrowed
