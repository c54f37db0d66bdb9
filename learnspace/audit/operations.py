"""Write audit entries; nothing here updates or deletes one."""
from __future__ import annotations

import logging

from flask import g, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..extensions import db
from .models import AuditEntry

log = logging.getLogger(__name__)


def set_context(actor_id: int | None, ip: str | None) -> None:
    """Remember who acts and from where for the rest of this request or command."""
    g.audit_actor_id = actor_id
    g.audit_ip = ip


def record(action: str, *, result: str = "success", target: str | None = None,
           detail: str | None = None, actor_id: int | None = None) -> AuditEntry:
    """Add one audit entry in the current transaction."""
    if actor_id is None and has_app_context():
        actor_id = g.get("audit_actor_id")
    entry = AuditEntry(
        action=action,
        result=result,
        target=target,
        detail=(detail or None) and detail[:500],
        actor_id=actor_id,
        ip=g.get("audit_ip") if has_app_context() else None,
    )
    db.session.add(entry)
    log.debug("audit %s %s target=%s", action, result, target)
    return entry


@event.listens_for(Session, "before_flush")
def _append_only(session, flush_context, instances):
    """Refuse any change to an existing audit entry."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit entries are append-only")


def current_actor_id() -> int | None:
    """Return the acting user's id for this request or command, if known."""
    return g.get("audit_actor_id") if has_app_context() else None


def record_denied(action: str, *, target: str | None = None, detail: str | None = None) -> None:
    """Note a refused action; it is written after the refusing request rolls back."""
    g.setdefault("audit_pending", []).append(dict(action=action, target=target, detail=detail, result="denied"))


def write_pending() -> int:
    """Add the entries noted by ``record_denied`` to the (fresh) transaction."""
    pending = g.pop("audit_pending", []) if has_app_context() else []
    for kwargs in pending:
        record(**kwargs)
    return len(pending)
