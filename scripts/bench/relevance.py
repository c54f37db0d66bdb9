#!/usr/bin/env python3
"""Judged relevance: recall@10 and nDCG@10 per query kind over a generated corpus, through the real search.

The corpus is scripts/bench/search.py's generator (the shipped catalogue's chapters and sections,
subjects, grades and editions, teacher and school names, descriptions; seeded), 20,000 lessons by
default. The index is built through production's ``learnspace.search.writer.rebuild`` and cached
under ``var/bench-relevance/`` (keyed by the corpus size and a hash of the search code and the
generator, so a code change rebuilds it). Every judged query of ``scripts/bench/relevance/queries.json``
runs through ``learnspace.search.query.search`` as an anonymous visitor (who sees every public lesson).

Judgments come from the corpus's own truth, never from what the search returns: a lesson is
relevant when it is public and matches every key of the query's ``relevant`` (its subject, grade,
edition, stage, lesson type, teacher or school name, or a catalogue node key among its node and
ancestors); ``partial`` lessons are worth half in nDCG and nothing in recall.

recall@10 = relevant lessons in the top 10 / min(10, number of relevant lessons), so a query with
thousands of relevant lessons (数学) scores 1.0 when its first ten are all relevant.
nDCG@10 uses gain 1 for relevant and 0.5 for partial lessons, log2 discounts, and the ideal order
of the whole corpus. recall@all = relevant lessons anywhere in the results / relevant lessons
(does 数学 list every 数学 lesson, not only those that say 数学?).

Run:  .venv/bin/python scripts/bench/relevance.py [--lessons 20000] [--worst 15] [--rebuild] [--top-only]
      [--json out.json]
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUERIES = Path(__file__).resolve().parent / "relevance" / "queries.json"
CACHE = ROOT / "var" / "bench-relevance"
TOP = 10
#: results per page when paging through every result for recall@all (the search's maximum)
PAGE = 100
#: query kinds, in the order of the table, and the issue's recall@10 target for each (None: no target)
KINDS = {"facet": 0.95, "chapter": 0.95, "teacher": None, "pinyin_full": 0.9, "pinyin_prefix": 0.9,
         "pinyin_initials": 0.9, "typo": 0.9, "mixed": None}
#: judgment keys that compare one field of the generated lesson with a value (or any of a list)
FIELD_KEYS = {"stage": "stage", "subject": "subject", "grade": "grade", "edition": "edition",
              "lesson_type": "lesson_type", "teacher": "teacher_name", "school": "school_name"}
KEYS = set(FIELD_KEYS) | {"nodes"}
#: the fields of one judged query
FIELDS = {"id", "kind", "q", "relevant", "partial", "note"}
PARTIAL_GAIN = 0.5
#: bump when open_index() builds differently, so a cached index of the old way is not reused
BUILD_VERSION = "2"


def corpus_module():
    """scripts/bench/search.py as a module (its catalogue loader and lesson generator are the corpus)."""
    name = "ls_bench_search"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parent / "search.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        spec.loader.exec_module(module)
    return sys.modules[name]


# --- the judgments ---------------------------------------------------------------------------------

def load_queries(path: Path = QUERIES) -> list[dict]:
    """Return the judged queries of *path* (a JSON object with a "queries" list)."""
    return json.loads(path.read_text("utf-8"))["queries"]


def check_queries(queries: list[dict], node_keys: set[str]) -> list[str]:
    """Return what is wrong with *queries* (empty when well-formed): fields, kinds, keys, unknown catalogue nodes."""
    problems, seen = [], set()
    for number, item in enumerate(queries, 1):
        where = f"query {number} ({item.get('id', '?')})"
        if not isinstance(item, dict):
            problems.append(f"{where}: not an object")
            continue
        if set(item) - FIELDS:
            problems.append(f"{where}: unknown fields {sorted(set(item) - FIELDS)}")
        if not isinstance(item.get("id"), str) or item["id"] in seen:
            problems.append(f"{where}: id missing or repeated")
        seen.add(item.get("id"))
        if item.get("kind") not in KINDS:
            problems.append(f"{where}: kind {item.get('kind')!r} is not one of {list(KINDS)}")
        if not isinstance(item.get("q"), str) or not item["q"].strip():
            problems.append(f"{where}: q must be a non-empty string")
        for part in ("relevant", "partial"):
            spec = item.get(part)
            if spec is None and part == "partial":
                continue
            if not isinstance(spec, dict) or not spec:
                problems.append(f"{where}: {part} must be a non-empty object")
                continue
            for key, value in spec.items():
                values = value if isinstance(value, list) else [value]
                if key not in KEYS:
                    problems.append(f"{where}: {part} key {key!r} is not one of {sorted(KEYS)}")
                elif not values or not all(isinstance(v, str) and v for v in values):
                    problems.append(f"{where}: {part}.{key} must be a string or a list of strings")
                elif key == "nodes" and set(values) - node_keys:
                    problems.append(f"{where}: unknown catalogue keys {sorted(set(values) - node_keys)}")
    return problems


class Truth:
    """The generated lessons' judged attributes: public lessons only, with their catalogue keys."""

    def __init__(self, docs, catalogue):
        keys = {node.id: node.key for node in catalogue}
        self.order: list[int] = []
        self.fields: dict[int, dict] = {}
        self.nodes: dict[int, set[str]] = {}
        for doc in docs:
            if doc["visibility"] != "public":
                continue
            self.order.append(doc["id"])
            self.fields[doc["id"]] = {name: doc[name] for name in FIELD_KEYS.values()}
            self.nodes[doc["id"]] = {keys[i] for i in doc["node_ids"]}

    def matching(self, spec: dict) -> set[int]:
        """Ids of the public lessons that match every key of *spec*."""
        found = set()
        wanted = {key: set(value if isinstance(value, list) else [value]) for key, value in spec.items()}
        for lesson in self.order:
            fields = self.fields[lesson]
            if all((self.nodes[lesson] & values) if key == "nodes" else fields[FIELD_KEYS[key]] in values
                   for key, values in wanted.items()):
                found.add(lesson)
        return found

    def judge(self, item: dict) -> tuple[set[int], set[int]]:
        """(relevant ids, partial ids) of a judged query."""
        relevant = self.matching(item["relevant"])
        partial = self.matching(item["partial"]) - relevant if item.get("partial") else set()
        return relevant, partial


