"""learnspace.search.query: finding lessons by chapter, title, teacher and pinyin; visibility; facets; sorts;
pagination; highlights; suggestions; and bad input that must never raise.

Lessons are published through learnspace.lessons.operations and reach the index through the outbox
(``writer.drain``), the way production does it.
"""
from __future__ import annotations

import pytest

from tests.fixtures.search import build_search_world, index_now, publish_lesson, viewer_of


@pytest.fixture
def sw(app, world):
    """A fresh index holding the five lessons of build_search_world; runs inside an app context."""
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()  # drop documents left by earlier tests (their rows are gone, ids may be reused)
        data = build_search_world(world)
        data["world"] = world
        yield data
        db.session.rollback()
        db.session.remove()


def ids(result) -> set[int]:
    return {hit["id"] for hit in result.hits}


def search_ids(user_id, q="", **kwargs) -> set[int]:
    from learnspace.search.query import search

    return ids(search(viewer_of(user_id), q, **kwargs))


@pytest.mark.parametrize("q", [
    "勾股定理",            # the chapter / title
    "第十七章",            # the chapter name only
    "张伟",                # the teacher
    "zhangwei",           # the teacher in pinyin
    "gougudingli",        # full pinyin of the title
    "ggdl",               # initials
    "ＧＧＤＬ",            # full-width initials, folded
    "芙蓉区第二中学 勾股",   # school name and a title fragment
])
def test_a_student_finds_the_lesson_by_chapter_teacher_or_pinyin(sw, q):
    """Every way a student might type it finds 勾股定理 by 张伟 (anonymous visitor: public lessons)."""
    assert sw["lessons"]["pythagoras"] in search_ids(None, q)


def test_title_match_ranks_above_description_match(sw):
    """勾股定理 is the title of one public lesson and only in the description of another."""
    from learnspace.search.query import search

    result = search(viewer_of(None), "勾股定理")
    order = [hit["id"] for hit in result.hits]
    assert order == [sw["lessons"]["pythagoras"], sw["lessons"]["triangle"]]
    assert result.message is None and result.total == 2
    # A title that is exactly the query beats a longer title that also contains it.
    student = search(viewer_of(sw["world"].people["student_a1"]), "勾股定理")
    assert [hit["id"] for hit in student.hits][:2] == [sw["lessons"]["pythagoras"], sw["lessons"]["proof"]]


