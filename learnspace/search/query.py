"""Searching the lesson index: free text, facet filters, visibility, sorting, highlights, suggestions.

The query string is never handed to Whoosh's query parser: it is folded, split into words and each
word analysed with the field's own analyzer, so ``" * ( AND`` are plain characters and nothing a
user types can raise. Filters (facets and the viewer's visibility) are cached document sets per
index generation, not scored clauses. Searchers are reused per thread and refreshed when the
index changes; a rebuilt index (a new generation directory) is picked up on the next search.
"""
from __future__ import annotations

import logging
import math
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape

from whoosh import sorting
from whoosh.idsets import BitSet
from whoosh.query import And, AndMaybe, Every, Or, Prefix, Term

from .analysis import _jieba, _pinyin, fold, segment

log = logging.getLogger(__name__)

#: filters the page offers; each is an exact value of one index field
FILTER_FIELDS = ("stage", "subject", "grade", "edition", "node", "lesson_type", "language", "level")
#: facet fields whose values and counts the result lists (node ids are filters only: there are too many)
FACET_FIELDS = ("stage", "subject", "grade", "edition", "lesson_type", "language", "level")
SORTS = ("relevance", "newest", "views")
#: free-text fields, searched for every word (boosts are the schema's field_boost)
TEXT_FIELDS = ("title", "chapter", "teacher_name", "school_name", "description")
MAX_QUERY_CHARS = 100
MAX_WORDS = 10
MAX_PER_PAGE = 100
MAX_FILTER_CHARS = 64
SNIPPET_CHARS = 90
EXACT_TITLE_BOOST = 20.0
UNAVAILABLE = "搜索暂时不可用，请稍后再试。课程列表和教材目录仍可正常浏览。"
NOTHING_TO_SEARCH = "搜索词中没有可以查找的文字，请输入章节名、课题、教师姓名或拼音。"
TOO_LONG = f"搜索词太长，只使用了前 {MAX_QUERY_CHARS} 个字。"
PARTIAL = "没有同时包含全部搜索词的课程，下面是包含部分搜索词的结果。"

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Viewer:
    """Who is searching, as far as visibility needs to know (built by the view from current_user)."""

    user_id: int | None = None
    school_id: int | None = None
    county_code: str | None = None


@dataclass
class SearchResult:
    total: int = 0
    page: int = 1
    pages: int = 0
    hits: list[dict] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: a message for the user when the query was unusable or the index unavailable, else None
    message: str | None = None
    #: a softer remark about a usable query (shortened, or only partly matched), else None
    note: str | None = None
    #: the query, filters and sort actually used (after cleaning)
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "relevance"


# --- opening the index ----------------------------------------------------------------------

class _FilterCache(threading.local):
    """Per-thread filter document sets, valid for one index version (generation and commit)."""

    version: str | None = None
    sets: OrderedDict

    def __init__(self):
        self.sets = OrderedDict()


_filters = _FilterCache()
_FILTER_CACHE_SIZE = 64


def _open_searcher():
    """Return this thread's up-to-date searcher of the live index (raises IndexUnavailable)."""
    from . import index as search_index

    searcher = search_index.get_searcher()
    version = search_index.index_version()
    if version != _filters.version or version is None:
        _filters.sets.clear()
        _filters.version = version
    return searcher


def reset() -> None:
    """Forget this thread's cached filter sets (the next search recomputes them)."""
    _filters.sets.clear()
    _filters.version = None


def _cached_set(searcher, key, make_query):
    """The documents matching a filter query, cached for this searcher's generation."""
    filters = _filters.sets
    found = filters.get(key)
    if found is not None:
        filters.move_to_end(key)
        return found
    found = BitSet(searcher.docs_for_query(make_query()), size=searcher.doc_count_all())
    filters[key] = found
    if len(filters) > _FILTER_CACHE_SIZE:
        filters.popitem(last=False)
    return found


def _visibility_query(viewer: Viewer):
    allowed = [Term("visibility", "public")]
    if viewer.school_id is not None:
        allowed.append(And([Term("visibility", "school"), Term("school_id", str(viewer.school_id))]))
    if viewer.county_code:
        allowed.append(And([Term("visibility", "region"), Term("county_code", str(viewer.county_code))]))
    if viewer.user_id is not None:
        allowed.append(Term("teacher_id", str(viewer.user_id)))
    return Or(allowed) if len(allowed) > 1 else allowed[0]


