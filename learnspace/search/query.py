"""Searching the lesson index: free text, facet filters, visibility, sorting, highlights, suggestions.

The query string is never handed to Whoosh's query parser: it is folded, split into words and each
word analysed with the field's own analyzer, so ``" * ( AND`` are plain characters and nothing a
user types can raise. Matching, ranking, filters (facets and the viewer's visibility, cached per
index version), sorting and facet counts are array work in learnspace.search.engine. Searchers
are reused per thread and refreshed when the index changes; a rebuilt index (a new generation
directory) is picked up on the next search.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from itertools import islice

import numpy as np

from . import engine, generations, understanding
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
#: a token of a several-token word found in more than this share of the documents is not required
COMMON_SHARE = 0.2
#: prefix completions expand to at most this many index terms
MAX_PREFIX_TERMS = 500
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
    #: the filters understood from words of q and the URL's filters (learnspace.search.understanding.Chip)
    understood: list = field(default_factory=list)


# --- opening the index ----------------------------------------------------------------------

def _open_searcher():
    """Return this thread's up-to-date searcher and the arrays of its index version (raises IndexUnavailable)."""
    searcher = generations.get_searcher()
    return searcher, engine.snapshot(searcher, generations.index_version())


def reset() -> None:
    """Forget the cached arrays and filter masks (the next search reads the index afresh)."""
    engine.forget()


def _allowed(snap, reader, viewer: Viewer, filters: dict[str, str]) -> np.ndarray:
    """Live documents *viewer* may see that pass every filter; each part is cached per index version."""

    def visible():
        allowed = snap.code_mask("visibility", "public")
        if viewer.school_id is not None:
            allowed = allowed | (snap.code_mask("visibility", "school")
                                 & snap.mask(snap.docs(reader, "school_id", str(viewer.school_id))))
        if viewer.county_code:
            allowed = allowed | (snap.code_mask("visibility", "region")
                                 & snap.mask(snap.docs(reader, "county_code", str(viewer.county_code))))
        if viewer.user_id is not None:
            allowed = allowed | snap.mask(snap.docs(reader, "teacher_id", str(viewer.user_id)))
        return allowed & snap.alive

    combined = snap.cached_mask(("viewer", viewer), visible)
    for name, value in sorted(filters.items()):
        if name == "node":
            part = snap.cached_mask(("node", value), lambda v=value: snap.mask(snap.docs(reader, "node_ids", v)))
        else:
            part = snap.cached_mask((name, value), lambda n=name, v=value: snap.code_mask(n, v))
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
    return list(dict.fromkeys(t.text for t in analyzer(word, mode="query")))


def _is_pinyin(word: str) -> bool:
    return bool(_ASCII_WORD.fullmatch(word)) and not word.isdigit()


def _informative(reader, field: str, tokens: list[str], documents: int) -> list[str]:
    """*tokens* without those in more than COMMON_SHARE of the documents, unless nothing else is left.

    In 万以内的加法和减法 the characters 的 and 和 are in nearly every description: requiring them
    changes almost no result (their idf is near 0) but reading their postings costs most of the search.
    """
    if len(tokens) < 2:
        return tokens
    limit = COMMON_SHARE * documents
    kept = [t for t in tokens if reader.doc_frequency(field, t) <= limit]
    return kept or [min(tokens, key=lambda t: reader.doc_frequency(field, t))]


def _word_parts(snap, reader, word: str):
    """(documents, scores) of each field in which *word* matches (all its tokens there), or None if unsearchable."""
    schema = reader.schema
    parts, searchable = [], False
    for name, boost in engine.TEXT_BOOSTS.items():
        tokens = _query_tokens(schema, name, word)
        if not tokens:
            continue
        searchable = True
        docs, idf = None, 0.0
        for token in _informative(reader, name, tokens, snap.live_count):
            found = snap.docs(reader, name, token)
            idf += snap.idf(found)
            docs = found if docs is None else np.intersect1d(docs, found, assume_unique=True)
            if not len(docs):
                break
        if len(docs):
            parts.append((docs, boost * idf * snap.field_weight(name, docs)))
    if _is_pinyin(word):
        searchable = True
        found = snap.docs(reader, "pinyin", word)
        if len(found):
            parts.append((found, engine.PINYIN_BOOST * snap.idf(found) * snap.field_weight("pinyin", found)))
    return parts if searchable else None


def _match_all_words(snap, reader, words: list[str]):
    """(matched mask, scores): documents matching every searchable word in some field, BM25F-scored."""
    score = np.zeros(snap.size, dtype=np.float32)
    matched = None
    for word in words:
        parts = _word_parts(snap, reader, word)
        if parts is None:
            continue
        in_word = np.zeros(snap.size, dtype=bool)
        for docs, contribution in parts:
            in_word[docs] = True
            score[docs] += contribution  # a term's documents are unique, so plain indexing adds once each
        matched = in_word if matched is None else matched & in_word
    if matched is None:
        return None, score
    # A title that is exactly what was typed comes first (勾股定理 before 勾股定理的证明方法).
    score[snap.docs(reader, "title_exact", " ".join(words))] += engine.EXACT_TITLE_BONUS
    return matched, score


