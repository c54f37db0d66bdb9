"""learnspace.search.understanding over a small real Whoosh index (no database): facet words and their aliases,
longest match over the raw query, pinyin facet words, and names that only look like facet words."""
from __future__ import annotations

import pytest
from whoosh import index as whoosh_index

from learnspace.search import engine, understanding
from learnspace.search.schema import make_schema
from learnspace.search.writer import document_fields

LESSONS = [
    # id, title, teacher, school, stage, subject, grade, edition, lesson type, language
    (1, "勾股定理", "张伟", "芙蓉区第二中学", "初中", "数学", "八年级", "人教版", "新授课", "zh"),
    (2, "平行四边形的性质", "王芳", "芙蓉区第二中学", "初中", "数学", "八年级", "北师大版", "复习课", "zh"),
    (3, "秒的认识", "李老师", "实验小学", "小学", "数学", "三年级", "人教版", "新授课", "zh"),
    (4, "秋天的雨", "舒雪", "实验小学", "小学", "语文", "三年级", "部编版（统编版）", "新授课", "zh"),
    (5, "春", "高一鸣", "长沙市第一中学", "初中", "语文", "七年级", "部编版（统编版）", "练习课", "ko"),
    (6, "Unit 1 Hello", "刘洋", "长沙市第一中学", "初中", "英语", "七年级", "人教版", "新授课", "zh"),
]


def doc(row) -> dict:
    i, title, teacher, school, stage, subject, grade, edition, lesson_type, language = row
    return {"id": i, "title": title, "teacher_name": teacher, "school_name": school, "chapter": "", "description": "",
            "stage": stage, "subject": subject, "grade": grade, "volume": "上册" if i % 2 else "下册", "edition": edition, "lesson_type": lesson_type,
            "language": language, "level": "", "visibility": "public", "province_code": "430000",
            "city_code": "430100", "county_code": "430102", "school_id": 1, "teacher_id": 100 + i,
            "node_ids": [1], "published_dt": None, "views": i}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    ix = whoosh_index.create_in(str(tmp_path_factory.mktemp("understanding-index")), make_schema())
    writer = ix.writer()
    for row in LESSONS:
        writer.add_document(**document_fields(doc(row)))
    writer.commit()
    searcher = ix.searcher()
    understanding.register_names("language", lambda values: {"zh": "汉语", "ko": "朝鲜语"})
    yield searcher.reader(), engine.Snapshot(searcher.reader())
    understanding._names.pop("language", None)
    searcher.close()


def understand(index, q, explicit=None):
    reader, snap = index
    return understanding.understand(snap, reader, q, explicit or {})


def query_chips(understood) -> list[tuple[str, str, str]]:
    return [(c.field, c.value, c.surface) for c in understood.chips if c.source == "query"]


def test_subject_grade_and_text_split_by_longest_match(index):
    got = understand(index, "八年级数学勾股定理")
    assert got.text == "勾股定理"
    assert got.filters == {"grade": ("八年级",), "subject": ("数学",)}
    assert query_chips(got) == [("subject", "数学", "数学"), ("grade", "八年级", "八年级")]


@pytest.mark.parametrize("q, field, value", [
    ("初二", "grade", "八年级"), ("8年级", "grade", "八年级"), ("初中二年级", "grade", "八年级"),
    ("初一", "grade", "七年级"), ("小学三年级", "grade", "三年级"), ("上册", "volume", "上册"),
    ("下学期", "volume", "下册"),
    ("人教", "edition", "人教版"), ("人教版", "edition", "人教版"), ("北师大", "edition", "北师大版"),
    ("北师", "edition", "北师大版"), ("部编", "edition", "部编版（统编版）"), ("统编版", "edition", "部编版（统编版）"),
    ("部编版（统编版）", "edition", "部编版（统编版）"), ("初中", "stage", "初中"), ("小学", "stage", "小学"),
    ("新授课", "lesson_type", "新授课"), ("新授", "lesson_type", "新授课"), ("英文", "subject", "英语"),
    ("朝鲜语", "language", "ko"),
])
def test_aliases_name_the_index_value(index, q, field, value):
    got = understand(index, q)
    assert got.text == "" and got.filters == {field: (value,)}, got


@pytest.mark.parametrize("q, grade, volume", [
    ("八上", "八年级", "上册"), ("八年级下册", "八年级", "下册"), ("七上", "七年级", "上册"), ("三年级上册", "三年级", "上册"),
    ("初二下学期", "八年级", "下册"), ("8年级上册", "八年级", "上册"),
])
def test_a_grade_with_its_volume_filters_both(index, q, grade, volume):
    got = understand(index, q)
    assert got.text == "" and got.filters == {"grade": (grade,), "volume": (volume,)}, got
    assert [(c.field, c.surface) for c in got.chips] == [("grade", q), ("volume", q)]
    # Removing one chip keeps the other, spelt as its own word.
    grade_chip, volume_chip = got.chips
    assert understanding.without(q, volume_chip, got.chips) == grade
    assert understanding.without(q, grade_chip, got.chips) == volume


