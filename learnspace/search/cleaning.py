"""Cleaning what a user typed: the query text, the filters, numbers; splitting the query into words.

Nothing here raises on bad input: unknown filters and unusable values are dropped, numbers are
clamped, control characters become spaces. Names with a leading underscore are private to
learnspace.search (its modules share them).
"""
from __future__ import annotations

import re

from .analysis import fold

#: filters the page offers; each is an exact value of one index field
FILTER_FIELDS = ("stage", "subject", "grade", "volume", "edition", "node", "lesson_type", "language", "level")
SORTS = ("relevance", "newest", "views")
MAX_QUERY_CHARS = 100
MAX_WORDS = 10
MAX_PER_PAGE = 100
MAX_FILTER_CHARS = 64

_ASCII_WORD = re.compile(r"[a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
