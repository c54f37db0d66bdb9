"""Where documents come from: each domain registers a source; search imports no domain.

A source is two functions:

* ``fetch(ids) -> dict[int, dict | None]``: the current document of each id, or None
  when it must leave the index (unpublished, deleted); ids missing from the result
  count as None.
* ``all_ids() -> Iterator[int]``: every id that belongs in the index now, for a rebuild.

A lesson document is a dict with: id, title, description, teacher_name, school_name,
stage, subject, grade, edition, node_ids (the node and its ancestors, ints), lesson_type,
language, level, province_code, city_code, county_code, school_id, teacher_id,
visibility, published_dt (aware datetime), views (int), and optionally node_id and
chapter (catalogue names of the node and its chapter).

An expander turns one outbox row that names something many documents show (a school,
a teacher, a catalogue node) into the documents to re-read: ``expand(ids) -> Iterable[(doc_type, doc_id)]``.
Renaming a school writes one outbox row in the rename's transaction, however many lessons
the school has; the writer expands it later, in bulk (see writer.drain).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Iterator


@dataclass(frozen=True)
class Source:
    fetch: Callable[[list[int]], dict[int, dict | None]]
    all_ids: Callable[[], Iterator[int]]


_sources: dict[str, Source] = {}
_expanders: dict[str, Callable[[list[int]], Iterable[tuple[str, int]]]] = {}


def register_source(doc_type: str, fetch: Callable[[list[int]], dict], all_ids: Callable[[], Iterable[int]]) -> None:
    """Register (or replace) the functions that produce documents of *doc_type*."""
    _sources[doc_type] = Source(fetch=fetch, all_ids=all_ids)


def get_source(doc_type: str) -> Source | None:
    """Return the registered source of *doc_type*, or None."""
    return _sources.get(doc_type)


def doc_types() -> list[str]:
    """Return the registered document types."""
    return sorted(_sources)


def register_expander(doc_type: str, expand: Callable[[list[int]], Iterable[tuple[str, int]]]) -> None:
    """Register how outbox rows of *doc_type* (e.g. "school") expand into the (doc_type, doc_id) they affect."""
    _expanders[doc_type] = expand


def get_expander(doc_type: str) -> Callable[[list[int]], Iterable[tuple[str, int]]] | None:
    """Return the registered expander of *doc_type*, or None."""
    return _expanders.get(doc_type)


def expander_types() -> list[str]:
    """Return the outbox row types that stand for many documents."""
    return sorted(_expanders)
