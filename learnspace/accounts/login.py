"""Turning a checked person into a signed-in browser session."""
from __future__ import annotations

from flask import g, request, session
from flask_login import current_user, login_user

from ..activity import operations as activity
from . import operations
from .models import LoginPrincipal


def current_person():
    """Return the signed-in User, or None for an anonymous visitor."""
    return current_user.user if current_user.is_authenticated else None


def client_ip() -> str:
    """Return the address of the browser (Werkzeug's ProxyFix sets it behind a proxy)."""
    return request.remote_addr or "unknown"


def sign_in(user) -> None:
    """Start a fresh server-side session for *user*; the old session id is dropped."""
    session.clear()  # a new session id at every login: no fixation
    token, _ = operations.start_session(user)
    session.permanent = True
    login_user(LoginPrincipal(user, token))
    g.audit_actor_id = user.id
    activity.record(user, "sign_in")