def _match_any_token(snap, reader, words: list[str]):
    """Looser fallback: documents with any token of any word in any text field, scored the same way."""
    schema = reader.schema
    score = np.zeros(snap.size, dtype=np.float32)
    matched = np.zeros(snap.size, dtype=bool)
    for word in words:
        for name, boost in engine.TEXT_BOOSTS.items():
            tokens = _query_tokens(schema, name, word)
            longer = [t for t in tokens if len(t) > 1]
            # Single characters such as 的 match nearly everything; use them only when nothing longer is left.
            for token in longer or tokens:
                docs = snap.docs(reader, name, token)
                matched[docs] = True
                score[docs] += boost * snap.idf(docs) * snap.field_weight(name, docs)
        if _is_pinyin(word):
            docs = snap.docs(reader, "pinyin", word)
            matched[docs] = True
            score[docs] += engine.PINYIN_BOOST * snap.idf(docs) * snap.field_weight("pinyin", docs)
    return matched, score


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
        _run(_open_searcher(), viewer, words, filters, sort, page, per_page, result)
    except Exception as exc:  # a missing or corrupt index raises many kinds of errors: say so, never a 500
        log.warning("search unavailable: %s: %s", type(exc).__name__, exc)
        reset()
        return SearchResult(q=q, filters=filters, sort=sort, page=1, message=UNAVAILABLE)
    return result


def _run(opened, viewer, words, filters, sort, page, per_page, result, understand=True) -> None:
    searcher, snap = opened
    reader = searcher.reader()
    # Facet words of q (数学, 八年级, shuxue) become filters; a query of facet words only is ranked by views.
    typed = result.q if understand else ""
    understood = understanding.understand(snap, reader, typed, filters)
    words, result.understood = _words(understood.text) if understood.text != typed else words, understood.chips
    allowed, extra = _allowed(snap, reader, viewer, filters), understanding.mask(snap, understood.filters)
    allowed = allowed if extra is None else allowed & extra
    score = None
    if words:
        matched, score = _match_all_words(snap, reader, words)
        if matched is None:
            result.message = NOTHING_TO_SEARCH
            return
        found = matched & allowed
        if not found.any() and (len(words) > 1 or _has_many_tokens(reader.schema, words)):
            matched, loose_score = _match_any_token(snap, reader, words)
            if (matched & allowed).any():
                found, score, result.note = matched & allowed, loose_score, PARTIAL
    else:
        found = allowed
    candidates = np.flatnonzero(found)
    if not len(candidates) and understood.from_query:  # 提高一点-like text read as facets: search it as text
        result.note = None if result.note == PARTIAL else result.note
        return _run(opened, viewer, _words(result.q), filters, sort, page, per_page, result, understand=False)
    total = len(candidates)
    pages = max(1, math.ceil(total / per_page)) if total else 0
    if total and page > pages:
        page = pages  # past the end: show the last page
    result.total, result.pages, result.page = total, pages, page if total else 1
    result.facets = _facet_counts(snap, candidates)
    if not total:
        return
    published, views = snap.sort_keys["published_ts"][candidates], snap.sort_keys["views"][candidates]
    if sort == "newest":
        keys = [published] + ([score[candidates]] if score is not None else [])
    elif sort == "views":
        keys = [views, published]
    elif score is None:  # facet words only (数学 八年级): the most watched first
        keys = [views, published]
    else:
        keys = [score[candidates], published]
    ranked = snap.top(candidates, keys, page * per_page)[(page - 1) * per_page:]
    tokens, pinyin = _mark_terms(words)
    result.hits = [_hit(searcher.stored_fields(int(docnum)), tokens, pinyin) for docnum in ranked]


def _facet_counts(snap, candidates: np.ndarray) -> dict[str, list[tuple[str, int]]]:
    """Value → number of *candidates* for every facet, largest first, empty values left out."""
    facets = {}
    for name in FACET_FIELDS:
        labels = snap.labels[name]
        counts = np.bincount(snap.codes[name][candidates], minlength=len(labels)) if len(candidates) else []
        pairs = [(labels[code], int(n)) for code, n in enumerate(counts) if n and labels[code]]
        pairs.sort(key=lambda item: (-item[1], item[0]))
        facets[name] = pairs
    return facets


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
        searcher, snap = _open_searcher()
        reader = searcher.reader()
        allowed = _allowed(snap, reader, viewer, {})
        titles: list[str] = []

        def collect(docs: np.ndarray) -> None:
            # The most watched first: a completion should be the lesson people look for.
            candidates = docs[allowed[docs]] if len(docs) else docs
            for docnum in snap.top(candidates, [snap.sort_keys["views"][candidates]], limit * 3):
                title = searcher.stored_fields(int(docnum)).get("title")
                if len(titles) < limit and title and title not in titles:
                    titles.append(title)

        def prefixed(field: str, text: str) -> np.ndarray:
            terms = islice(reader.expand_prefix(field, text), MAX_PREFIX_TERMS)
            pieces = [snap.docs(reader, field, term.decode("utf-8")) for term in terms]
            return np.unique(np.concatenate(pieces)) if pieces else np.empty(0, dtype=np.int64)

        collect(prefixed("title_exact", folded))
        ascii_word = folded.replace(" ", "")
        if len(titles) < limit and _is_pinyin(ascii_word) and len(ascii_word) >= 2:
            collect(prefixed("pinyin", ascii_word))
        words = _words(folded)
        if len(titles) < limit and words:
            matched = None
            for word in words:
                tokens = _query_tokens(reader.schema, "title", word)
                for token in tokens:
                    docs = snap.mask(snap.docs(reader, "title", token))
                    matched = docs if matched is None else matched & docs
            if matched is not None:
                collect(np.flatnonzero(matched))
        return titles
    except Exception as exc:
        log.warning("suggest unavailable: %s: %s", type(exc).__name__, exc)
        reset()
        return []
