"""Pinyin as pupils type it: prefixes that match their own suggestions, ü as v or u, separators, and
homophone typos found through pinyin with the page saying so.

The integration tests run over a real index: lessons published through learnspace.lessons.operations
and drained through the outbox, as production does.
"""
from __future__ import annotations

import pytest

from tests.fixtures.search import add_teacher, build_search_world, index_now, publish_lesson, viewer_of

# --- the typed-pinyin rules (pure functions) -----------------------------------------------------


@pytest.mark.parametrize("typed, letters", [
    ("gougu", "gougu"), ("gou'gu", "gougu"), ("gou-gu", "gougu"), ("gou’gu", "gougu"), ("lü", "lv"),
    ("勾股", None), ("ggdl2", None), ("", None),
])
def test_typed_keeps_the_letters_of_pinyin_only(typed, letters):
    from learnspace.search import pinyin

    assert pinyin.typed(typed) == letters


@pytest.mark.parametrize("letters, spellings", [
    ("lu", ("lu", "lv")), ("lv", ("lv",)), ("nu", ("nu", "nv")), ("nv", ("nv",)),
    ("lvxing", ("lvxing",)), ("luxing", ("luxing", "lvxing")), ("nue", ("nue", "nve")),
    ("jv", ("jv", "ju")), ("gougu", ("gougu",)),
])
def test_u_umlaut_is_looked_up_as_typed_and_as_the_index_writes_it(letters, spellings):
    from learnspace.search import pinyin

    assert pinyin.variants(letters) == spellings


def test_variants_stay_few_however_many_u_are_typed():
    from learnspace.search import pinyin

    assert len(pinyin.variants("lulululunu")) == pinyin.MAX_VARIANTS


@pytest.mark.parametrize("letters, allowed", [
    ("gougu", True), ("ggdl", True), ("gou", True), ("lv", True), ("lu", True), ("shu", True),
    ("zh", False), ("gg", False), ("ggd", False), ("a", False),
])
def test_a_prefix_needs_four_letters_or_whole_syllables(letters, allowed):
    from learnspace.search import pinyin

    assert pinyin.prefix_allowed(letters) is allowed


def test_join_runs_joins_whole_syllable_words_only():
    from learnspace.search import pinyin

    assert pinyin.join_runs(["gou", "gu"]) == ["gougu"]
    assert pinyin.join_runs(["勾股", "ding", "li"]) == ["勾股", "dingli"]
    assert pinyin.join_runs(["ggdl", "zhang", "wei"]) == ["ggdl", "zhangwei"]
    assert pinyin.join_runs(["勾股定理"]) == ["勾股定理"]


def test_of_chinese_gives_the_full_pinyin_of_the_chinese_characters():
    from learnspace.search import pinyin

    assert pinyin.of_chinese("勾股定里") == "gougudingli"
    assert pinyin.of_chinese("第1课时") == "dikeshi"
    assert pinyin.of_chinese("gougu") is None


# --- over the real index --------------------------------------------------------------------------


@pytest.fixture
def pw(app, world):
    """The five lessons of build_search_world plus lessons whose pinyin has ü, or lu/nu without it."""
    from learnspace.extensions import db
    from learnspace.search.writer import rebuild

    with app.app_context():
        rebuild()
        data = build_search_world(world)
        teacher = add_teacher("陈静", world.schools["a2"], "T4301020002099")
        data["lessons"].update({
            "travel": publish_lesson(teacher, "旅行的意义", description="写一次旅行。", days_ago=5),
            "nuwa": publish_lesson(teacher, "女娲补天", description="神话故事。", days_ago=5),
            "road": publish_lesson(teacher, "路程问题", description="速度、时间和路程。", days_ago=5),
            "effort": publish_lesson(teacher, "努力的意义", description="议论文。", days_ago=5),
        })
        index_now()
        data["world"] = world
        yield data
        db.session.rollback()
        db.session.remove()


def run(q: str, user_id=None):
    from learnspace.search.query import search

    return search(viewer_of(user_id), q)


def ids(result) -> list[int]:
    return [hit["id"] for hit in result.hits]


@pytest.mark.parametrize("q", ["gougu", "gou gu", "gou'gu", "GouGu", "ＧＯＵＧＵ", "gougud", "gou"])
def test_a_prefix_of_full_pinyin_finds_the_lesson(pw, q):
    result = run(q)
    assert pw["lessons"]["pythagoras"] in ids(result), q
    assert not result.by_pinyin