def test_a_volume_the_url_contradicts_leaves_the_word_as_text(index):
    got = understand(index, "八上 勾股定理", {"volume": "下册"})
    assert got.filters == {} and got.text == "八上 勾股定理"
    got = understand(index, "八上 勾股定理", {"volume": "上册"})
    assert got.filters == {"grade": ("八年级",)} and got.text == "勾股定理"


def test_a_group_word_selects_any_of_its_subjects_and_words_of_one_field_add_up(index):
    got = understand(index, "语数英")
    assert got.filters == {"subject": ("语文", "数学", "英语")} and got.text == ""
    assert understand(index, "数学 语文").filters == {"subject": ("数学", "语文")}
    # Only values the index holds: 物理 has no lesson, so 数理化 is 数学 alone… which is no group at all.
    assert understand(index, "数理化").filters == {}


def test_words_that_are_not_facets_stay_text(index):
    for q in ("汉语拼音", "提高一点", "勾股定理", "数学家"):
        got = understand(index, q)
        assert got.filters == {} and got.text == q and not got.from_query, q


def test_a_teacher_whose_name_starts_with_a_facet_word_is_searched_as_a_name(index):
    assert understand(index, "高一鸣").filters == {}  # teacher 高一鸣, not grade 高一 + 鸣
    assert understand(index, "实验小学").filters == {}  # a school, not 小学 + 实验
    got = understand(index, "张伟 数学")
    assert got.filters == {"subject": ("数学",)} and got.text == "张伟"


@pytest.mark.parametrize("q, filters", [
    ("shuxue", None),  # 舒雪 teaches 秋天的雨: the pinyin names a teacher, so it stays text
    ("yuwen", {"subject": ("语文",)}),
    ("banianji", {"grade": ("八年级",)}),
    ("renjiaoban", {"edition": ("人教版",)}),
    ("banianji yuwen", {"grade": ("八年级",), "subject": ("语文",)}),
    ("sannianjiyuwen", {"grade": ("三年级",), "subject": ("语文",)}),
    ("BANIANJI", {"grade": ("八年级",)}),
    ("banian", None),        # a prefix is not a facet word
    ("yuwenke", None),       # nor a longer word
    ("xinshoukeyuwen", {"lesson_type": ("新授课",), "subject": ("语文",)}),
])
def test_pinyin_facet_words(index, q, filters):
    got = understand(index, q)
    assert got.filters == (filters or {}), got
    assert (got.text == "") == bool(filters)


def test_pinyin_of_a_facet_word_without_a_homophone_teacher_is_the_facet(tmp_path):
    """The same shuxue is subject 数学 on an index where no teacher is called 舒雪."""
    ix = whoosh_index.create_in(str(tmp_path), make_schema())
    writer = ix.writer()
    for row in LESSONS:
        if row[2] != "舒雪":
            writer.add_document(**document_fields(doc(row)))
    writer.add_document(**document_fields(doc((9, "数学广角", "周敏", "实验小学", "小学", "数学", "三年级", "人教版",
                                               "新授课", "zh"))))
    writer.commit()
    with ix.searcher() as searcher:
        snap = engine.Snapshot(searcher.reader())
        got = understanding.understand(snap, searcher.reader(), "shuxue", {})
        assert got.filters == {"subject": ("数学",)} and [c.label for c in got.chips] == ["数学"]


def test_explicit_filters_win_over_words(index):
    # The URL says 语文: the word 数学 is not a subject filter, it stays text.
    got = understand(index, "数学 秋天", {"subject": "语文"})
    assert got.filters == {} and got.text == "数学 秋天"
    assert [(c.field, c.value, c.source) for c in got.chips] == [("subject", "语文", "filter")]
    # The URL says the same thing as the word: the word is consumed, no second chip.
    same = understand(index, "数学 勾股", {"subject": "数学"})
    assert same.filters == {} and same.text == "勾股" and not same.from_query


def test_removing_a_chip_takes_its_word_out_of_the_query(index):
    q = "八年级数学勾股定理"
    got = understand(index, q)
    by_value = {c.value: c for c in got.chips}
    assert understanding.without(q, by_value["数学"], got.chips) == "八年级勾股定理"
    assert understanding.without(q, by_value["八年级"], got.chips) == "数学勾股定理"
    group = understand(index, "语数英 复习")
    english = next(c for c in group.chips if c.value == "英语")
    assert understanding.without("语数英 复习", english, group.chips) == "语文 数学 复习"


def test_the_vocabulary_is_built_once_per_index_version(index):
    reader, snap = index
    assert understanding.vocabulary(snap) is understanding.vocabulary(snap)
    assert understanding.vocabulary(engine.Snapshot(reader)) is not understanding.vocabulary(snap)
