"""The judged relevance set (scripts/bench/relevance/queries.json) is well-formed and judges lessons that exist."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench" / "relevance.py"


@pytest.fixture(scope="module")
def relevance():
    spec = importlib.util.spec_from_file_location("ls_bench_relevance", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def catalogue(relevance):
    return relevance.corpus_module().load_catalogue()


def test_queries_are_well_formed_and_cover_every_kind(relevance, catalogue):
    """At least 80 queries, no problems, every kind of the table present with several queries."""
    queries = relevance.load_queries()
    assert len(queries) >= 80
    assert relevance.check_queries(queries, {node.key for node in catalogue}) == []
    kinds = [item["kind"] for item in queries]
    assert {kind: kinds.count(kind) >= 5 for kind in relevance.KINDS} == {kind: True for kind in relevance.KINDS}


def test_the_check_reports_malformed_queries(relevance, catalogue):
    """Unknown kind, empty q, unknown judgment key, unknown catalogue key and a repeated id are all reported."""
    keys = {node.key for node in catalogue}
    bad = [{"id": "a", "kind": "guess", "q": "数学", "relevant": {"subject": "数学"}},
           {"id": "b", "kind": "chapter", "q": " ", "relevant": {"nodes": ["cz-math-pep-g8b-u2"]}},
           {"id": "c", "kind": "chapter", "q": "勾股定理", "relevant": {"title": "勾股定理"}},
           {"id": "d", "kind": "chapter", "q": "勾股定理", "relevant": {"nodes": ["no-such-node"]}},
           {"id": "d", "kind": "facet", "q": "数学", "relevant": {"subject": "数学"}}]
    problems = relevance.check_queries(bad, keys)
    assert [p.split(":")[0] for p in problems] == ["query 1 (a)", "query 2 (b)", "query 3 (c)", "query 4 (d)",
                                                   "query 5 (d)"]
    assert "no-such-node" in problems[3]


@pytest.mark.parametrize("lessons", [3000, 20_000])
def test_every_judgment_finds_public_lessons(relevance, catalogue, lessons):
    """In a quick run's corpus and the default one, every query has relevant public lessons."""
    truth = relevance.Truth(relevance.corpus_module().generate_documents(lessons), catalogue)
    assert [item["id"] for item in relevance.load_queries() if not truth.judge(item)[0]] == []


def test_judgments_follow_the_generated_fields(relevance, catalogue):
    """Relevance is read from the corpus's own fields, not from what the search returns."""
    bench = relevance.corpus_module()
    truth = relevance.Truth(bench.generate_documents(3000), catalogue)
    # the judgment follows the generated fields: 勾股定理 lessons are exactly those under its two chapters
    gougu = truth.matching({"nodes": ["cz-math-pep-g8b-u2", "cz-math-bsd-g8a-u1"]})
    docs = {doc["id"]: doc for doc in bench.generate_documents(3000) if doc["visibility"] == "public"}
    assert gougu and all("勾股定理" in docs[i]["chapter"] for i in gougu)
    assert {i for i, doc in docs.items() if doc["grade"] == "八年级" and doc["subject"] == "数学"} == \
        truth.matching({"grade": "八年级", "subject": "数学"})


def test_recall_and_ndcg(relevance):
    """recall@10 is capped by the relevant count; nDCG rewards relevant lessons early and partial ones half."""
    assert relevance.recall_at([1, 2, 3], {1, 3}) == 1.0
    assert relevance.recall_at(list(range(20)), set(range(10, 40))) == 0.0
    assert relevance.recall_at(list(range(10)), set(range(5, 100))) == 0.5
    assert relevance.ndcg_at([1, 2], {1}, set()) == 1.0
    assert relevance.ndcg_at([2, 1], {1}, set()) == pytest.approx(1 / relevance.math.log2(3))
    assert relevance.ndcg_at([1, 9], {1}, {9}) == 1.0
    assert relevance.ndcg_at([9, 1], {1}, {9}) < 1.0
    assert relevance.ndcg_at([], {1}, set()) == 0.0
