"""Every read below Whoosh's public API gives what Whoosh itself answers, on every layout it can meet.

learnspace.search.whoosh_internals reads segment files directly (column bytes, length codes,
posting blocks, deletions). Each reader is checked here, on real indexes written by Whoosh,
against Whoosh's own per-document public answers and against its public twin: 1- and 2-byte
column refs, columns a segment does not have, numeric columns with trailing defaults, long
posting lists of several blocks, deletions in several
segments, merged and optimised indexes (the ``all_ids`` path is the public twin: whoosh-reloaded
2.7.5 never writes inlined postings); and the fix: what it saves and that it changes no byte
of meaning in the index.
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from whoosh import index as whoosh_index
from whoosh.codec import whoosh3
from whoosh.query import Term
from whoosh.searching import Searcher

from learnspace.search import engine
from learnspace.search import whoosh_internals as internals
from learnspace.search.schema import make_schema
from learnspace.search.writer import document_fields

FACETS = ("stage", "subject", "grade", "edition", "lesson_type", "language", "level", "visibility")
NUMBERS = ("published_ts", "views")
TEXT = ("title", "chapter", "teacher_name", "school_name", "description", "pinyin")


def lesson(i: int, *, level: str = "", views: int | None = None) -> dict:
    """The fields of one lesson as the writer indexes them."""
    doc = {
        "id": i, "title": f"勾股定理{'练习' if i % 3 else ''}第{i}课", "teacher_name": "张伟" if i % 2 else "王芳",
        "school_name": "芙蓉区第一中学", "chapter": "第十七章 勾股定理",
        "description": "探索直角三角形三边的关系。" * (i % 4),
        "stage": ("小学", "初中")[i % 2], "subject": "数学", "grade": "八年级", "edition": "人教版",
        "lesson_type": "复习课" if i % 5 == 0 else "新授课", "language": "zh", "level": level,
        "visibility": "public" if i % 4 else "school", "province_code": "430000", "city_code": "430100",
        "county_code": "430102", "school_id": 7 + i % 3, "teacher_id": 100 + i % 11, "node_ids": [1, 4, 9 + i % 2],
        "published_dt": None, "views": (i * 37) % 101 if views is None else views,
    }
    fields = document_fields(doc)
    # Whole seconds in both directions of 2**31: the column is signed 64-bit.
    fields["published_ts"] = (-1 if i % 7 == 0 else 1) * (1_700_000_000 + i * 86_400 * 400)
    return fields


def new_index(path):
    path.mkdir()
    return whoosh_index.create_in(str(path), make_schema())


def write(ix, docs, *, codec=None, merge=False):
    writer = ix.writer(codec=codec) if codec is not None else ix.writer()
    for fields in docs:
        writer.add_document(**fields)
    writer.commit(merge=merge)


def delete(ix, ids):
    writer = ix.writer()
    for i in ids:
        writer.delete_by_term("id", str(i))
    writer.commit(merge=False)


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    """Three segments, deletions in each:

    1. 500 lessons, one level each of 300 (RefBytesColumn switches to 2-byte refs past 255 values);
    2. 150 lessons, two levels (1-byte refs), the last 20 with no views (a numeric column shorter
       than the segment: Whoosh writes no trailing defaults);
    3. 40 documents with only an id and a title: no facet, number or length columns at all.
    """
    ix = whoosh_index.create_in(str(tmp_path_factory.mktemp("internals")), make_schema())
    write(ix, [lesson(i, level=f"水平{i % 300}") for i in range(500)])
    write(ix, [lesson(i, level=("A", "B")[i % 2], views=0 if i >= 630 else None) for i in range(500, 650)])
    write(ix, [{"id": str(i), "title": f"只有标题的课{i}"} for i in range(650, 690)])
    delete(ix, list(range(0, 690, 17)))
    return ix


def leaves(ix):
    reader = ix.reader()
    return reader, [leaf for leaf, _offset in reader.leaf_readers()]


def assert_leaf_matches_whoosh(leaf):
    """Every reader, both paths, equals Whoosh's public per-document answers on this segment."""
    n = leaf.doc_count_all()
    for internals_path in (True, False):
        for name in FACETS:
            refs, labels = internals.ref_codes(leaf, name, internals=internals_path)
            column = leaf.column_reader(name)  # translated to str by the field's from_column_value
            assert [labels[r] for r in refs] == [column[d] for d in range(n)], (name, internals_path)
            assert [labels[r] for r in refs] == [leaf.stored_fields(d).get(name, "") for d in range(n)]
        for name in NUMBERS:
            values = internals.numbers(leaf, name, internals=internals_path)
            assert values.dtype == np.int64
            assert list(values) == [leaf.column_reader(name)[d] for d in range(n)], (name, internals_path)
            assert list(values) == [leaf.stored_fields(d).get(name, 0) for d in range(n)]
        for name in TEXT:
            lengths = internals.LENGTH_OF_CODE[internals.length_codes(leaf, name, internals=internals_path)]
            # Whoosh answers None, not 0, for an empty field.
            assert list(lengths) == [leaf.doc_field_length(d, name, 0) or 0 for d in range(n)], (name, internals_path)
        assert list(internals.deleted(leaf, internals=internals_path)) == [d for d in range(n) if leaf.is_deleted(d)]
        for field, token in (("title", "勾股定理"), ("teacher_name", "张伟"), ("node_ids", "9"), ("school_id", "8"),
                             ("pinyin", "ggdl"), ("description", "直角三角形"), ("id", "3"), ("title", "没有这个词")):
            btext = leaf.schema[field].to_bytes(token)
            got = internals.term_docs(leaf, field, btext, internals=internals_path)
            assert list(got) == sorted(got)
            live = list(leaf.postings(field, btext).all_ids()) if (field, btext) in leaf else []
            # term_docs keeps deleted documents (callers mask them): the live ones are Whoosh's postings.
            assert [d for d in got if not leaf.is_deleted(d)] == live, (field, token, internals_path)


