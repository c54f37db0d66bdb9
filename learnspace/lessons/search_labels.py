"""Names for the raw facet values the search page shows (catalogue node ids, language codes) and the grade order.

Registered in create_app (``search_labels.register()``) so the search views never import a domain.
"""
from __future__ import annotations

from sqlalchemy import select

from ..catalog.models import CatalogNode
from ..extensions import db
from ..orgs.grades import grade_sort_key
from ..search.panel import register_facet_labels, register_facet_order
from .models import LANGUAGES
from .search_source import VOLUME_ENDINGS


def node_names(values: list[str]) -> dict[str, str]:
    """Return "第十七章 勾股定理"-style names of the catalogue nodes whose ids are *values*."""
    ids = {int(v) for v in values if str(v).isdigit() and len(str(v)) < 18}
    if not ids:
        return {}
    rows = db.session.execute(select(CatalogNode.id, CatalogNode.name).where(CatalogNode.id.in_(ids))).all()
    return {str(node_id): name for node_id, name in rows}


def language_names(values: list[str]) -> dict[str, str]:
    """Return the Chinese name of each language code in *values*."""
    return {v: LANGUAGES[v] for v in values if v in LANGUAGES}


def volume_sort_key(value: str) -> tuple[int, str]:
    """上册, 下册, 全一册 in book order; any other volume name after them."""
    return (VOLUME_ENDINGS.index(value) if value in VOLUME_ENDINGS else len(VOLUME_ENDINGS), value)


def register() -> None:
    """Hand the search pages the functions that name node and language facet values and order grades."""
    register_facet_labels("node", node_names)
    register_facet_labels("language", language_names)
    register_facet_order("grade", grade_sort_key)
    register_facet_order("volume", volume_sort_key)
