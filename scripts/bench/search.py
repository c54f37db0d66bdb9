#!/usr/bin/env python3
"""Benchmark: index N synthetic Chinese lessons with LearnSpace's Whoosh index and query it; tantivy as the ceiling.

What it does, in one run:

1. Generates N realistic lesson documents (default 100,000) in the shape the lessons
   domain hands to search (``learnspace/lessons/search_source.py``): titles made from
   the shipped catalogue's chapters and sections (``learnspace/catalog/data/*.json``,
   e.g. “勾股定理（第1课时）”), Chinese teacher names, school names such as
   “芙蓉区第一小学”, descriptions of one to three sentences, stage/subject/grade/
   edition/node ids consistent with the catalogue, a visibility mix, published dates
   over a year and skewed view counts. Same seed, same documents.
2. Builds the production index through the production code path: the same schema,
   analyzers and writer helper ``learnspace.search.writer`` uses (see
   ``build_production_index``), into a temporary search directory. No database and no
   MinIO are needed: ``rebuild()`` reads its documents from the registered document
   source, so the benchmark registers the generated documents as that source.
3. Runs a fixed set of 49 realistic queries (chapter names, teacher names, full pinyin
   and initials, pinyin prefixes and homophone typos, with and without facet filters, sorted by
   relevance/newest/views) through ``learnspace.search.query.search`` with a warm searcher, as an anonymous visitor and
   as a teacher, and prints p50/p95/max per query group.
4. Builds the same documents into tantivy with the same tokens (production's field values,
   ``writer.document_fields``, run through each field's production analyzer, joined with
   spaces into a whitespace-tokenized tantivy field), runs the same queries (every word in
   any field, pinyin terms for ASCII words, the schema's field boosts) with the same
   filters, visibility clause, top 20, total count and facet counts, and prints the ratios.
   Not mirrored: highlighting and the loose fallback query of a search that found nothing.

Run:  .venv/bin/python scripts/bench/search.py [--n 100000] [--repeat 3] [--skip-tantivy]
Needs the ``bench`` extra (``pip install -e ".[bench]"``) for tantivy.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
CATALOG_DIR = ROOT / "learnspace" / "catalog" / "data"
from learnspace.lessons.search_source import volume_of  # noqa: E402  (the 册次 rule of the real documents)

# --- the catalogue -----------------------------------------------------------------------------

# “第一单元” is one numbering (not “第一单” + a topic “元”)
_NUMBERING = re.compile(r"^(第[一二三四五六七八九十百]+(?:章|单元|节|课)\s*|\d+(\.\d+)*\s+|[一二三四五六七八九十]+\s+)")
_GRADE = re.compile(r"^(.{1,3}年级|高[一二三])")


@dataclass
class Node:
    id: int
    key: str
    name: str
    level: str
    parent: "Node | None"
    stage: str = ""
    subject: str = ""
    edition: str = ""
    grade: str = ""
    volume: str = ""
    children: list = field(default_factory=list)

    @property
    def ancestor_ids(self) -> list[int]:
        ids, node = [], self
        while node is not None:
            ids.append(node.id)
            node = node.parent
        return ids[::-1]

    @property
    def topic(self) -> str:
        """The name without its numbering: “17.1 勾股定理” → “勾股定理”."""
        return _NUMBERING.sub("", self.name).strip()


def load_catalogue() -> list[Node]:
    """Return every node of the shipped catalogue with the ids a fresh ``learnspace init`` gives them."""
    nodes: dict[str, Node] = {}
    counter = iter(range(1, 1_000_000))

    def number(new: list[Node]) -> None:
        # init loads stages.json, then each file in name order, writing one level at a time
        levels = ("stage", "subject", "edition", "volume", "chapter", "section")
        for node in sorted(new, key=lambda n: levels.index(n.level)):
            node.id = next(counter)

    def add(raw: dict, parent: Node | None) -> None:
        node = Node(0, raw["key"], raw["name"], raw["level"], parent)
        if parent is not None:
            node.stage, node.subject, node.edition, node.grade, node.volume = (
                parent.stage, parent.subject, parent.edition, parent.grade, parent.volume)
            parent.children.append(node)
        if node.level in ("stage", "subject", "edition"):
            setattr(node, node.level, node.name)
        if node.level == "volume":
            match = _GRADE.match(raw.get("grade") or node.name)
            node.grade = match.group(1) if match else ""
            node.volume = volume_of(node.name)  # as the lessons domain derives the 册次 facet
        nodes[node.key] = node
        for child in raw.get("children", []):
            add(child, node)

    for raw in json.loads((CATALOG_DIR / "stages.json").read_text("utf-8")):
        add(raw, None)
    number(list(nodes.values()))
    for path in sorted(CATALOG_DIR.glob("*-*.json")):
        raw = json.loads(path.read_text("utf-8"))
        before = len(nodes)
        add(raw, nodes[raw["parent_key"]])
        number(list(nodes.values())[before:])
    return list(nodes.values())


# --- synthetic lessons -------------------------------------------------------------------------

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = ("丽 静 敏 燕 艳 娟 霞 芳 娜 秀英 桂英 玉兰 海燕 建华 建军 志强 志明 国庆 晓东 晓燕 春梅 红梅 丽华 文静 雪梅 "
         "海涛 俊杰 子涵 欣怡 梓轩 浩宇 雨桐 思远 一鸣 嘉怡 佳琪 晨曦 宇航 明轩 诗涵 婉清 立新 卫东 振华 德胜 永红 "
         "小军 慧敏 美玲 淑珍 秀兰 凤英 玉梅 丹 磊 勇 军 杰 涛 斌 超 鹏 辉 刚 平 琳 颖 倩 蕾 琦 璐").split()
#: (province, city, county) codes and names: Hunan plus a few elsewhere, so region filters have variety
COUNTIES = [
    ("430000", "430100", "430102", "芙蓉区"), ("430000", "430100", "430103", "天心区"),
    ("430000", "430100", "430104", "岳麓区"), ("430000", "430100", "430105", "开福区"),
    ("430000", "430100", "430111", "雨花区"), ("430000", "430100", "430112", "望城区"),
    ("430000", "430200", "430202", "荷塘区"), ("430000", "430200", "430203", "芦淞区"),
    ("430000", "430300", "430302", "雨湖区"), ("430000", "430300", "430304", "岳塘区"),
    ("430000", "430400", "430405", "珠晖区"), ("430000", "430700", "430702", "武陵区"),
    ("110000", "110100", "110105", "朝阳区"), ("110000", "110100", "110108", "海淀区"),
    ("440000", "440100", "440106", "天河区"), ("510000", "510100", "510107", "武侯区"),
]
PLACES = "实验 育才 明德 长郡 雅礼 周南 麓山 红星 东风 向阳 新华 人民 解放 城南 城北 桃花 枫林 湘江".split()
ORDINALS = "一二三四五六七八九十"
LESSON_TYPES = ("新授课", "复习课", "练习课", "实验课", "讲评课", "活动课", "专题课")
VISIBILITY_MIX = [("public", 55), ("school", 25), ("region", 15), ("private", 5)]
TITLE_PATTERNS = [
    ("{t}", 20), ("{t}（第{k}课时）", 25), ("《{t}》", 10), ("{t}教学设计", 8), ("{t}复习课", 6),
    ("{grade}{subject}《{t}》", 10), ("{t}——{lesson_type}", 8), ("{t}公开课", 5), ("{chapter}：{t}", 8),
]
SENTENCES = [
    "本课围绕“{t}”展开，引导学生在观察、操作和交流中理解核心概念。",
    "教学重点是{t}的意义与应用，难点是让学生用自己的话说清道理。",
    "课堂采用小组合作学习，结合生活中的实例，帮助{grade}学生建立{subject}思维。",
    "通过情境导入和分层练习，学生能够独立完成{t}相关的典型问题。",
    "本节课是{edition}{grade}{subject}“{chapter}”中的一课，承上启下。",
    "{teacher}老师执教，课后附有评测练习和教学反思。",
    "借助信息技术与课件演示，把抽象的内容变得直观，提高课堂效率。",
    "学生在探究中经历猜想、验证、归纳的过程，体会数学与语言的美。",
    "本课获{county}优课评选推荐，适合作为同课异构的参考。",
]


def _weighted(rng: random.Random, choices: list[tuple[str, int]]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


@dataclass
class Teacher:
    id: int
    name: str
    school_id: int
    school_name: str
    stage: str
    county: tuple


def make_schools_and_teachers(rng: random.Random, n_lessons: int) -> tuple[list[Teacher], list[Teacher]]:
    """Return primary and secondary teachers (about 15 lessons each), spread over ~1 school per 40 teachers."""
    n_teachers = max(20, n_lessons // 15)
    n_schools = max(4, n_teachers // 40)
    schools = []
    for i in range(n_schools):
        county = COUNTIES[i % len(COUNTIES)]
        stage = "小学" if i % 2 == 0 else "初中"
        kind = "小学" if stage == "小学" else "中学"
        nth = i // (2 * len(COUNTIES))
        if nth < len(ORDINALS):
            name = f"{county[3]}第{ORDINALS[nth]}{kind}"
        else:
            name = f"{county[3]}{PLACES[nth % len(PLACES)]}{kind}" + ("" if nth < 2 * len(PLACES) else f"{nth}校区")
        schools.append((1000 + i, name, stage, county))
    primary, secondary = [], []
    for i in range(n_teachers):
        school = schools[i % n_schools]
        name = rng.choice(SURNAMES) + rng.choice(GIVEN)
        teacher = Teacher(100_000 + i, name, school[0], school[1], school[2], school[3])
        (primary if school[2] == "小学" else secondary).append(teacher)
    return primary, secondary


def generate_documents(n: int, seed: int = 5):
    """Yield *n* lesson documents in the document-source shape, deterministically."""
    rng = random.Random(seed)
    catalogue = load_catalogue()
    leaves = [node for node in catalogue if node.level in ("chapter", "section")]
    by_stage = {stage: [node for node in leaves if node.stage == stage] for stage in ("小学", "初中")}
    primary, secondary = make_schools_and_teachers(rng, n)
    now = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)
    for lesson_id in range(1, n + 1):
        stage = "小学" if rng.random() < 0.55 else "初中"
        node = rng.choice(by_stage[stage])
        teacher = rng.choice(primary if stage == "小学" else secondary)
        chapter = node if node.level == "chapter" else node.parent
        topic = node.topic or f"{node.grade}{chapter.name}"
        lesson_type = _weighted(rng, [(t, w) for t, w in zip(LESSON_TYPES, (50, 15, 12, 6, 6, 6, 5))])
        slots = dict(t=topic, k=rng.randint(1, 3), grade=node.grade, subject=node.subject, edition=node.edition,
                     lesson_type=lesson_type, chapter=chapter.topic or chapter.name, teacher=teacher.name[0],
                     county=teacher.county[3])
        pattern = _weighted(rng, TITLE_PATTERNS if node is not chapter else TITLE_PATTERNS[:-1])
        title = pattern.format(**slots)[:120]
        description = "".join(s.format(**slots) for s in rng.sample(SENTENCES, rng.randint(1, 3)))
        published = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        yield {
            "id": lesson_id, "node_id": node.id,
            "chapter": chapter.name if node is chapter else f"{chapter.name} {node.name}", "title": title, "description": description,
            "teacher_name": teacher.name, "school_name": teacher.school_name,
            "stage": node.stage, "subject": node.subject, "grade": node.grade, "volume": node.volume,
            "edition": node.edition, "node_ids": node.ancestor_ids, "lesson_type": lesson_type,
            "language": "zh" if rng.random() < 0.96 else rng.choice(("ko", "ii", "bo", "ug", "mn")),
            "level": "", "province_code": teacher.county[0], "city_code": teacher.county[1],
            "county_code": teacher.county[2], "school_id": teacher.school_id, "teacher_id": teacher.id,
            "visibility": _weighted(rng, VISIBILITY_MIX), "published_dt": published,
            "views": int(rng.paretovariate(1.2) * 20) - 20,
        }


# --- the query set -----------------------------------------------------------------------------

@dataclass
class BenchQuery:
    group: str
    q: str
    filters: dict = field(default_factory=dict)
    sort: str = "relevance"


def node_id(catalogue: list[Node], name: str, edition: str) -> int:
    return next(node.id for node in catalogue if node.name == name and node.edition == edition)


def query_set(docs_sample: list[dict]) -> list[BenchQuery]:
    """Return the fixed 49 queries; teacher names come from the generated documents, so they exist."""
    catalogue = load_catalogue()
    teachers = []
    for doc in docs_sample:
        if doc["teacher_name"] not in teachers:
            teachers.append(doc["teacher_name"])
    chapter = [BenchQuery("chapter", q) for q in (
        "勾股定理", "有理数", "一元一次方程", "时、分、秒", "万以内的加法和减法", "济南的冬天",
        "分数的初步认识", "平行四边形", "二次根式", "观察物体")]
    teacher = [BenchQuery("teacher", name) for name in teachers[:5]] + [
        BenchQuery("teacher", f"{teachers[5]} {teachers[5][0]}老师"), BenchQuery("teacher", "芙蓉区第一小学")]
    pinyin = [BenchQuery("pinyin", q) for q in ("gougudingli", "youlishu", "yiyuanyicifangcheng", "pingxingsibianxing",
                                                "ercigenshi")]
    initials = [BenchQuery("initials", q) for q in ("ggdl", "yls", "yyycfc", "pxsbx")]
    # Pinyin prefixes (4+ letters or whole syllables, ü typed as v or u) and homophone typos found through pinyin.
    prefix = [BenchQuery("prefix", q) for q in ("gougu", "gou gu", "youli", "lv", "shu")]
    typo = [BenchQuery("typo", q) for q in ("勾股定里", "有理树", "平行四边型")]
    faceted = [
        BenchQuery("faceted", "勾股定理", {"stage": "初中", "edition": "人教版"}),
        BenchQuery("faceted", "有理数", {"subject": "数学", "grade": "七年级"}, "newest"),
        BenchQuery("faceted", "gougudingli", {"node": node_id(catalogue, "第十七章 勾股定理", "人教版")}),
        BenchQuery("faceted", "时间", {"stage": "小学", "subject": "数学", "grade": "三年级"}, "views"),
        BenchQuery("faceted", "复习", {"lesson_type": "复习课", "stage": "初中"}),
        BenchQuery("faceted", "", {"node": node_id(catalogue, "第十七章 勾股定理", "人教版")}, "newest"),
        BenchQuery("faceted", "", {"stage": "小学", "subject": "语文", "grade": "三年级"}, "views"),
        BenchQuery("faceted", "", {"edition": "北师大版"}, "newest"),
        BenchQuery("faceted", teachers[0], {"stage": docs_sample[0]["stage"]}),
        BenchQuery("faceted", "ggdl", {"edition": "北师大版", "grade": "八年级"}),
    ]
    # Facet words typed as text (learnspace.search.understanding): filters, plus text when some is left.
    words = [BenchQuery("words", q) for q in ("数学", "八年级数学", "八年级数学勾股定理", "人教版 三年级", "shuxue")]
    return chapter + teacher + pinyin + initials + prefix + typo + faceted + words


# --- timing helpers ----------------------------------------------------------------------------

def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, int(round(pct / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summarize(samples: dict[str, list[float]]) -> dict[str, tuple[float, float, float, int]]:
    """Return group → (p50, p95, max, count) in milliseconds, plus an 'all' row."""
    rows = {group: values for group, values in samples.items()}
    rows["all"] = [v for values in samples.values() for v in values]
    return {group: (statistics.median(v) * 1000, percentile(v, 95) * 1000, max(v) * 1000, len(v))
            for group, v in rows.items() if v}


def print_table(title: str, figures: dict, reference: dict | None = None) -> None:
    print(f"\n{title}")
    head = f"  {'group':<9} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}"
    if reference:
        head += f" {'p50 ×tantivy':>13} {'p95 ×tantivy':>13}"
    print(head)
    for group, (p50, p95, peak, count) in figures.items():
        line = f"  {group:<9} {count:>4} {p50:>9.2f} {p95:>9.2f} {peak:>9.2f}"
        if reference and group in reference:
            line += f" {p50 / reference[group][0]:>13.0f} {p95 / reference[group][1]:>13.0f}"
        print(line)


# --- tokens shared by both engines ---------------------------------------------------------------

def production_fields(doc: dict) -> dict:
    """Return the Whoosh field values production stores for *doc* (the indexer's own conversion)."""
    from learnspace.search import writer

    return writer.document_fields(doc)


class Tokens:
    """Turn field text into the production index's tokens, so tantivy indexes exactly the same terms.

    Each free-text field of the production schema is run through that field's own analyzer
    (index mode for documents, query mode for queries) and the tokens are joined with spaces.
    """

    def __init__(self):
        from learnspace.search.query import TEXT_FIELDS
        from learnspace.search.schema import make_schema

        schema = make_schema()
        self.fields = {name: schema[name] for name in TEXT_FIELDS + ("pinyin",)}
        #: field → boost, as production weighs them (the schema's field_boost)
        self.boosts = {name: getattr(f, "field_boost", 1.0) or 1.0 for name, f in self.fields.items()}

    def index_tokens(self, name: str, text: str) -> str:
        return " ".join(t.text for t in self.fields[name].analyzer(text or ""))

    def query_tokens(self, name: str, text: str) -> list[str]:
        return [t.text for t in self.fields[name].analyzer(text, mode="query")]


# --- tantivy reference ---------------------------------------------------------------------------

FACETS = ("stage", "subject", "grade", "edition", "lesson_type", "language", "level")


class TantivyReference:
    """The same documents and tokens in tantivy: the ceiling a Python engine is compared with."""

    def __init__(self, tokens: Tokens):
        import tantivy

        self.t = tantivy
        self.tokens = tokens
        builder = tantivy.SchemaBuilder()
        builder.add_integer_field("id", stored=True, indexed=True, fast=True)
        for name in tokens.fields:
            builder.add_text_field(name, stored=False, tokenizer_name="whitespace")
        for name in ("title", "teacher_name", "school_name", "summary"):
            builder.add_text_field(name + "_stored", stored=True, index_option="basic", tokenizer_name="raw")
        for name in FACETS + ("visibility", "county_code"):
            builder.add_text_field(name, stored=True, tokenizer_name="raw", fast=True)
        for name in ("node_ids", "school_id", "teacher_id"):
            builder.add_integer_field(name, stored=True, indexed=True, fast=True)
        builder.add_integer_field("published", stored=True, indexed=True, fast=True)
        builder.add_integer_field("views", stored=True, indexed=True, fast=True)
        self.schema = builder.build()
        self.index = tantivy.Index(self.schema)

    def build(self, docs) -> tuple[float, float]:
        """Index *docs*; return (seconds preparing and tokenizing in Python, seconds inside tantivy)."""
        writer = self.index.writer(heap_size=256_000_000, num_threads=2)
        tokenize = inside = 0.0
        for doc in docs:
            start = time.perf_counter()
            values = production_fields(doc)
            fields = {name: self.tokens.index_tokens(name, values.get(name, "")) for name in self.tokens.fields}
            middle = time.perf_counter()
            document = self.t.Document(id=doc["id"], node_ids=list(doc["node_ids"]), school_id=doc["school_id"],
                                       teacher_id=doc["teacher_id"], views=doc["views"],
                                       published=int(doc["published_dt"].timestamp()),
                                       visibility=doc["visibility"], county_code=doc["county_code"],
                                       summary_stored=values.get("summary", ""),
                                       **{name: doc[name] for name in FACETS},
                                       **{name + "_stored": doc[name] for name in ("title", "teacher_name",
                                                                                   "school_name")}, **fields)
            writer.add_document(document)
            end = time.perf_counter()
            tokenize += middle - start
            inside += end - middle
        start = time.perf_counter()
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        inside += time.perf_counter() - start
        return tokenize, inside

    def query(self, bench: BenchQuery, viewer) -> tuple[int, list[int]]:
        """Run *bench* with the same filters, visibility, top 20, total and facet counts as production."""
        t, s = self.t, self.schema
        must = []
        # learnspace.search.query's semantics: every word must match (AND); a word matches in any
        # text field (OR) when all its query-mode tokens are in that field, or as a pinyin term.
        from learnspace.search.analysis import fold

        for word in [w for w in fold(bench.q).split() if any(ch.isalnum() for ch in w)]:
            per_field = []
            for name, boost in self.tokens.boosts.items():
                if name == "pinyin":
                    if not (word.isascii() and word.isalnum() and not word.isdigit()):
                        continue
                    words = [word]
                else:
                    words = list(dict.fromkeys(self.tokens.query_tokens(name, word)))
                if not words:
                    continue
                clause = t.Query.boolean_query([(t.Occur.Must, t.Query.term_query(s, name, w)) for w in words])
                per_field.append((t.Occur.Should, t.Query.boost_query(clause, boost)))
            if per_field:
                must.append((t.Occur.Must, t.Query.boolean_query(per_field)))
        for name, value in bench.filters.items():
            if name == "node":
                must.append((t.Occur.Must, t.Query.term_query(s, "node_ids", value)))
            else:
                must.append((t.Occur.Must, t.Query.term_query(s, name, value)))
        allowed = [(t.Occur.Should, t.Query.term_query(s, "visibility", "public"))]
        if viewer.user_id is not None:
            allowed.append((t.Occur.Should, t.Query.term_query(s, "teacher_id", viewer.user_id)))
        if viewer.school_id is not None:
            allowed.append((t.Occur.Should, t.Query.boolean_query([
                (t.Occur.Must, t.Query.term_query(s, "visibility", "school")),
                (t.Occur.Must, t.Query.term_query(s, "school_id", viewer.school_id))])))
        if viewer.county_code is not None:
            allowed.append((t.Occur.Should, t.Query.boolean_query([
                (t.Occur.Must, t.Query.term_query(s, "visibility", "region")),
                (t.Occur.Must, t.Query.term_query(s, "county_code", viewer.county_code))])))
        must.append((t.Occur.Must, t.Query.boolean_query(allowed)))
        query = t.Query.boolean_query(must)
        searcher = self.searcher
        order = {"newest": "published", "views": "views"}.get(bench.sort)
        if order:
            result = searcher.search(query, limit=20, count=True, order_by_field=order)
        else:
            result = searcher.search(query, limit=20, count=True)
        ids = [searcher.doc(address)["id"][0] for _, address in result.hits]
        searcher.aggregate(query, {name: {"terms": {"field": name, "size": 30}} for name in FACETS})
        return result.count, ids

    def warm(self):
        self.searcher = self.index.searcher()


# --- the production index ------------------------------------------------------------------------

def make_app(work: Path):
    """An app whose search dir is under *work*; the database is an unused empty SQLite file, storage in memory."""
    os.environ.update(LEARNSPACE_VAR_DIR=str(work), LEARNSPACE_DATABASE_URL=f"sqlite:///{work / 'bench.db'}",
                      LEARNSPACE_SEARCH_DIR=str(work / "search"))
    from learnspace import create_app

    return create_app({"TESTING": True, "STORAGE_BACKEND": "memory"})


def build_production_index(n: int, progress=None) -> int:
    """Build the production index of *n* generated lessons through ``learnspace.search.writer.rebuild``.

    ``rebuild`` reads documents from the registered document source (the lessons domain's
    ``search_source`` in production); the benchmark registers the generated documents as
    the source of doc type "lesson", so the schema, analyzers, writer settings, generation
    directory and atomic swap are exactly production's. Needs an app context.
    """
    from learnspace.extensions import db
    from learnspace.search import documents, writer
    from learnspace.search.models import SearchNode, SearchOutbox

    # rebuild() records this node's cursor (learnspace.search.nodes): the two search tables, nothing else.
    db.metadata.create_all(db.engine, tables=[SearchOutbox.__table__, SearchNode.__table__])
    stream = generate_documents(n)

    def fetch(ids: list[int]) -> dict[int, dict]:
        # rebuild() fetches all_ids() in order, in chunks: hand out the next generated documents.
        found = {doc["id"]: doc for _, doc in zip(ids, stream)}
        assert list(found) == list(ids), "rebuild fetched ids out of order"
        return found

    documents.register_source("lesson", fetch, lambda: iter(range(1, n + 1)))
    return writer.rebuild(progress=progress)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="number of lessons (default 100,000)")
    parser.add_argument("--repeat", type=int, default=3, help="timed repeats of the query set after the first pass")
    parser.add_argument("--skip-tantivy", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ls-bench-search-"))
    print(f"search benchmark: {args.n:,} lessons, {os.cpu_count()} cores, work dir {work}")
    start = time.perf_counter()
    # Documents are generated as they are indexed (twice: Whoosh, then tantivy), so 1,000,000 fit in memory.
    docs = [doc for doc, _ in zip(generate_documents(args.n), range(50))]
    for doc in generate_documents(args.n):
        pass
    generating = time.perf_counter() - start
    print(f"generating {args.n:,} documents takes {time.perf_counter() - start:.1f} s (not counted below); e.g. "
          f"{docs[0]['title']} · {docs[0]['teacher_name']} · {docs[0]['school_name']}")
    queries = query_set(docs[:50])
    print(f"query set: {len(queries)} queries")
    app = make_app(work)
    from learnspace.search.query import Viewer

    sample_teacher = docs[0]
    viewers = {"anonymous": Viewer(None, None, None),
               "teacher": Viewer(sample_teacher["teacher_id"], sample_teacher["school_id"],
                                 sample_teacher["county_code"])}
    with app.app_context():
        gc.collect()
        start = time.perf_counter()
        built = build_production_index(args.n)
        build_seconds = time.perf_counter() - start - generating  # net of making the synthetic documents
        print(f"\nLearnSpace (Whoosh) build: {built:,} documents in {build_seconds:.1f} s = "
              f"{built / build_seconds:,.0f} docs/s")
        production, production_repeat = run_production(queries, viewers, args.repeat)

    tantivy_figures = None
    if not args.skip_tantivy:
        tokens = Tokens()
        ref = TantivyReference(tokens)
        gc.collect()
        start = time.perf_counter()
        with app.app_context():
            tokenize, inside = ref.build(generate_documents(args.n))
        total = time.perf_counter() - start - generating
        print(f"\ntantivy build (production field values and analyzers): {args.n:,} documents in {total:.1f} s = "
              f"{args.n / total:,.0f} docs/s (Python tokenizing {tokenize:.1f} s, inside tantivy {inside:.1f} s "
              f"= {args.n / inside:,.0f} docs/s)")
        print(f"build ratio: LearnSpace {build_seconds / total:.1f}× the tantivy time with the same tokenizing, "
              f"{build_seconds / inside:.0f}× tantivy alone")
        from learnspace.search.analysis import _line_pinyin_terms, _segment_cached

        # The same caches serve the Whoosh writer processes; synthetic text repeats more than real text.
        for name, cache in (("segmentation", _segment_cached), ("pinyin", _line_pinyin_terms)):
            info = cache.cache_info()
            print(f"{name} cache while tokenizing for tantivy: {info.hits / max(1, info.hits + info.misses):.0%} hits "
                  f"({info.misses:,} distinct texts)")
        ref.warm()
        tantivy_figures = run_tantivy(ref, queries, viewers, args.repeat)
    print_table("LearnSpace query latency, first pass (warm searcher, each query once per viewer)", production,
                tantivy_figures[0] if tantivy_figures else None)
    print_table(f"LearnSpace query latency, {args.repeat} repeats", production_repeat,
                tantivy_figures[1] if tantivy_figures else None)
    if tantivy_figures:
        print_table("tantivy query latency, first pass", tantivy_figures[0])
        print_table(f"tantivy query latency, {args.repeat} repeats", tantivy_figures[1])
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def run_production(queries, viewers, repeat):
    """Time learnspace.search.query.search: first pass per (query, viewer), then *repeat* passes."""
    # What a served app does at start (learnspace.search.writer.init_app): load jieba and pypinyin.
    from learnspace.search.analysis import warm_up
    from learnspace.search.query import search

    warm_up()
    # Warm the searcher (open it, load the term dictionaries) with queries that are not in the set.
    for warm in ("数学", "语文"):
        search(viewers["anonymous"], q=warm)
    first, again = {}, {}
    totals = {}
    for rnd in range(repeat + 1):
        for viewer_name, viewer in viewers.items():
            for bench in queries:
                start = time.perf_counter()
                result = search(viewer, q=bench.q, filters=dict(bench.filters), sort=bench.sort)
                elapsed = time.perf_counter() - start
                (first if rnd == 0 else again).setdefault(bench.group, []).append(elapsed)
                if rnd == 0:
                    totals[(viewer_name, bench.group, bench.q, str(bench.filters))] = result.total
                    if result.message:
                        print(f"  note: {bench.q!r} {bench.filters} → message {result.message!r}")
    empty = [key for key, total in totals.items() if not total]
    if empty:
        print(f"  {len(empty)} of {len(totals)} (viewer, query) pairs found nothing: {empty[:6]}")
    return summarize(first), summarize(again)


def run_tantivy(ref: TantivyReference, queries, viewers, repeat):
    ref.query(BenchQuery("warm", "数学"), viewers["anonymous"])
    first, again = {}, {}
    for rnd in range(repeat + 1):
        for viewer in viewers.values():
            for bench in queries:
                start = time.perf_counter()
                ref.query(bench, viewer)
                (first if rnd == 0 else again).setdefault(bench.group, []).append(time.perf_counter() - start)
    return summarize(first), summarize(again)


if __name__ == "__main__":
    main()