# --- the measures ---------------------------------------------------------------------------------

def recall_at(ranked: list[int], relevant: set[int], k: int = TOP) -> float:
    """Relevant lessons among the first *k* / the most there could be (min(k, |relevant|))."""
    if not relevant:
        return 0.0
    return sum(1 for lesson in ranked[:k] if lesson in relevant) / min(k, len(relevant))


def ndcg_at(ranked: list[int], relevant: set[int], partial: set[int], k: int = TOP) -> float:
    """nDCG@k with gain 1 (relevant) and PARTIAL_GAIN (partial), against the best order the corpus allows."""
    def gain(lesson):
        return 1.0 if lesson in relevant else PARTIAL_GAIN if lesson in partial else 0.0

    dcg = sum(gain(lesson) / math.log2(rank + 2) for rank, lesson in enumerate(ranked[:k]))
    ideal_gains = ([1.0] * min(k, len(relevant)) + [PARTIAL_GAIN] * len(partial))[:k]
    ideal = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal_gains))
    return dcg / ideal if ideal else 0.0


# --- the index --------------------------------------------------------------------------------------

def code_hash() -> str:
    """A hash of everything that shapes the index: the search package and the corpus generator."""
    digest = hashlib.sha256(BUILD_VERSION.encode())
    for path in sorted((ROOT / "learnspace" / "search").glob("*.py")) + [Path(__file__).parent / "search.py"]:
        digest.update(path.name.encode() + path.read_bytes())
    for path in sorted((ROOT / "learnspace" / "catalog" / "data").glob("*.json")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def load_catalogue_rows(catalogue) -> None:
    """Give the bench's database the schema and the shipped catalogue, as `learnspace init` does.

    Search reads only the index today, but query understanding may read the catalogue's names
    from the database.
    """
    from flask_migrate import upgrade

    from learnspace.catalog.models import CatalogNode
    from learnspace.catalog.operations import load_shipped
    from learnspace.extensions import db

    upgrade()
    load_shipped()
    db.session.commit()
    ids = dict(db.session.query(CatalogNode.key, CatalogNode.id))
    moved = [node.key for node in catalogue if ids.get(node.key) != node.id]
    if moved:  # load_catalogue numbers nodes as init does; if that drifts, names, keys and facets still agree
        print(f"note: the index's node ids are the generator's; {len(moved)} of {len(ids)} differ from the database's")


def open_index(lessons: int, rebuild: bool = False):
    """Return an app whose search index holds the corpus of *lessons* lessons, built now or reused from var/."""
    bench = corpus_module()
    work = CACHE / f"{lessons}-{code_hash()}"
    done = work / "complete"
    if rebuild or not done.exists():
        import shutil

        shutil.rmtree(work, ignore_errors=True)
        for stale in CACHE.glob(f"{lessons}-*"):  # an index of older code is never read again
            shutil.rmtree(stale, ignore_errors=True)
        work.mkdir(parents=True)
        app = bench.make_app(work)
        start = time.perf_counter()
        with app.app_context():
            load_catalogue_rows(bench.load_catalogue())
            built = bench.build_production_index(lessons)
        print(f"built the index of {built:,} lessons in {time.perf_counter() - start:.1f} s ({work})")
        done.write_text(str(built))
    else:
        print(f"reusing the index of {done.read_text()} lessons in {work}")
    # a fresh app, as after a restart: anything read from the database at start sees the catalogue
    return bench.make_app(work)


# --- the run -----------------------------------------------------------------------------------------

def evaluate(queries: list[dict], truth: Truth, run_search, find_all=None) -> list[dict]:
    """Run every query through *run_search(q) -> (ranked ids, result)*; return one row of figures per query.

    *find_all(q, total) -> ids*, when given, pages through all *total* results for recall@all.
    """
    rows = []
    for item in queries:
        relevant, partial = truth.judge(item)
        if not relevant:  # a small --lessons corpus may lack a rare chapter: nothing to measure
            print(f"  skipped {item['id']} {item['q']!r}: no relevant public lesson in this corpus")
            continue
        start = time.perf_counter()
        ranked, result = run_search(item["q"])
        elapsed = time.perf_counter() - start
        rows.append({"id": item["id"], "kind": item["kind"], "q": item["q"], "relevant": len(relevant),
                     "found": result.total, "recall": recall_at(ranked, relevant),
                     "ndcg": ndcg_at(ranked, relevant, partial), "ms": elapsed * 1000,
                     "note": result.message or result.note or "", "top": result_titles(result)[:3]})
        if find_all is not None:
            found = find_all(item["q"], result.total) if result.total else set()
            rows[-1]["recall_all"] = len(found & relevant) / len(relevant)
    return rows


def result_titles(result) -> list[str]:
    """Each hit as “title · grade subject edition”, for the list of worst queries."""
    return [f"{hit['title']} · {hit.get('grade') or ''}{hit.get('subject') or ''} {hit.get('edition') or ''}".strip()
            for hit in result.hits]


def summary(rows: list[dict]) -> dict[str, dict]:
    """Kind → {n, recall, ndcg, target, nothing (queries that found no lesson), median_ms}, plus "overall"."""
    table = {}
    for kind in list(KINDS) + ["overall"]:
        chosen = [row for row in rows if kind == "overall" or row["kind"] == kind]
        if chosen:
            table[kind] = {"n": len(chosen), "recall": sum(r["recall"] for r in chosen) / len(chosen),
                           "ndcg": sum(r["ndcg"] for r in chosen) / len(chosen), "target": KINDS.get(kind),
                           "nothing": sum(1 for r in chosen if not r["found"]),
                           "recall_all": (sum(r["recall_all"] for r in chosen) / len(chosen)
                                          if all("recall_all" in r for r in chosen) else None),
                           "median_ms": statistics.median(r["ms"] for r in chosen)}
    return table


def print_report(rows: list[dict], worst: int) -> None:
    table = summary(rows)
    print(f"\n  {'kind':<16} {'n':>4} {'recall@10':>10} {'nDCG@10':>9} {'recall@all':>10} {'found 0':>8} "
          f"{'median ms':>10} "
          f"{'target':>8}")
    for kind, figures in table.items():
        target = figures["target"]
        mark = "" if target is None else ("  ok" if figures["recall"] >= target else "  BELOW")
        every = "-" if figures["recall_all"] is None else f"{figures['recall_all']:.3f}"
        print(f"  {kind:<16} {figures['n']:>4} {figures['recall']:>10.3f} {figures['ndcg']:>9.3f} {every:>10} "
              f"{figures['nothing']:>8} {figures['median_ms']:>10.1f} "
              f"{'≥ %.2f' % target if target else '-':>8}{mark}")
    print(f"\nworst {worst} queries (recall@10, nDCG@10, relevant lessons, lessons found, first results):")
    for row in sorted(rows, key=lambda r: (r["recall"], r["ndcg"]))[:worst]:
        note = f" [{row['note']}]" if row["note"] else ""
        print(f"  {row['id']:<19} {row['q']!r:<22} {row['recall']:.2f} {row['ndcg']:.2f} "
              f"{row['relevant']:>5} {row['found']:>6}{note}  {' | '.join(row['top']) or '-'}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--lessons", type=int, default=20_000,
                        help="corpus size (default 20,000; e.g. 3000 for a quick run)")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="judged queries (default %(default)s)")
    parser.add_argument("--worst", type=int, default=15, help="how many of the worst queries to list")
    parser.add_argument("--rebuild", action="store_true", help="build the index even when var/ has it")
    parser.add_argument("--top-only", action="store_true", help="skip recall@all (paging through every result)")
    parser.add_argument("--json", type=Path, help="also write every query's figures to this file")
    args = parser.parse_args(argv)

    bench = corpus_module()
    catalogue = bench.load_catalogue()
    queries = load_queries(args.queries)
    problems = check_queries(queries, {node.key for node in catalogue})
    if problems:
        print("the judged queries are malformed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    truth = Truth(bench.generate_documents(args.lessons), catalogue)
    print(f"relevance: {len(queries)} judged queries, {args.lessons:,} lessons ({len(truth.order):,} public)")
    app = open_index(args.lessons, rebuild=args.rebuild)
    with app.app_context():
        from learnspace.search.analysis import warm_up
        from learnspace.search.query import Viewer, search

        warm_up()
        search(Viewer(), q="课堂")  # open the searcher and read the arrays before anything is timed
        viewer = Viewer()  # anonymous: sees exactly the public lessons

        def run_search(q):
            result = search(viewer, q=q, per_page=TOP)
            return [hit["id"] for hit in result.hits], result

        def find_all(q, total):
            found = set()
            for page in range(1, math.ceil(total / PAGE) + 1):
                found.update(hit["id"] for hit in search(viewer, q=q, per_page=PAGE, page=page).hits)
            return found

        start = time.perf_counter()
        rows = evaluate(queries, truth, run_search, None if args.top_only else find_all)
        print(f"ran {len(rows)} queries in {time.perf_counter() - start:.1f} s")
    print_report(rows, args.worst)
    if args.json:
        args.json.write_text(json.dumps({"lessons": args.lessons, "summary": summary(rows), "queries": rows},
                                        ensure_ascii=False, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    sys.exit(main())
