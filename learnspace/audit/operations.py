"""Write audit entries; nothing here updates or deletes one."""
from __future__ import annotations

import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

from ..acting import current_actor_id, current_ip, set_context  # noqa: F401  (the audit trail's API)
from ..extensions import db
from ..transactions import keep_after_rollback
from .models import AuditEntry

log = logging.getLogger(__name__)


def record(action: str, *, result: str = "success", target: str | None = None,
           detail: str | None = None, actor_id: int | None = None, keep: bool = False) -> AuditEntry:
    """Add one audit entry; with keep=True it survives a rollback of the refused request."""
    if actor_id is None:
        actor_id = current_actor_id()
    entry = AuditEntry(
        action=action,
        result=result,
        target=target,
        detail=(detail or None) and detail[:500],
        actor_id=actor_id,
        ip=current_ip(),
    )
    if keep:
        keep_after_rollback(entry)
    else:
        db.session.add(entry)
    log.debug("audit %s %s target=%s", action, result, target)
    return entry


@event.listens_for(Session, "before_flush")
def _append_only(session, flush_context, instances):
    """Refuse any change to an existing audit entry."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError("audit entries are append-only")


@event.listens_for(Session, "do_orm_execute")
def _append_only_statements(state):
    """Refuse UPDATE and DELETE statements on the audit table run through a session."""
    table = getattr(state.statement, "table", None)
    if (state.is_update or state.is_delete) and getattr(table, "name", None) == AuditEntry.__tablename__:
        raise RuntimeError("audit entries are append-only")


def record_denied(action: str, *, target: str | None = None, detail: str | None = None) -> AuditEntry:
    """Record a refused action; the entry is kept although the request rolls back."""
    return record(action, result="denied", target=target, detail=detail, keep=True)