def test_every_segment_layout_reads_as_whoosh_answers(ix):
    reader, segments = leaves(ix)
    with reader:
        assert len(segments) == 3
        for leaf in segments:
            assert_leaf_matches_whoosh(leaf)


def assert_snapshot_matches_whoosh(reader):
    """The engine's arrays of a whole index version, in global document numbers, equal Whoosh's answers."""
    engine.forget()
    snap = engine.Snapshot(reader)
    assert snap.size == reader.doc_count_all() and snap.live_count == reader.doc_count()
    for docnum in range(snap.size):
        assert bool(snap.alive[docnum]) == (not reader.is_deleted(docnum))
        stored = reader.stored_fields(docnum)
        for name in engine.CODED_FIELDS:  # labels joined across segments of 1-byte, 2-byte and no refs
            assert snap.labels[name][snap.codes[name][docnum]] == stored.get(name, ""), (docnum, name)
        for name in engine.SORT_KEYS:
            assert snap.sort_keys[name][docnum] == stored.get(name, 0), (docnum, name)
        for name in engine.LENGTH_FIELDS:
            length = internals.LENGTH_OF_CODE[snap.lengths[name][docnum]]
            assert length == (reader.doc_field_length(docnum, name, 0) or 0), (docnum, name)
    with Searcher(reader, closereader=False) as searcher:
        for field, token in (("title", "勾股定理"), ("title", "标题"), ("node_ids", "9"), ("id", "651")):
            got = snap.docs(reader, field, token)
            assert [int(d) for d in got if snap.alive[d]] == sorted(searcher.docs_for_query(Term(field, token)))


def test_a_snapshot_of_every_layout_at_once_equals_whoosh(ix):
    with ix.reader() as reader:
        assert_snapshot_matches_whoosh(reader)