def test_pressing_search_finds_every_lesson_the_suggestions_offered(pw):
    """Whatever the box suggests for a pinyin prefix, the search of that prefix lists it too."""
    from learnspace.search.query import suggest

    student = pw["world"].people["student_a1"]
    for q in ("gougu", "gou gu", "lu", "lv", "nv", "nu", "ggdl", "zhangw"):
        suggested = suggest(viewer_of(student), q)
        assert suggested, q
        titles = {hit["title"] for hit in run(q, student).hits}
        assert set(suggested) <= titles, q


def test_gougu_ranks_the_shortest_title_first_and_highlights_it(pw):
    result = run("gougu", pw["world"].people["student_a1"])
    assert ids(result)[:2] == [pw["lessons"]["pythagoras"], pw["lessons"]["proof"]]
    assert result.hits[0]["title_html"] == "<mark>勾股定理</mark>"


@pytest.mark.parametrize("q", ["lv", "lu", "lü", "lvxing", "luxing"])
def test_u_umlaut_typed_as_v_u_or_umlaut_finds_lv(pw, q):
    assert pw["lessons"]["travel"] in ids(run(q)), q


@pytest.mark.parametrize("q", ["nv", "nu", "nvwa", "nuwa"])
def test_u_umlaut_typed_as_v_or_u_finds_nv(pw, q):
    assert pw["lessons"]["nuwa"] in ids(run(q)), q


def test_v_means_u_umlaut_only_while_u_may_mean_either(pw):
    L = pw["lessons"]
    assert L["road"] in ids(run("lu")) and L["road"] not in ids(run("lv"))
    assert L["effort"] in ids(run("nu")) and L["effort"] not in ids(run("nv"))


def test_a_short_fragment_that_is_no_syllable_must_be_a_whole_term(pw):
    """zh and gg would match half the index as prefixes: they find only lessons holding the whole term."""
    assert run("zh").total == 0 and run("ggd").total == 0
    assert pw["lessons"]["pythagoras"] in ids(run("zhang"))  # a whole syllable is a prefix


def test_a_homophone_typo_finds_the_lesson_through_pinyin_and_says_so(pw):
    from learnspace.search.results import BY_PINYIN

    result = run("勾股定里")
    assert result.by_pinyin and BY_PINYIN == "已按拼音为您查找"
    assert ids(result)[0] == pw["lessons"]["pythagoras"]
    assert result.hits[0]["title_html"] == "<mark>勾股定理</mark>"
    # Beside a word that matches as typed, the typo still finds its lesson.
    assert ids(run("张伟 勾股定里")) == [pw["lessons"]["pythagoras"]]


def test_exact_chinese_ranks_first_without_the_notice(pw):
    for q in ("勾股定理", "旅行", "女娲"):
        result = run(q)
        assert result.total and not result.by_pinyin, q
    assert ids(run("勾股定理"))[0] == pw["lessons"]["pythagoras"]
    assert ids(run("旅行的意义"))[0] == pw["lessons"]["travel"]


def test_a_typo_with_no_pinyin_match_is_not_marked(pw):
    result = run("量子力学")
    assert result.total == 0 and not result.by_pinyin


def test_the_page_says_it_searched_by_pinyin(client, pw):
    typo = client.get("/search?q=勾股定里").get_data(as_text=True)
    assert "已按拼音为您查找" in typo and "<mark>勾股定理</mark>" in typo
    exact = client.get("/search?q=勾股定理").get_data(as_text=True)
    assert "已按拼音为您查找" not in exact and "<mark>勾股定理</mark>" in exact
    assert "<mark>勾股定理</mark>" in client.get("/search?q=gougu").get_data(as_text=True)


def test_a_prefix_of_many_terms_keeps_those_in_the_most_lessons(pw, monkeypatch):
    """Past MAX_PINYIN_PREFIX_TERMS the terms in the most documents are read (a short syllable starts hundreds)."""
    from learnspace.search import matching

    searcher, snap = matching._open_searcher()
    reader = searcher.reader()
    terms = [t.decode() for t in reader.expand_prefix("pinyin", "gou")]
    assert len(terms) > 1
    best = max(terms, key=lambda t: (reader.doc_frequency("pinyin", t), -terms.index(t)))
    everything = matching._prefix_docs(snap, reader, "gou")
    monkeypatch.setattr(matching, "MAX_PINYIN_PREFIX_TERMS", 1)
    matching._prefix_cache.clear()
    kept = matching._prefix_docs(snap, reader, "gou")
    assert list(kept) == list(snap.docs(reader, "pinyin", best))
    assert set(kept) <= set(everything) and len(everything) >= len(kept)