def test_search_shows_only_what_the_viewer_may_see(sw):
    """Public for everyone, school for the school, region for the county, private for the teacher;
    and the index agrees with lessons.permissions.can_view for every (non-admin) viewer."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.permissions import can_view

    L, people = sw["lessons"], sw["world"].people
    expected = {
        None: {L["pythagoras"], L["triangle"]},
        people["student_a1"]: {L["pythagoras"], L["triangle"], L["proof"], L["parallelogram"]},
        people["student_b1"]: {L["pythagoras"], L["triangle"]},
        people["teacher_a1"]: {L["pythagoras"], L["triangle"], L["proof"], L["parallelogram"], L["seconds"]},
        sw["teachers"]["wang"]: {L["pythagoras"], L["triangle"]},
    }
    for user_id, visible in expected.items():
        assert search_ids(user_id) == visible, user_id
        user = db.session.get(User, user_id) if user_id else None
        allowed = {lesson.id for lesson in db.session.query(Lesson) if can_view(user, lesson)}
        assert allowed == visible, user_id
    # The private lesson's title does not leak through a query or a suggestion either.
    from learnspace.search.query import suggest
    assert L["seconds"] not in search_ids(people["student_a1"], "秒的认识")
    assert L["seconds"] in search_ids(people["teacher_a1"], "秒的认识")
    assert suggest(viewer_of(people["student_a1"]), "秒") == []
    assert suggest(viewer_of(people["teacher_a1"]), "秒") == ["秒的认识"]


def test_withdrawn_lessons_leave_the_results(sw):
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.search.query import search, suggest

    operations.withdraw(db.session.get(Lesson, sw["lessons"]["pythagoras"]))
    db.session.commit()
    index_now()
    assert search_ids(None, "gougudingli") == set()
    # With no public lesson left an anonymous visitor sees nothing at all (an empty visibility set
    # must not turn into "no filter").
    operations.withdraw(db.session.get(Lesson, sw["lessons"]["triangle"]))
    db.session.commit()
    index_now()
    empty = search(viewer_of(None))
    assert (empty.total, empty.hits, empty.message) == (0, [], None)
    assert search_ids(None, "勾股定理") == set() and suggest(viewer_of(None), "勾股") == []


def test_facet_counts_and_filters(sw):
    """Counts cover the visible results; a filter narrows; a chapter filter includes its sections."""
    from learnspace.search.query import search

    L, student = sw["lessons"], viewer_of(sw["world"].people["student_a1"])
    everything = search(student)
    assert everything.total == 4
    assert everything.facets["lesson_type"] == [("新授课", 2), ("复习课", 1), ("练习课", 1)]
    assert everything.facets["stage"] == [("初中", 4)]
    assert everything.facets["grade"] == [("八年级", 4)]

    practice = search(student, filters={"lesson_type": "练习课"})
    assert ids(practice) == {L["parallelogram"]} and practice.facets["lesson_type"] == [("练习课", 1)]
    chapter = search(student, filters={"node": str(sw["nodes"]["chapter"])})
    assert ids(chapter) == {L["pythagoras"], L["proof"]}  # the chapter's lesson and its section's
    assert ids(search(student, filters={"node": sw["nodes"]["section"]})) == {L["proof"]}
    both = search(student, "勾股", filters={"node": str(sw["nodes"]["chapter"]), "lesson_type": "复习课"})
    assert ids(both) == {L["proof"]} and both.filters == {"node": str(sw["nodes"]["chapter"]),
                                                           "lesson_type": "复习课"}


def test_sorts(sw):
    from learnspace.search.query import search

    L, student = sw["lessons"], viewer_of(sw["world"].people["student_a1"])
    newest = [h["id"] for h in search(student, sort="newest").hits]
    assert newest == [L["parallelogram"], L["proof"], L["triangle"], L["pythagoras"]]
    most_viewed = [h["id"] for h in search(student, sort="views").hits]
    assert most_viewed[:2] == [L["parallelogram"], L["pythagoras"]]
    # No words: relevance means nothing, so the newest come first.
    assert search(student).sort == "newest"
    assert [h["id"] for h in search(student, "勾股定理", sort="newest").hits][0] == L["proof"]


def test_pagination_clamps_out_of_range_pages(sw):
    from learnspace.search.query import search

    li = sw["teachers"]["li"]
    for n in range(23):
        publish_lesson(li, f"练习第{n + 1}课 勾股数", visibility="public")
    index_now()
    viewer = viewer_of(None)
    first = search(viewer, "勾股数", per_page=10)
    assert (first.total, first.pages, first.page, len(first.hits)) == (23, 3, 1, 10)
    last = search(viewer, "勾股数", page=3, per_page=10)
    assert len(last.hits) == 3
    seen = ids(first) | ids(search(viewer, "勾股数", page=2, per_page=10)) | ids(last)
    assert len(seen) == 23
    beyond = search(viewer, "勾股数", page=99, per_page=10)
    assert beyond.page == 3 and ids(beyond) == ids(last)
    for bad in (0, -5, "abc", None, "9" * 40, 2.5):
        result = search(viewer, "勾股数", page=bad, per_page=10)
        assert result.page in (1, 2, 3) and result.hits and result.message is None, bad


def test_highlights_are_escaped_except_mark(sw):
    """Titles and descriptions are teachers' text: only our <mark> is markup."""
    from learnspace.search.query import search

    lesson = publish_lesson(sw["teachers"]["zhang"], "<b>勾股定理</b> & 应用",
                            description='<script>alert("x")</script> 勾股定理在生活中的应用')
    index_now()
    hit = next(h for h in search(viewer_of(None), "勾股定理").hits if h["id"] == lesson)
    assert hit["title_html"] == "&lt;b&gt;<mark>勾股定理</mark>&lt;/b&gt; &amp; 应用"
    assert "<script>" not in hit["snippet_html"] and "&lt;script&gt;" in hit["snippet_html"]
    assert "<mark>勾股定理</mark>在生活中的应用" in hit["snippet_html"]
    pinyin = next(h for h in search(viewer_of(None), "ggdl").hits if h["id"] == sw["lessons"]["pythagoras"])
    assert pinyin["title_html"] == "<mark>勾股定理</mark>"
    teacher = search(viewer_of(None), "zhangwei").hits[0]
    assert teacher["teacher_html"] == "<mark>张伟</mark>"


