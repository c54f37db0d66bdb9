"""The array engine's snapshot equals Whoosh's own per-document answers; ranking helpers keep their order.

The readers below Whoosh's public API are tested layout by layout in test_whoosh_internals.py;
here a real index of several segments, multi-block terms and deletions is read whole.
"""
from __future__ import annotations

import numpy as np
import pytest
from whoosh import index as whoosh_index

from learnspace.search import engine
from learnspace.search import whoosh_internals as internals
from learnspace.search.schema import make_schema
from learnspace.search.writer import document_fields

FACETS = ("小学", "初中")


def doc(i: int) -> dict:
    return {
        "id": i, "title": f"勾股定理{'练习' if i % 3 else ''}第{i}课", "teacher_name": "张伟" if i % 2 else "王芳",
        "school_name": "芙蓉区第一中学", "chapter": "第十七章 勾股定理", "description": "探索直角三角形三边的关系。" * (i % 4),
        "stage": FACETS[i % 2], "subject": "数学", "grade": "八年级", "edition": "人教版",
        "lesson_type": "复习课" if i % 5 == 0 else "新授课", "language": "zh", "level": "",
        "visibility": "public" if i % 4 else "school", "province_code": "430000", "city_code": "430100",
        "county_code": "430102", "school_id": 7 + i % 3, "teacher_id": 100 + i % 11, "node_ids": [1, 4, 9 + i % 2],
        "published_dt": None, "views": (i * 37) % 101,
    }


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    """An index of 700 lessons in three segments (500, 150, 50), with 40 deleted."""
    path = tmp_path_factory.mktemp("engine-index")
    ix = whoosh_index.create_in(str(path), make_schema())
    for start, stop in ((0, 500), (500, 650), (650, 700)):
        writer = ix.writer()
        for i in range(start, stop):
            writer.add_document(**document_fields(doc(i)))
        writer.commit(merge=False)
    writer = ix.writer()
    for i in range(0, 700, 17):
        writer.delete_by_term("id", str(i))
    writer.commit(merge=False)
    searcher = ix.searcher()
    assert len(list(searcher.reader().leaf_readers())) == 3
    yield searcher
    searcher.close()


def test_term_documents_equal_whoosh_postings_across_blocks_and_segments(searcher):
    reader = searcher.reader()
    snap = engine.Snapshot(reader)
    for field, token in (("title", "勾股定理"), ("teacher_name", "张伟"), ("node_ids", "9"), ("school_id", "8"),
                         ("pinyin", "ggdl"), ("description", "直角三角形"), ("title", "没有这个词")):
        expected = sorted(d for d in searcher.docs_for_query(_term(field, token)))
        got = snap.docs(reader, field, token)
        # docs() keeps deleted documents (the live mask removes them): compare the live ones.
        assert [int(d) for d in got if snap.alive[d]] == expected, (field, token)
        assert list(got) == sorted(got)
    assert len(snap.docs(reader, "title", "勾股定理")) == 700  # several 128-posting blocks per segment


def test_columns_deletions_and_lengths_equal_whoosh_per_document(searcher):
    reader = searcher.reader()
    snap = engine.Snapshot(reader)
    assert snap.size == reader.doc_count_all() == 700
    assert snap.live_count == reader.doc_count() == 700 - len(range(0, 700, 17))
    for docnum in range(snap.size):
        assert bool(snap.alive[docnum]) == (not reader.is_deleted(docnum))
        stored = reader.stored_fields(docnum)
        for name in engine.CODED_FIELDS:
            assert snap.labels[name][snap.codes[name][docnum]] == stored[name], (docnum, name)
        assert snap.sort_keys["views"][docnum] == stored["views"]
        for name in engine.LENGTH_FIELDS:
            # Whoosh answers None, not 0, for an empty field.
            length = internals.LENGTH_OF_CODE[snap.lengths[name][docnum]]
            assert length == (reader.doc_field_length(docnum, name, 0) or 0), (docnum, name)


def test_top_orders_by_each_key_in_turn_and_keeps_ties_at_the_cut():
    snap = engine.Snapshot.__new__(engine.Snapshot)
    candidates = np.arange(10)
    score = np.array([1, 5, 5, 2, 5, 0, 3, 5, 1, 4], dtype=np.float32)
    newest = np.array([0, 1, 9, 0, 3, 0, 0, 2, 0, 0])
    assert list(snap.top(candidates, [score, newest], 3)) == [2, 4, 7]
    assert list(snap.top(candidates, [score, newest], 10))[:5] == [2, 4, 7, 1, 9]
    assert list(snap.top(candidates[:0], [score[:0]], 3)) == []


def _term(field, token):
    from whoosh.query import Term

    return Term(field, token)


class _Frequencies:
    """A reader stand-in that only knows document frequencies."""

    def __init__(self, frequencies):
        self.frequencies = frequencies

    def doc_frequency(self, field, token):
        return self.frequencies.get(token, 0)


def test_tokens_in_most_documents_are_not_required_unless_nothing_else_is_left():
    from learnspace.search.query import _informative

    reader = _Frequencies({"的": 950, "和": 700, "加法": 40, "减法": 35, "万": 120})
    assert _informative(reader, "title", ["万", "以内", "的", "加法", "和", "减法"], 1000) == ["万", "以内", "加法", "减法"]
    assert _informative(reader, "title", ["的", "和"], 1000) == ["和"]  # the rarer common one stays
    assert _informative(reader, "title", ["的"], 1000) == ["的"]  # a word of one token keeps it


def test_an_index_written_before_a_facet_existed_is_still_searched(tmp_path):
    """An upgrade adds a facet (册次); until init rebuilds, the old index answers and the new facet is empty."""
    older = make_schema()
    older.remove("volume")
    ix = whoosh_index.create_in(str(tmp_path), older)
    writer = ix.writer()
    doc = document_fields({"id": 1, "title": "勾股定理", "grade": "八年级", "visibility": "public", "node_ids": [1]})
    writer.add_document(**{k: v for k, v in doc.items() if k != "volume"})
    writer.commit()
    with ix.searcher() as searcher:
        snap = engine.Snapshot(searcher.reader())
        assert snap.code_mask("grade", "八年级").tolist() == [True]
        assert snap.code_mask("volume", "上册").tolist() == [False]
