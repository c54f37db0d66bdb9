"""Browse spaces (regions → schools → teachers' spaces, a school page, recently updated spaces) and the catalogue.

Pages are for signed-in people (a space itself is, see spaces.permissions); every
count and list is computed for the viewer on the server (directory.operations).
"""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_login import current_user, login_required

from ..catalog import operations as catalog_ops
from ..catalog.models import LEVEL_NAMES, LEVELS
from ..lessons.models import STATUSES
from ..lessons.operations import FACET_COUNT_LIMIT, facet_values
from ..orgs import operations as orgs
from ..orgs.models import REGION_LEVEL_NAMES
from ..search.panel import FACET_SHOWN, LIST_FIELDS, build_facets, page_url
from ..search.query import clean_filters
from . import operations

bp = Blueprint("directory", __name__)

#: recently updated spaces shown on a region or school page before "more"
RECENT_ON_PAGE = 6
#: recently updated spaces on the full list
RECENT_ON_LIST = 50


@bp.get("/browse")
@login_required
def index():
    viewer = current_user.user
    regions = operations.sub_regions(None)
    return render_template("directory/index.html", regions=regions,
                           counts=operations.region_counts(viewer, None, regions), own_school=viewer.school,
                           level_names=REGION_LEVEL_NAMES)


@bp.get("/browse/regions/<code>")
@login_required
def region(code: str):
    viewer = current_user.user
    place = operations.get_region(code)
    if place.level == "county":
        schools = operations.schools_of_county(place)
        regions, counts = [], operations.school_counts(viewer, schools)
    else:
        schools = []
        regions = operations.sub_regions(place)
        counts = operations.region_counts(viewer, place, regions)
    # Every school lies in exactly one county, so the region's figures are the sums of its parts.
    total = operations.Counts(sum(c.teachers for c in counts.values()), sum(c.lessons for c in counts.values()))
    return render_template("directory/region.html", region=place, crumbs=orgs.region_path(place)[:-1],
                           regions=regions, schools=schools, counts=counts, total=total,
                           recent=operations.recently_updated(viewer, region=place, limit=RECENT_ON_PAGE + 1),
                           recent_limit=RECENT_ON_PAGE, recent_days=operations.RECENT_DAYS,
                           level_names=REGION_LEVEL_NAMES)


@bp.get("/browse/schools/<code>")
@login_required
def school(code: str):
    viewer = current_user.user
    place = operations.get_school(code)
    teachers = operations.teachers_of_school(viewer, place)
    total = operations.school_counts(viewer, [place])[place.id]
    return render_template("directory/school.html", school=place, crumbs=orgs.region_path(place.county),
                           teachers=teachers, total=total, statuses=STATUSES,
                           lessons=operations.newest_lessons(viewer, school=place),
                           recent=operations.recently_updated(viewer, school=place, limit=RECENT_ON_PAGE + 1),
                           recent_limit=RECENT_ON_PAGE, recent_days=operations.RECENT_DAYS)


@bp.get("/browse/regions/<code>/recent")
@login_required
def region_recent(code: str):
    place = operations.get_region(code)
    return render_template("directory/recent.html", region=place, school=None, place=place,
                           crumbs=orgs.region_path(place),
                           entries=operations.recently_updated(current_user.user, region=place, limit=RECENT_ON_LIST),
                           recent_days=operations.RECENT_DAYS, limit=RECENT_ON_LIST)


@bp.get("/browse/schools/<code>/recent")
@login_required
def school_recent(code: str):
    place = operations.get_school(code)
    return render_template("directory/recent.html", region=None, school=place, place=place,
                           crumbs=orgs.region_path(place.county),
                           entries=operations.recently_updated(current_user.user, school=place, limit=RECENT_ON_LIST),
                           recent_days=operations.RECENT_DAYS, limit=RECENT_ON_LIST)


#: newest lessons listed on a chapter or section page (the search has the rest)
NODE_LESSONS = 10


@bp.get("/catalog", defaults={"node_id": None})
@bp.get("/catalog/<int:node_id>")
@login_required
def catalog(node_id: int | None):
    """The textbook catalogue, level by level, with the lessons the viewer may see at each node."""
    node = catalog_ops.get_node(node_id) if node_id is not None else None
    viewer = current_user.user
    # The 课程 list's filters, same URL parameters: they hide the nodes that cannot match and narrow the lessons.
    filters = clean_filters({name: request.args.get(name) for name in LIST_FIELDS})
    items = [item for item in catalog_ops.children(node.id if node else None) if operations.node_fits(item, filters)]
    counts = catalog_ops.child_counts(items)
    # The volume page lists its chapters with their sections, so a teacher sees the whole book at once.
    sections = catalog_ops.children_of_many(items) if node is not None and node.level == "volume" else {}
    # Lessons the viewer may see at each node shown, descendants included (one grouped query).
    shown = ([node] if node else []) + items + [s for group in sections.values() for s in group]
    lesson_counts = operations.lesson_counts(viewer, shown, filters)
    lessons = (operations.newest_lessons(viewer, node=node, limit=NODE_LESSONS, filters=filters)
               if node is not None and node.level in ("chapter", "section") else [])
    if node is None:
        child_level = "stage"
    else:
        child_level = LEVELS[LEVELS.index(node.level) + 1] if node.level != "section" else None

    def link(node_id=node_id, **changes):
        return page_url("directory.catalog", {"node_id": node_id, **filters}, **changes)

    total = lesson_counts.get(node.id, 0) if node else sum(lesson_counts.get(item.id, 0) for item in items)
    by_value = (operations.catalog_facet_counts(viewer, node, filters) if total <= FACET_COUNT_LIMIT
                else facet_values(filters))
    facets = build_facets(by_value, filters, total, link, LIST_FIELDS)
    return render_template("directory/catalog.html", node=node, items=items, counts=counts, sections=sections,
                           crumbs=catalog_ops.ancestors(node) if node else [], lesson_counts=lesson_counts,
                           lessons=lessons, statuses=STATUSES, level_names=LEVEL_NAMES, child_level=child_level,
                           filters=filters, facets=facets, link=link, facet_shown=FACET_SHOWN, total=total,
                           clear_url=url_for("directory.catalog", node_id=node_id))
