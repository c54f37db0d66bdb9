"""The filter panel shared by the search page, the 课程 list and the catalogue pages (templates/_filters.html).

One place names the facets (学段, 学科 …), orders their values (grades 一年级…高三, the rest by count),
names raw values (language codes, catalogue node ids) through labelers the owning domain registers,
and builds every link of the panel, so the three pages offer the same filters under the same URL
parameters and a filter state copied from one page means the same on another.
"""
from __future__ import annotations

from typing import Callable, Iterable

from flask import url_for

from . import understanding

#: how the pages name each facet, in the order the panel shows them
FACET_TITLES = {
    "stage": "学段", "subject": "学科", "grade": "年级", "volume": "册次", "edition": "教材版本", "node": "章节",
    "lesson_type": "课型", "language": "授课语言", "level": "评价等级",
}
#: the filters the 课程 list and the catalogue take (the search page has node and level too)
LIST_FIELDS = ("stage", "subject", "grade", "edition", "lesson_type", "language")
#: facet values shown before "更多"
FACET_SHOWN = 8

_labelers: dict[str, Callable[[list[str]], dict[str, str]]] = {}
_orders: dict[str, Callable[[str], object]] = {}


def register_facet_labels(field: str, labeler: Callable[[list[str]], dict[str, str]]) -> None:
    """Let a domain name the raw values of one facet (e.g. catalogue node ids → chapter names)."""
    _labelers[field] = labeler
    if field in understanding.FIELDS:  # language codes are typed as their names (朝鲜语)
        understanding.register_names(field, labeler)


def register_facet_order(field: str, key: Callable[[str], object]) -> None:
    """Let a domain order the values of one facet (e.g. grades 一年级…九年级) instead of by count."""
    _orders[field] = key


def facet_labels(field: str, values: Iterable[str]) -> dict[str, str]:
    """Return display names for *values* of *field*; a value without a name shows as itself."""
    values = [str(v) for v in values]
    labeler = _labelers.get(field)
    names: dict[str, str] = {}
    if labeler is not None and values:
        try:
            names = labeler(values) or {}
        except Exception:  # a broken labeler must not take a page down
            names = {}
    return {v: names.get(v, v) for v in values}


def build_facets(counts: dict[str, list[tuple[str, int]]], chosen: dict[str, str], total: int,
                 link: Callable[..., str], fields: Iterable[str] = tuple(FACET_TITLES)) -> list[dict]:
    """The panel's facets: title, values with counts, names and links (choose / un-choose), the chosen value.

    *counts* maps a field to (value, count) pairs of the current results; *link(**changes)* returns
    the page's URL with one filter changed (None removes it).
    """
    facets = []
    for field in fields:
        pairs = list(counts.get(field) or [])
        if field in _orders:
            pairs.sort(key=lambda pair: _orders[field](pair[0]))
        value = chosen.get(field)
        if not pairs and not value:
            continue
        names = facet_labels(field, [v for v, _ in pairs] + ([value] if value else []))
        # One value shared by every result cannot narrow anything: phones leave such facets out.
        flat = not value and len(pairs) == 1 and pairs[0][1] == total
        items = [{"value": v, "name": names[v], "count": n, "selected": v == value,
                  "href": link(**{field: None if v == value else v})} for v, n in pairs]
        if value and not any(item["selected"] for item in items):
            # a chosen value no result has (or an unknown one): still shown, so it can be removed
            items.insert(0, {"value": value, "name": names[value], "count": 0, "selected": True,
                             "href": link(**{field: None})})
        facets.append({"field": field, "title": FACET_TITLES[field], "chosen": value, "flat": flat,
                       "chosen_name": names.get(value) if value else None, "values": items,
                       "remove": link(**{field: None})})
    return facets


def page_url(endpoint: str, params: dict, **changes) -> str:
    """The URL of *endpoint* with *params* and *changes* (None removes one; any change but page resets page)."""
    merged = {**params, **changes}
    if "page" not in changes:
        merged.pop("page", None)
    return url_for(endpoint, **{k: v for k, v in merged.items() if v not in (None, "")})
