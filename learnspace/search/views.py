"""Search pages: ``GET /search`` (results, facets, pagination) and ``GET /api/search/suggest`` (autocomplete).

Thin on purpose: parse the request, build a :class:`Viewer` from the signed-in person, call
:func:`query.search`, render. No domain package is imported here; facet values that are ids
(catalogue nodes) or codes (languages) get their names from label functions that the owning
domain registers with :func:`panel.register_facet_labels` (the panel is shared with the 课程 list and the catalogue).
"""
from __future__ import annotations

from flask import Blueprint, jsonify, render_template, request, url_for
from flask_login import current_user

from . import panel, query, understanding
from .panel import FACET_SHOWN, FACET_TITLES, build_facets, facet_labels
from .query import FILTER_FIELDS, SORTS, Viewer

#: kept importable from here: the registry moved to panel, shared with the 课程 list and the catalogue
register_facet_labels, register_facet_order = panel.register_facet_labels, panel.register_facet_order

bp = Blueprint("search", __name__)

PER_PAGE = 20
SORT_NAMES = {"relevance": "相关度", "newest": "最新发布", "views": "最多观看"}


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
    # The sort the visitor chose: an empty query is listed newest first, but the next query typed into the
    # page's box must be ranked by relevance again, so the form carries only a chosen sort.
    chosen_sort = state["sort"] if state["sort"] in SORTS else "relevance"
    result = query.search(current_viewer(), state["q"], state["filters"], sort=chosen_sort,
                          page=state["page"], per_page=PER_PAGE)
    # Show the state query.search actually used (it drops filters and sorts it cannot use).
    state = {"q": result.q, "filters": result.filters, "sort": result.sort, "page": result.page}
    facets = build_facets(result.facets, state["filters"], result.total,
                          lambda **c: _search_url(state, **c), FACET_TITLES)
    chips = [{"title": f["title"], "name": f["chosen_name"], "remove": _search_url(state, **{f["field"]: None})}
             for f in facets if f["chosen"]]
    language_names = facet_labels("language", {h.get("language", "") for h in result.hits if h.get("language")})
    return render_template("search/index.html", result=result, state=state, facets=facets, chips=chips,
                           sorts=SORT_NAMES, search_url=lambda **c: _search_url(state, **c),
                           language_names=language_names, facet_shown=FACET_SHOWN, chosen_sort=chosen_sort,
                           understood=_understood_chips(result, state))


@bp.get("/api/search/suggest")
def suggest():
    prefix = request.args.get("q", "")
    return jsonify(suggestions=query.suggest(current_viewer(), prefix, limit=8))
