"""The Whoosh schema of the lesson index (one Whoosh document per published lesson).

Designed for a million lessons: free-text fields are analysed once with jieba;
every filter is an untokenised ID/KEYWORD field (a filter is a cached term set,
never a scored clause); only what a result row shows is stored; sort keys and
facet fields are columns (``sortable=True``) so sorting and facet counts do not
load stored fields.

Free text (``ChineseAnalyzer``: folded, jieba; index = search mode + bigrams, query = precise mode)
  title          stored, field_boost 4: a title match ranks above everything else
  chapter        stored, boost 2: the catalogue chapter / section names of the lesson ("第一单元 时、分、秒 1.1 秒的认识")
  teacher_name   stored, boost 2
  school_name    stored, boost 1
  description    NOT stored, boost 1, no positions (phrase=False)
  summary        STORED only: the first 200 characters of the description, for snippets
                 (highlight with ``hit.highlights("description", text=hit["summary"])``)
Pinyin
  pinyin         full pinyin and initials of title + teacher name words, lower case,
                 space separated (``gougudingli ggdl dingli zhangwei zw``); the query side
                 searches it with the raw ASCII query lower-cased (``PinyinAnalyzer``)
Prefix completion
  title_exact    ID, not stored: the whole folded title (NFKC, lower case), for
                 ``Prefix("title_exact", fold(prefix))`` in suggest()
Filters / facets (ID, stored, sortable = column for fast facet counts; values exactly as in the DB)
  stage subject grade edition lesson_type language level visibility
Filters only
  id             ID unique stored: str(lesson id), the document key
  node_id        ID stored: str(catalogue node id of the lesson)
  node_ids       KEYWORD(commas=True): the node and all its ancestors ("1,4,9,12"),
                 filter a chapter with ``Term("node_ids", "9")``
  province_code city_code county_code    ID (6-digit region codes of the lesson's school)
  school_id teacher_id                   ID stored (str of ints), used by visibility
Sort keys (NUMERIC, stored, sortable)
  published_ts   int seconds since the epoch, UTC
  views          int

Visibility (the query adds it to every search): visibility=public
  OR (visibility=school AND school_id=viewer.school_id)
  OR (visibility=region AND county_code=viewer.county_code)
  OR teacher_id=viewer.user_id. Only published lessons are in the index.
"""
from __future__ import annotations

from whoosh.fields import ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from .analysis import ChineseAnalyzer, PinyinAnalyzer

#: version of the schema and analysis; bump it when either changes so a reindex is needed
SCHEMA_VERSION = 1

FACET_FIELDS = ("stage", "subject", "grade", "edition", "lesson_type", "language", "level")
SUMMARY_CHARS = 200


def make_schema() -> Schema:
    """Return a fresh schema object (Whoosh schemas are mutable; never share one)."""
    chinese = ChineseAnalyzer()
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(analyzer=chinese, stored=True, field_boost=4.0, multitoken_query="and"),
        chapter=TEXT(analyzer=chinese, stored=True, field_boost=2.0, multitoken_query="and"),
        teacher_name=TEXT(analyzer=chinese, stored=True, field_boost=2.0, multitoken_query="and"),
        school_name=TEXT(analyzer=chinese, stored=True, multitoken_query="and"),
        description=TEXT(analyzer=chinese, phrase=False, multitoken_query="and"),
        summary=STORED,
        pinyin=TEXT(analyzer=PinyinAnalyzer(), phrase=False, field_boost=1.5),
        title_exact=ID,
        stage=ID(stored=True, sortable=True),
        subject=ID(stored=True, sortable=True),
        grade=ID(stored=True, sortable=True),
        edition=ID(stored=True, sortable=True),
        lesson_type=ID(stored=True, sortable=True),
        language=ID(stored=True, sortable=True),
        level=ID(stored=True, sortable=True),
        visibility=ID(stored=True, sortable=True),
        node_id=ID(stored=True),
        node_ids=KEYWORD(commas=True),
        province_code=ID,
        city_code=ID,
        county_code=ID,
        school_id=ID(stored=True),
        teacher_id=ID(stored=True),
        published_ts=NUMERIC(int, bits=64, stored=True, sortable=True),
        views=NUMERIC(int, bits=64, stored=True, sortable=True),
    )