def _filter_set(searcher, viewer: Viewer, filters: dict[str, str]):
    """Visible documents that pass every facet filter, as one cached-per-part document set."""
    combined = _cached_set(searcher, ("viewer", viewer), lambda: _visibility_query(viewer))
    for name, value in sorted(filters.items()):
        index_field = "node_ids" if name == "node" else name
        part = _cached_set(searcher, (index_field, value), lambda f=index_field, v=value: Term(f, v))
        combined = combined & part
    return combined


# --- cleaning the input ---------------------------------------------------------------------

def _clean_q(q) -> tuple[str, bool]:
    """Fold and trim the query; returns (text, was_shortened)."""
    if not isinstance(q, str):
        q = "" if q is None else str(q)
    q = _CONTROL.sub(" ", q)
    q = " ".join(q.split())
    if len(q) > MAX_QUERY_CHARS:
        return q[:MAX_QUERY_CHARS].strip(), True
    return q, False


def clean_filters(filters) -> dict[str, str]:
    """Keep the known filters with usable values (a node is a positive integer); drop everything else."""
    cleaned: dict[str, str] = {}
    if not isinstance(filters, dict):
        return cleaned
    for name in FILTER_FIELDS:
        value = filters.get(name)
        if isinstance(value, (list, tuple)):
            value = value[0] if value else None
        if value is None or isinstance(value, bool):
            continue
        value = str(value).strip()
        if not value or len(value) > MAX_FILTER_CHARS or _CONTROL.search(value):
            continue
        if name == "node":
            if not value.isascii() or not value.isdigit() or int(value) <= 0 or len(value) > 18:
                continue
            value = str(int(value))
        cleaned[name] = value
    return cleaned


def _int(value, default: int, low: int, high: int) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except (TypeError, ValueError):
        return default
    return max(low, min(high, number))


def _words(q: str) -> list[str]:
    """The searchable words of *q*: folded, split on spaces and punctuation runs, at most MAX_WORDS."""
    words = []
    for raw in fold(q).split():
        if any(ch.isalnum() for ch in raw):
            words.append(raw)
    return words[:MAX_WORDS]


def _query_tokens(schema, fieldname: str, word: str) -> list[str]:
    analyzer = schema[fieldname].analyzer
    return [t.text for t in analyzer(word, mode="query")]


def _word_query(schema, word: str):
    """One word matched in any text field (all its tokens in the same field), or in pinyin."""
    clauses = []
    for name in TEXT_FIELDS:
        tokens = list(dict.fromkeys(_query_tokens(schema, name, word)))
        if tokens:
            clauses.append(Term(name, tokens[0]) if len(tokens) == 1 else And([Term(name, t) for t in tokens]))
    if _ASCII_WORD.fullmatch(word) and not word.isdigit():
        clauses.append(Term("pinyin", word))
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else Or(clauses)


def _any_token_query(schema, words: list[str]):
    """Looser fallback: any token of any word in any text field."""
    clauses = []
    for word in words:
        for name in TEXT_FIELDS:
            tokens = list(dict.fromkeys(_query_tokens(schema, name, word)))
            longer = [t for t in tokens if len(t) > 1]
            # Single characters such as 的 match nearly everything; use them only when nothing longer is left.
            clauses.extend(Term(name, t) for t in (longer or tokens))
        if _ASCII_WORD.fullmatch(word) and not word.isdigit():
            clauses.append(Term("pinyin", word))
    return Or(clauses) if clauses else None


# --- highlighting ----------------------------------------------------------------------------

def _mark_terms(words: list[str]) -> tuple[set[str], set[str]]:
    """Chinese/other tokens and ASCII pinyin words to highlight for the query *words*."""
    tokens: set[str] = set()
    pinyin: set[str] = set()
    for word in words:
        for token, _start, _end in segment(word, search=False):
            tokens.add(token)
        if _ASCII_WORD.fullmatch(word) and not word.isdigit():
            pinyin.add(word)
    return tokens, pinyin