def test_the_fixture_holds_the_layouts_it_claims(ix):
    """Guard the test above: each internal path is really met (else it would pass vacuously)."""
    reader, (big, small, bare) = leaves(ix)
    with reader:
        assert big.column_reader("level", translate=False)._itemsize == 2
        assert small.column_reader("level", translate=False)._itemsize == 1
        assert small.column_reader("views", translate=False)._count < small.doc_count_all()
        assert not bare.has_column("stage") and not bare.has_column("views")
        assert isinstance(big.postings("title", "勾股定理").child, whoosh3.W3LeafMatcher)
        assert big.doc_frequency("title", "勾股定理") > 3 * 128  # several posting blocks
        assert all(leaf.has_deletions() for leaf in (big, small, bare))


def test_posting_lists_are_never_inlined_so_all_ids_is_only_the_public_path(tmp_path):
    """Why the ``all_ids`` path of term_docs is reached only with internals=False (tested above on every layout).

    The W3 codec could inline short posting lists into the term dictionary (a ListMatcher then
    answers, not posting blocks), but only below its inline limit of 1 posting by default, and
    whoosh-reloaded 2.7.5 cannot write them at all: raising the limit fails. Should a later
    version inline, term_docs already reads those lists through ``all_ids``.
    """
    broken = new_index(tmp_path / "inlined")
    with pytest.raises(AttributeError, match="set_inline"):
        write(broken, [lesson(1)], codec=whoosh3.W3Codec(inlinelimit=10))
    ix = new_index(tmp_path / "default")
    write(ix, [lesson(1)])
    with ix.reader() as reader:
        assert isinstance(reader.postings("id", "1"), whoosh3.W3LeafMatcher)  # one posting, still a block


def test_a_merged_and_then_optimised_index_reads_as_whoosh_answers(ix, tmp_path):
    merged = new_index(tmp_path / "merged")
    write(merged, [lesson(i, level=f"水平{i % 300}") for i in range(300)])
    for start in range(300, 330, 5):
        write(merged, [lesson(i, level=f"水平{i}") for i in range(start, start + 5)])
    delete(merged, range(0, 330, 7))
    # Whoosh's merge policy joins the small segments (of 5, deletions dropped) when the next one is written.
    write(merged, [lesson(i) for i in range(330, 335)], merge=True)
    reader, segments = leaves(merged)
    with reader:
        assert len(segments) < 8
        assert any(5 < leaf.doc_count_all() < 300 for leaf in segments)
        for leaf in segments:
            assert_leaf_matches_whoosh(leaf)
        assert_snapshot_matches_whoosh(reader)
    merged.optimize()  # one segment, deleted documents dropped
    reader, segments = leaves(merged)
    with reader:
        assert len(segments) == 1 and not segments[0].has_deletions()
        assert segments[0].doc_count_all() == 335 - len(range(0, 330, 7))
        assert_leaf_matches_whoosh(segments[0])
        assert_snapshot_matches_whoosh(reader)


def test_term_docs_of_a_multi_segment_reader_equal_whoosh_query_answers(ix):
    """Offsets added per segment give Whoosh's global document numbers."""
    with ix.searcher() as searcher:
        for field, token in (("title", "勾股定理"), ("title", "标题"), ("id", "651"), ("node_ids", "4")):
            btext = searcher.schema[field].to_bytes(token)
            got = []
            for leaf, offset in searcher.reader().leaf_readers():
                got += [int(d) + offset for d in internals.term_docs(leaf, field, btext) if not leaf.is_deleted(d)]
            assert got == sorted(searcher.docs_for_query(Term(field, token))), (field, token)
            assert got


# --- the fix ---------------------------------------------------------------------------------------------

