"""Autocomplete: titles of visible lessons that start with (or contain) what was typed, pinyin too."""
from __future__ import annotations

import logging
from itertools import islice

import numpy as np

from .analysis import fold
from .cleaning import _clean_q, _int, _words
from .matching import MAX_PREFIX_TERMS, Viewer, _allowed, _open_searcher, _pinyin_parts, _query_tokens, _union, reset

log = logging.getLogger(__name__)


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
        if len(titles) < limit:
            # The pinyin rule of the search itself (ü as v or u, whole terms, prefixes of 4 letters or whole
            # syllables), so pressing 搜索 finds every lesson suggested here.
            parts = _pinyin_parts(snap, reader, folded.replace(" ", ""))
            if parts:
                collect(_union(snap, [docs for docs, _score in parts]))
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
