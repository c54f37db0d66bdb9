"""``GET /healthz``: the state of the database, MinIO and the search index, and this node's search lag."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from .extensions import db
from .search import generations, nodes
from .storage import get_storage

bp = Blueprint("health", __name__)


def check_database() -> tuple[bool, str]:
    """Report whether the database answers a trivial query."""
    try:
        db.session.execute(text("SELECT 1"))
        return True, "ok"
    except Exception as exc:  # any driver error means "down" here
        db.session.rollback()
        return False, f"unreachable: {type(exc).__name__}"


def search_node() -> dict | None:
    """Report this node's replica: node id, rows and seconds behind the outbox, whether it must rebuild.

    Only reported, never a failure: a node catching up after a restart still serves (a bit behind).
    """
    try:
        return nodes.lag()
    except Exception:  # the database check already reports database trouble
        db.session.rollback()
        return None


@bp.get("/healthz")
def healthz():
    checks = {
        "database": check_database(),
        "storage": get_storage().health(),
        "search": generations.health(),
    }
    body = {name: {"ok": ok, "detail": detail} for name, (ok, detail) in checks.items()}
    failing = [name for name, (ok, _) in checks.items() if not ok]
    body["search_node"] = search_node()
    body["status"] = "ok" if not failing else "degraded"
    body["failing"] = failing
    return jsonify(body), 200 if not failing else 503
