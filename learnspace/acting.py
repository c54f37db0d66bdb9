"""Who acts, and from where, for the rest of this request or CLI command (the audit trail reads it)."""
from __future__ import annotations

from flask import g, has_app_context


def set_context(actor_id: int | None, ip: str | None) -> None:
    """Remember who acts and from where ("cli" for commands) for the rest of this request or command."""
    g.audit_actor_id = actor_id
    g.audit_ip = ip


def current_actor_id() -> int | None:
    """Return the acting user's id for this request or command, if known."""
    return g.get("audit_actor_id") if has_app_context() else None


def current_ip() -> str | None:
    """Return where the acting user is, if known."""
    return g.get("audit_ip") if has_app_context() else None
