"""Which documents match: the viewer's visibility, the filters, and the words of the query (BM25F-scored).

Matching, ranking and filters are array work in learnspace.search.engine; filter masks are cached
per index version. Searchers are reused per thread and refreshed when the index changes.
"""
from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice

import numpy as np

from . import engine, generations, pinyin
from .cleaning import _ASCII_WORD

#: free-text fields, searched for every word (boosts are the schema's field_boost)
TEXT_FIELDS = ("title", "chapter", "teacher_name", "school_name", "description")
#: a token of a several-token word found in more than this share of the documents is not required
COMMON_SHARE = 0.2
#: prefix completions expand to at most this many index terms
MAX_PREFIX_TERMS = 500
#: a pinyin prefix matches at most this many terms, those in the most documents (ji: 68% of the postings of its
#: 500 terms at 100,000 lessons, in a third of the time)
MAX_PINYIN_PREFIX_TERMS = 64
#: a document found only through a pinyin prefix scores this share of one holding the whole typed term
PREFIX_SHARE = 0.5

_prefix_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # snapshot → prefix → documents
_prefix_lock = threading.Lock()


@dataclass(frozen=True)
class Viewer:
    """Who is searching, as far as visibility needs to know (built by the view from current_user)."""

    user_id: int | None = None
    school_id: int | None = None
    county_code: str | None = None



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



# --- matching the words ---------------------------------------------------------------------

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
    pinyin_parts = _pinyin_parts(snap, reader, word)
    if pinyin_parts is not None:
        searchable = True
        parts.extend(pinyin_parts)
    return parts if searchable else None


def _pinyin_parts(snap, reader, word: str):
    """(documents, scores) of *word* as pinyin: its ü spellings as whole terms, then as prefixes; None if not pinyin.

    A document found only through a prefix scores PREFIX_SHARE of a whole term, so gougu ranks the
    lessons whose term is exactly gougu (if any) first, then 勾股定理 and the rest by length.
    """
    letters = pinyin.typed(word)
    if letters is None:
        if not _is_pinyin(word):
            return None
        spellings, prefix = (word,), False  # letters and digits (ggdl2): a whole term, as typed
    else:
        spellings, prefix = pinyin.variants(letters), pinyin.prefix_allowed(letters)
    exact = _union(snap, [snap.docs(reader, "pinyin", spelling) for spelling in spellings])
    parts = []
    if len(exact):
        parts.append((exact, engine.PINYIN_BOOST * snap.idf(exact) * snap.field_weight("pinyin", exact)))
    if prefix:
        started = _union(snap, [_prefix_docs(snap, reader, spelling) for spelling in spellings])
        only = np.setdiff1d(started, exact, assume_unique=True) if len(exact) else started
        if len(only):
            parts.append((only, engine.PINYIN_BOOST * PREFIX_SHARE * snap.idf(started)
                          * snap.field_weight("pinyin", only)))
    return parts


def _union(snap, pieces: list[np.ndarray]) -> np.ndarray:
    """The sorted distinct document numbers of *pieces* (a mask, not a sort: prefixes can cover most documents)."""
    pieces = [piece for piece in pieces if len(piece)]
    if len(pieces) <= 1:
        return pieces[0] if pieces else np.empty(0, dtype=np.int64)
    return np.flatnonzero(snap.mask(np.concatenate(pieces)))


def _prefix_docs(snap, reader, letters: str) -> np.ndarray:
    """Documents with a pinyin term starting with *letters* (at most MAX_PINYIN_PREFIX_TERMS), cached per version."""
    with _prefix_lock:
        cache = _prefix_cache.setdefault(snap, OrderedDict())
        found = cache.get(letters)
        if found is not None:
            cache.move_to_end(letters)
            return found
    terms = list(islice(reader.expand_prefix("pinyin", letters), MAX_PREFIX_TERMS))
    if len(terms) > MAX_PINYIN_PREFIX_TERMS:
        # A short syllable (ji, xi) starts hundreds of terms and reading each one's postings costs most of the
        # search: keep those in the most lessons (the term infos carry the counts; reading them is cheaper).
        infos = islice(reader.iter_prefix("pinyin", letters), MAX_PREFIX_TERMS)
        ranked = sorted(infos, key=lambda item: (-item[1].doc_frequency(), item[0]))
        terms = [text for text, _info in ranked[:MAX_PINYIN_PREFIX_TERMS]]
    found = _union(snap, [snap.docs(reader, "pinyin", term.decode("utf-8")) for term in terms])
    with _prefix_lock:
        cache[letters] = found
        while len(cache) > 256:
            cache.popitem(last=False)
    return found


def _match_by_pinyin(snap, reader, words: list[str]):
    """Fallback for homophone typos (勾股定里): each Chinese word also matches through its full pinyin.

    Returns (matched mask, scores) like _match_all_words, or (None, scores) when no word has Chinese.
    """
    sounded = [pinyin.of_chinese(word) for word in words]
    if not any(sounded):
        return None, np.zeros(snap.size, dtype=np.float32)
    return _match_words(snap, reader, words, extra={w: s for w, s in zip(words, sounded) if s})


def _match_all_words(snap, reader, words: list[str]):
    """(matched mask, scores): documents matching every searchable word in some field, BM25F-scored.

    Pinyin typed with spaces (gou gu) is tried joined first, then word by word (zhang wei → zhangwei or both).
    """
    joined = pinyin.join_runs(words)
    if joined != words:
        matched, score = _match_words(snap, reader, joined)
        if matched is not None and matched.any():
            return matched, score
    return _match_words(snap, reader, words)


def _match_words(snap, reader, words: list[str], extra: dict[str, str] | None = None):
    """_match_all_words for these exact *words*; *extra* maps a word to pinyin it may match instead."""
    score = np.zeros(snap.size, dtype=np.float32)
    matched = None
    for word in words:
        parts = _word_parts(snap, reader, word)
        if extra and word in extra:
            parts = (parts or []) + (_pinyin_parts(snap, reader, extra[word]) or [])
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
        for docs, contribution in _pinyin_parts(snap, reader, word) or []:
            matched[docs] = True
            score[docs] += contribution
    return matched, score


def _has_many_tokens(schema, words: list[str]) -> bool:
    return any(len(_query_tokens(schema, "title", w)) > 1 for w in words)