def test_hits_carry_the_stored_fields(sw):
    from learnspace.search.query import search

    hit = search(viewer_of(None), "勾股定理").hits[0]
    assert hit["id"] == sw["lessons"]["pythagoras"]
    assert {k: hit[k] for k in ("stage", "subject", "grade", "edition", "lesson_type", "teacher_name",
                                "school_name", "views", "visibility")} == {
        "stage": "初中", "subject": "数学", "grade": "八年级", "edition": "人教版", "lesson_type": "新授课",
        "teacher_name": "张伟", "school_name": "芙蓉区第二中学", "views": 5, "visibility": "public"}
    assert hit["published_dt"].tzinfo is not None


def test_suggest_completes_titles_by_prefix_and_pinyin(sw):
    from learnspace.search.query import suggest

    anonymous = viewer_of(None)
    assert suggest(anonymous, "勾股")[0] == "勾股定理"
    assert "勾股定理的证明方法" not in suggest(anonymous, "勾股")  # a school lesson
    assert "勾股定理的证明方法" in suggest(viewer_of(sw["world"].people["student_a1"]), "勾股")
    assert "勾股定理" in suggest(anonymous, "gougu")
    assert "直角三角形的认识" in suggest(anonymous, "直角")
    for nothing in ("", "   ", "!!!", "😀", "x" * 10_000, None, '"*(AND'):
        assert suggest(anonymous, nothing) == [] or isinstance(suggest(anonymous, nothing), list)


BAD_QUERIES = ["", "   ", "x" * 10_000, "勾" * 10_000, "!!!???。。。", "😀🎉👍", '"', "*", "(", ")", "AND", "OR NOT",
               '"勾股定理', "勾股* AND (定理", "title:勾股", "\x00\x01勾股", "<script>alert(1)</script>", "%", "\\",
               "?" * 500, "勾股定理 " * 200, None, 12345, ["勾股"]]


@pytest.mark.parametrize("q", BAD_QUERIES, ids=lambda q: repr(q)[:30])
def test_bad_queries_never_raise(sw, q):
    """Every bad query gives a normal result (maybe empty) or a clear message."""
    from learnspace.search.query import SearchResult, search

    result = search(viewer_of(None), q)
    assert isinstance(result, SearchResult)
    assert result.message is None or "搜索" in result.message
    assert result.total == len(result.hits) or result.total > len(result.hits)
    for hit in result.hits:
        assert "<script>" not in hit["title_html"]


def test_bad_filters_sorts_and_sizes_are_dropped_or_clamped(sw):
    from learnspace.search.query import search

    viewer = viewer_of(None)
    everything = search(viewer)
    for filters in ({"node": "abc"}, {"node": "-1"}, {"node": "0"}, {"node": "9" * 50}, {"stage": "x" * 500},
                    {"unknown": "x"}, {"subject": None}, {"subject": ""}, {"grade": "\x00"}, "stage=初中", None,
                    {"node": ["1", "2"]}, {"lesson_type": ["新授课"]}):
        result = search(viewer, "", filters)
        assert result.message is None and result.total >= 0, filters
    assert search(viewer, "", {"node": "abc"}).filters == {} and search(viewer, "", {"node": "abc"}).total == 2
    assert search(viewer, "", {"stage": "<b>不存在</b>"}).total == 0  # a value nobody has: simply nothing
    assert search(viewer, "", sort="DROP TABLE").sort == "newest"
    assert search(viewer, "勾股", sort="bogus").sort == "relevance"
    for per_page in (0, -1, 10**9, "x"):
        assert search(viewer, per_page=per_page).total == everything.total


def test_missing_or_corrupt_index_gives_a_message_not_an_error(sw, app):
    """The page shows 搜索暂时不可用…; a rebuild brings search back."""
    import os

    from learnspace.search import generations
    from learnspace.search.query import UNAVAILABLE, search, suggest
    from learnspace.search.writer import rebuild

    live = generations.current_dir()
    try:
        for name in os.listdir(live):  # corrupt every file of the live generation
            with open(live / name, "wb") as f:
                f.write(b"\x00garbage")
        generations._local.cached = None  # as a new worker process would open it
        result = search(viewer_of(None), "勾股定理")
        assert result.message == UNAVAILABLE and result.hits == [] and result.total == 0
        assert suggest(viewer_of(None), "勾股") == []
        (generations.index_dir() / generations.CURRENT).unlink()  # missing altogether
        assert search(viewer_of(None), "勾股定理").message == UNAVAILABLE
    finally:
        rebuild()
    assert sw["lessons"]["pythagoras"] in search_ids(None, "勾股定理")
