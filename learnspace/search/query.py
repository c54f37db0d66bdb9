"""Searching the lesson index: the entry points ``search`` and ``suggest`` (and the names others import).

The query string is never handed to Whoosh's query parser: it is folded, split into words and each
word analysed with the field's own analyzer, so ``" * ( AND`` are plain characters and nothing a
user types can raise. The work is split by concern:

* ``cleaning``: the query text, filters and numbers as typed → usable values and words;
* ``matching``: the viewer's visibility, filter masks and word matching, BM25F-scored (array work
  in learnspace.search.engine, cached per index version);
* ``highlight``: <mark> in titles and names, snippets;
* ``results``: SearchResult, its messages, result rows and facet counts;
* ``understanding``: facet words of the query (数学, 八年级, shuxue) read as filters, shown as chips;
* ``suggestions``: autocomplete.

Searchers are reused per thread and refreshed when the index changes; a rebuilt index (a new
generation directory) is picked up on the next search.
"""
from __future__ import annotations

import logging
import math

import numpy as np

from . import understanding
from .cleaning import FILTER_FIELDS, MAX_PER_PAGE, SORTS, _clean_q, _int, _words, clean_filters
from .highlight import _mark_terms, highlight, snippet
from .matching import (
    TEXT_FIELDS,
    Viewer,
    _allowed,
    _has_many_tokens,
    _informative,
    _match_all_words,
    _match_any_token,
    _match_by_pinyin,
    _open_searcher,
    reset,
)
from .results import FACET_FIELDS, NOTHING_TO_SEARCH, PARTIAL, TOO_LONG, UNAVAILABLE, SearchResult, _facet_counts, _hit
from .suggestions import suggest

log = logging.getLogger(__name__)

#: the entry points and names other packages and tests import from here
__all__ = ["FACET_FIELDS", "FILTER_FIELDS", "SORTS", "TEXT_FIELDS", "UNAVAILABLE", "SearchResult", "Viewer",
           "_informative", "clean_filters", "highlight", "reset", "search", "snippet", "suggest"]


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
        if not found.any():  # a homophone typo (勾股定里) before a partial match: the pinyin may be exact
            matched, sounded_score = _match_by_pinyin(snap, reader, words)
            if matched is not None and (matched & allowed).any():
                found, score, result.by_pinyin = matched & allowed, sounded_score, True
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
    tokens, pinyin = _mark_terms(words, by_pinyin=result.by_pinyin)
    result.hits = [_hit(searcher.stored_fields(int(docnum)), tokens, pinyin) for docnum in ranked]