def _ranges(text: str, tokens: set[str], pinyin: set[str]) -> list[tuple[int, int]]:
    """Character ranges of *text* to mark: occurrences of the tokens, and words whose pinyin was typed."""
    if not text:
        return []
    folded = fold(text)
    found = []
    for token in tokens:
        start = folded.find(token)
        while start != -1 and token:
            found.append((start, start + len(token)))
            start = folded.find(token, start + len(token))
    if pinyin:
        pieces = []  # (start, end, full, initials) of jieba words
        for word, start, end in _jieba().tokenize(folded):
            if word.strip():
                full, initials = _pinyin(word)
                pieces.append((start, end, full, initials))
        for i in range(len(pieces)):
            full = initials = ""
            for j in range(i, min(i + 4, len(pieces))):
                full += pieces[j][2]
                initials += pieces[j][3]
                if full and (full in pinyin or initials in pinyin):
                    found.append((pieces[i][0], pieces[j][1]))
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, tokens: set[str], pinyin: set[str] = frozenset()) -> str:
    """Return *text* HTML-escaped with every match wrapped in <mark> (nothing else is markup)."""
    text = text or ""
    out, last = [], 0
    for start, end in _ranges(text, tokens, pinyin):
        out.append(escape(text[last:start]))
        out.append("<mark>" + escape(text[start:end]) + "</mark>")
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def snippet(text: str, tokens: set[str], pinyin: set[str] = frozenset(), size: int = SNIPPET_CHARS) -> str:
    """A window of *text* around its first match (or its beginning), escaped and highlighted."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    ranges = _ranges(text, tokens, pinyin)
    start = 0
    if ranges and ranges[0][0] > size // 3:
        start = ranges[0][0] - size // 3
    piece = text[start:start + size]
    html = highlight(piece, tokens, pinyin)
    return ("…" if start > 0 else "") + html + ("…" if start + size < len(text) else "")


# --- searching -------------------------------------------------------------------------------

def _published(ts) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(ts), tz=timezone.utc) if ts is not None else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _hit(fields: dict, tokens: set[str], pinyin: set[str]) -> dict:
    hit = {name: fields.get(name) for name in ("stage", "subject", "grade", "edition", "lesson_type", "language",
                                               "level", "visibility", "chapter", "teacher_name", "school_name")}
    hit["id"] = int(fields["id"])
    hit["title"] = fields.get("title") or ""
    hit["title_html"] = highlight(hit["title"], tokens, pinyin)
    hit["snippet_html"] = snippet(fields.get("summary") or "", tokens)
    hit["chapter_html"] = highlight(fields.get("chapter") or "", tokens)
    hit["teacher_html"] = highlight(fields.get("teacher_name") or "", tokens, pinyin)
    for name in ("school_id", "teacher_id", "node_id"):
        value = fields.get(name)
        hit[name] = int(value) if value not in (None, "") and str(value).isdigit() else None
    hit["published_dt"] = _published(fields.get("published_ts"))
    hit["views"] = int(fields.get("views") or 0)
    return hit


def search(viewer: Viewer | None, q="", filters=None, sort="relevance", page=1, per_page=20) -> SearchResult:
    """Return one page of the lessons *viewer* may see that match *q* and *filters*; never raises on bad input."""
    viewer = viewer or Viewer()
    q, shortened = _clean_q(q)
    filters = clean_filters(filters)
    sort = sort if sort in SORTS else "relevance"
    per_page = _int(per_page, 20, 1, MAX_PER_PAGE)
    page = _int(page, 1, 1, 10**6)
    words = _words(q)
    if not words and sort == "relevance":
        sort = "newest"  # nothing to rank by: show the newest first
    result = SearchResult(q=q, filters=filters, sort=sort, page=page, note=TOO_LONG if shortened else None)
    if q and not words:
        result.message = NOTHING_TO_SEARCH
        return result
    try:
        searcher = _open_searcher()
        _run(searcher, viewer, words, filters, sort, page, per_page, result)
    except Exception as exc:  # a missing or corrupt index raises many kinds of errors: say so, never a 500
        log.warning("search unavailable: %s: %s", type(exc).__name__, exc)
        reset()
        return SearchResult(q=q, filters=filters, sort=sort, page=1, message=UNAVAILABLE)
    return result


def _run(searcher, viewer, words, filters, sort, page, per_page, result) -> None:
    schema = searcher.schema
    if words:
        parts = [_word_query(schema, w) for w in words]
        parts = [p for p in parts if p is not None]
        if not parts:
            result.message = NOTHING_TO_SEARCH
            return
        text_query = parts[0] if len(parts) == 1 else And(parts)
        # A title that is exactly what was typed comes first (勾股定理 before 勾股定理的证明方法).
        text_query = AndMaybe(text_query, Term("title_exact", " ".join(words), boost=EXACT_TITLE_BOOST))
    else:
        text_query = Every()
    allowed = _filter_set(searcher, viewer, filters)
    if not allowed:
        # Whoosh treats an empty filter set as "no filter": nothing visible means nothing to search.
        result.facets = {name: [] for name in FACET_FIELDS}
        return
    options = {"filter": allowed,
               "groupedby": {name: sorting.FieldFacet(name, maptype=sorting.Count) for name in FACET_FIELDS}}
    if sort == "newest":
        options.update(sortedby=sorting.MultiFacet([sorting.FieldFacet("published_ts", reverse=True),
                                                    sorting.ScoreFacet()]))
    elif sort == "views":
        options.update(sortedby=sorting.MultiFacet([sorting.FieldFacet("views", reverse=True),
                                                    sorting.FieldFacet("published_ts", reverse=True)]))
    results = searcher.search(text_query, limit=page * per_page, **options)
    if results.is_empty() and words and (len(words) > 1 or _has_many_tokens(schema, words)):
        loose = _any_token_query(schema, words)
        if loose is not None:
            results = searcher.search(loose, limit=page * per_page, **options)
            if not results.is_empty():
                result.note = PARTIAL
    total = len(results)
    pages = max(1, math.ceil(total / per_page)) if total else 0
    if total and page > pages:
        page = pages  # past the end: show the last page
        results = searcher.search(results.q, limit=page * per_page, **options)
    result.total, result.pages, result.page = total, pages, page if total else 1
    tokens, pinyin = _mark_terms(words)
    result.hits = [_hit(hit.fields(), tokens, pinyin)
                   for hit in results[(page - 1) * per_page: page * per_page]]
    facets = {}
    for name in FACET_FIELDS:
        try:
            groups = results.groups(name)
        except (KeyError, ValueError):
            groups = {}
        counts = [(str(v), int(n)) for v, n in groups.items() if v not in (None, "", b"")]
        counts.sort(key=lambda item: (-item[1], item[0]))
        facets[name] = counts
    result.facets = facets


def _has_many_tokens(schema, words: list[str]) -> bool:
    return any(len(_query_tokens(schema, "title", w)) > 1 for w in words)


def suggest(viewer: Viewer | None, prefix, limit: int = 8) -> list[str]:
    """Return up to *limit* titles of visible lessons that start with (or contain) *prefix*, pinyin too."""
    viewer = viewer or Viewer()
    prefix, _ = _clean_q(prefix)
    limit = _int(limit, 8, 1, 20)
    folded = fold(prefix).strip()
    if not folded or len(folded) > 50 or not any(ch.isalnum() for ch in folded):
        return []
    try:
        searcher = _open_searcher()
        allowed = _filter_set(searcher, viewer, {})
        if not allowed:
            return []  # an empty set would mean "no filter" to Whoosh
        schema = searcher.schema
        titles: list[str] = []

        def collect(q, how_many):
            if len(titles) >= limit:
                return
            for hit in searcher.search(q, limit=how_many, filter=allowed,
                                       sortedby=sorting.FieldFacet("views", reverse=True)):
                title = hit.get("title")
                if title and title not in titles:
                    titles.append(title)
                    if len(titles) >= limit:
                        return

        collect(Prefix("title_exact", folded), limit * 3)
        ascii_word = folded.replace(" ", "")
        if _ASCII_WORD.fullmatch(ascii_word) and not ascii_word.isdigit() and len(ascii_word) >= 2:
            collect(Prefix("pinyin", ascii_word), limit * 3)
        words = _words(folded)
        if words:
            parts = [q for q in (_title_word(schema, w) for w in words) if q is not None]
            if parts:
                collect(parts[0] if len(parts) == 1 else And(parts), limit * 3)
        return titles[:limit]
    except Exception as exc:
        log.warning("suggest unavailable: %s: %s", type(exc).__name__, exc)
        reset()
        return []


def _title_word(schema, word: str):
    tokens = list(dict.fromkeys(_query_tokens(schema, "title", word)))
    if not tokens:
        return None
    return Term("title", tokens[0]) if len(tokens) == 1 else And([Term("title", t) for t in tokens])