def _build(path, monkeypatch, docs):
    """Write *docs* in two segments and merge them into one; return the index and the os.stat calls on its files."""
    ix = new_index(path)
    calls = []
    real = os.stat

    def counting_stat(target, *args, **kwargs):
        if str(target).startswith(str(path)):  # the index's files only (not jieba's dictionaries, say)
            calls.append(target)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(os, "stat", counting_stat)
    try:
        write(ix, docs[: len(docs) // 2])
        write(ix, docs[len(docs) // 2:])
        ix.optimize()
    finally:
        monkeypatch.setattr(os, "stat", real)
    return ix, len(calls)


def _contents(ix) -> dict:
    """Everything Whoosh's public API says about an index: terms, postings, lengths, stored fields, columns."""
    with ix.reader() as reader:
        postings = {}
        for field, btext in reader.all_terms():
            postings[(field, btext)] = list(reader.postings(field, btext).items_as("weight"))
        n = reader.doc_count_all()
        names = reader.schema.names()
        return {
            "postings": postings,
            "stored": [reader.stored_fields(d) for d in range(n)],
            "lengths": {name: [reader.doc_field_length(d, name) for d in range(n)] for name in TEXT},
            "totals": {name: reader.field_length(name) for name in TEXT},
            "columns": {name: list(reader.column_reader(name)) for name in names if reader.has_column(name)},
        }


def test_the_fix_is_installed_when_the_search_package_loads():
    assert internals.INTERNALS  # setup.cfg pins the version the internals know
    assert whoosh3.W3PerDocReader._cached_reader is internals._cached_reader
    assert internals.apply_fixes()  # idempotent


def test_the_fix_stops_a_stat_per_posting_and_writes_the_same_index(tmp_path, monkeypatch):
    docs = [lesson(i) for i in range(300)]
    fixed, fixed_stats = _build(tmp_path / "fixed", monkeypatch, docs)
    _fewer, fewer_stats = _build(tmp_path / "fewer", monkeypatch, docs[:100])
    monkeypatch.setattr(whoosh3.W3PerDocReader, "_cached_reader", internals.WHOOSH_CACHED_READER)
    unfixed, unfixed_stats = _build(tmp_path / "unfixed", monkeypatch, docs)
    # With the fix a missing length column is asked for once per segment and field: the count does not
    # grow with the postings. Without it every posting of an unscored field (id, node_ids, region and
    # school ids, …: at least 8 per lesson) asks the file system for a file that does not exist.
    assert fixed_stats == fewer_stats
    assert unfixed_stats - fixed_stats > 8 * len(docs)
    assert _contents(fixed) == _contents(unfixed)


# --- containment ---------------------------------------------------------------------------------------

def _whoosh_private_names() -> set[str]:
    """Every private attribute name Whoosh's own classes set or read on ``self``."""
    import re
    from pathlib import Path

    import whoosh

    names = set()
    for source in Path(whoosh.__file__).parent.rglob("*.py"):
        names.update(re.findall(r"\bself\.(_[a-z]\w*)", source.read_text("utf-8")))
    return names


def test_only_whoosh_internals_reads_below_whooshs_public_api():
    """No other module imports Whoosh's codec, matcher or storage layers, or reads a private Whoosh attribute."""
    import ast
    from pathlib import Path

    import learnspace

    private = _whoosh_private_names()
    assert {"_perdoc", "_segid", "_data", "_uniques", "_ix"} <= private  # the scan sees what engine.py once read
    offences = []
    for source in Path(learnspace.__file__).parent.rglob("*.py"):
        if source.name == "whoosh_internals.py":
            continue
        for node in ast.walk(ast.parse(source.read_text("utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                offences += [f"{source.name}: import {m}" for m in modules
                             if m.split(".")[:2] in (["whoosh", p] for p in ("codec", "matching", "filedb", "util",
                                                                              "reading"))]
            elif (isinstance(node, ast.Attribute) and node.attr in private
                  and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                offences.append(f"{source.name}:{node.lineno}: .{node.attr}")
    assert offences == []
