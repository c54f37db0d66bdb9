"""Search pages: ``GET /search`` (results, facets, pagination) and ``GET /api/search/suggest`` (autocomplete).

Thin on purpose: parse the request, build a :class:`Viewer` from the signed-in person, call
:func:`query.search`, render. No domain package is imported here; facet values that are ids
(catalogue nodes) or codes (languages) get their names from label functions that the owning
domain registers with :func:`register_facet_labels`.
"""
from __future__ import annotations

from typing import Callable, Iterable

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user

from . import query, understanding
from .query import FILTER_FIELDS, SORTS, Viewer

bp = Blueprint("search", __name__)

PER_PAGE = 20
#: how the page names each facet, in the order the sidebar shows them
FACET_TITLES = {
    "stage": "学段", "subject": "学科", "grade": "年级", "edition": "教材版本", "node": "章节",
    "lesson_type": "课型", "language": "授课语言", "level": "评价等级",
}
SORT_NAMES = {"relevance": "相关度", "newest": "最新发布", "views": "最多观看"}
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
        except Exception:  # a broken labeler must not take the search page down
            names = {}
    return {v: names.get(v, v) for v in values}


def current_viewer() -> Viewer:
    """Describe the signed-in person (or an anonymous visitor) for the visibility filter."""
    if not current_user.is_authenticated:
        return Viewer(user_id=None, school_id=None, county_code=None)
    user = current_user.user
    return Viewer(user_id=user.id, school_id=user.school_id,
                  county_code=user.school.county_code if user.school is not None else None)


def _params() -> dict:
    """The search state in the query string: q, filters, sort, page (raw strings; query.search validates)."""
    args = request.args
    filters = {name: args.get(name, "") for name in FILTER_FIELDS if args.get(name, "").strip()}
    return {"q": args.get("q", ""), "filters": filters, "sort": args.get("sort", ""), "page": args.get("page", "1")}


def _search_url(state: dict, **changes) -> str:
    """The /search URL of *state* with *changes* (None removes a parameter; any change but page resets it)."""
    params = {"q": state["q"] or None, **state["filters"],
              "sort": state["sort"] if state["sort"] in SORTS and state["sort"] != "relevance" else None}
    params.update(changes)
    if "page" not in changes:
        params.pop("page", None)
    return url_for("search.index", **{k: v for k, v in params.items() if v not in (None, "")})


def _understood_chips(result, state: dict) -> dict:
    """The chips of the words of q read as filters, each with the URL that takes its word out of q."""
    chips = [chip for chip in result.understood if chip.source == "query"]
    text = result.q
    for chip in chips:
        text = understanding.without(text, chip, [])
    return {"by_views": bool(chips) and not text and result.sort == "relevance",
            "chips": [{"label": chip.label, "field": chip.field, "title": FACET_TITLES.get(chip.field, ""),
                       "remove": _search_url(state, q=understanding.without(result.q, chip, result.understood) or None)}
                      for chip in chips]}


@bp.get("/search")
def index():
    state = _params()
    result = query.search(current_viewer(), state["q"], state["filters"], sort=state["sort"] or "relevance",
                          page=state["page"], per_page=PER_PAGE)
    # Show the state query.search actually used (it drops filters and sorts it cannot use).
    state = {"q": result.q, "filters": result.filters, "sort": result.sort, "page": result.page}
    facets = []
    for field, title in FACET_TITLES.items():
        counts = result.facets.get(field) or []
        if field in _orders:
            counts = sorted(counts, key=lambda pair: _orders[field](pair[0]))
        chosen = state["filters"].get(field)
        if not counts and not chosen:
            continue
        names = facet_labels(field, [v for v, _ in counts] + ([chosen] if chosen else []))
        # One value shared by every result cannot narrow anything: phones leave such facets out.
        flat = not chosen and len(counts) == 1 and counts[0][1] == result.total
        facets.append({"field": field, "title": title, "chosen": chosen, "flat": flat,
                       "chosen_name": names.get(chosen) if chosen else None,
                       "values": [{"value": v, "name": names[v], "count": n, "selected": v == chosen}
                                  for v, n in counts]})
    chips = [{"title": f["title"], "name": f["chosen_name"], "remove": _search_url(state, **{f["field"]: None})}
             for f in facets if f["chosen"]]
    language_names = facet_labels("language", {h.get("language", "") for h in result.hits if h.get("language")})
    return render_template("search/index.html", result=result, state=state, facets=facets, chips=chips,
                           sorts=SORT_NAMES, search_url=lambda **c: _search_url(state, **c),
                           language_names=language_names, facet_shown=FACET_SHOWN,
                           understood=_understood_chips(result, state))


@bp.get("/api/search/suggest")
def suggest():
    prefix = request.args.get("q", "")
    return jsonify(suggestions=query.suggest(current_viewer(), prefix, limit=8))
