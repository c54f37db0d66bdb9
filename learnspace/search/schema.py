"""The Whoosh schema of the lesson index (one Whoosh document per published lesson).

Designed for a million lessons, with searches evaluated by learnspace.search.engine
(numpy over postings and columns, not Whoosh's per-document collectors): free-text
fields are analysed once with jieba and hold no positions (no phrase queries: fewer
bytes per posting); filters and facets are columns of small codes, read as whole
arrays; only what a result row shows is stored.

Free text (``ChineseAnalyzer``: folded, jieba; index = search mode + bigrams, query = precise mode;
each field's boost is in ``TEXT_BOOSTS``)
  title          stored; the largest boost: a title match ranks above everything else
  chapter        stored: the catalogue chapter / section names of the lesson ("第一单元 时、分、秒 1.1 秒的认识")
  teacher_name   stored
  school_name    stored
  description    NOT stored, precise-mode words only
                 (no fragments: a long text would double the postings; titles and chapters have them)
  summary        STORED only: the first 200 characters of the description, for snippets
Pinyin
  pinyin         the value is "title\nteacher name"; the analyzer indexes full pinyin and
                 initials of their words (``gougudingli ggdl dingli zhangwei zw``); the query
                 side searches it with the raw ASCII query lower-cased (``PinyinAnalyzer``), boost ``PINYIN_BOOST``
Prefix completion and exact-title boost
  title_exact    ID, not stored: the whole folded title (NFKC, lower case)
Filters / facets (``Facet``: stored, column of codes, not indexed; values exactly as in the DB)
  stage subject grade edition lesson_type language level visibility
Filters only (ID terms: each selects few documents, read as postings)
  id             ID unique stored: str(lesson id), the document key
  node_id        STORED only: str(catalogue node id of the lesson)
  node_ids       KEYWORD(commas=True): the node and all its ancestors ("1,4,9,12"),
                 a chapter filter selects the documents of term "9"
  province_code city_code county_code    ID (6-digit region codes of the lesson's school)
  school_id teacher_id                   ID stored (str of ints), used by visibility
Sort keys (``SortKey``: stored integer columns, not indexed; Whoosh's NUMERIC would index
16 trie terms per value, a third of all postings, for range queries nobody runs)
  published_ts   int seconds since the epoch, UTC
  views          int

Visibility (every search applies it): visibility=public
  OR (visibility=school AND school_id=viewer.school_id)
  OR (visibility=region AND county_code=viewer.county_code)
  OR teacher_id=viewer.user_id. Only published lessons are in the index.
"""
from __future__ import annotations

from whoosh.columns import NumericColumn, RefBytesColumn
from whoosh.fields import COLUMN, ID, KEYWORD, STORED, TEXT, Schema

from .analysis import ChineseAnalyzer, PinyinAnalyzer

#: version of the schema and analysis; bump it when either changes so a reindex is needed
SCHEMA_VERSION = 4

FACET_FIELDS = ("stage", "subject", "grade", "volume", "edition", "lesson_type", "language", "level")
#: The one definition of the BM25F field boosts. learnspace.search.engine scores with them (Whoosh's own
#: scoring is never used); the schema's field_boost below is set from them, for tools that read the schema.
TEXT_BOOSTS = {"title": 4.0, "chapter": 2.0, "teacher_name": 2.0, "school_name": 1.0, "description": 1.0}
PINYIN_BOOST = 1.5
SUMMARY_CHARS = 200


class SortKey(COLUMN):
    """A stored integer kept as a column for sorting, not indexed: no terms, no postings."""

    stored = True

    def __init__(self):
        super().__init__(NumericColumn("q"))


class Facet(COLUMN):
    """A stored short text kept as a column of small integer codes: filters and facet counts read it as one array.

    Not indexed: learnspace.search.engine filters and counts facets on the column, so
    terms would only cost postings.
    """

    stored = True

    def __init__(self):
        super().__init__(RefBytesColumn())

    def to_column_value(self, value):
        return (value or "").encode("utf-8")

    def from_column_value(self, value):
        return value.decode("utf-8")


def make_schema() -> Schema:
    """Return a fresh schema object (Whoosh schemas are mutable; never share one)."""
    chinese = ChineseAnalyzer()

    def text(analyzer, name, **options):
        return TEXT(analyzer=analyzer, phrase=False, field_boost=TEXT_BOOSTS[name], multitoken_query="and",
                    **options)

    return Schema(
        id=ID(stored=True, unique=True),
        title=text(chinese, "title", stored=True),
        chapter=text(chinese, "chapter", stored=True),
        teacher_name=text(chinese, "teacher_name", stored=True),
        school_name=text(chinese, "school_name", stored=True),
        description=text(ChineseAnalyzer(fragments=False), "description"),
        summary=STORED,
        pinyin=TEXT(analyzer=PinyinAnalyzer(), phrase=False, field_boost=PINYIN_BOOST),
        title_exact=ID,
        stage=Facet(),
        subject=Facet(),
        grade=Facet(),
        volume=Facet(),
        edition=Facet(),
        lesson_type=Facet(),
        language=Facet(),
        level=Facet(),
        visibility=Facet(),
        node_id=STORED,
        node_ids=KEYWORD(commas=True),
        province_code=ID,
        city_code=ID,
        county_code=ID,
        school_id=ID(stored=True),
        teacher_id=ID(stored=True),
        published_ts=SortKey(),
        views=SortKey(),
    )
