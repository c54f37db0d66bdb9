"""Failed-attempt counters kept in the database, so every worker process shares them."""
from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, select

from ..db import utcnow
from ..extensions import db
from ..transactions import keep_after_rollback
from .models import ThrottleEvent


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value.strip().lower()}".encode()).hexdigest()


def failures(scope: str, value: str, window: timedelta) -> int:
    """Count failures recorded for *value* in *scope* within the window."""
    since = utcnow() - window
    return db.session.scalar(
        select(func.count(ThrottleEvent.id)).where(
            ThrottleEvent.key_hash == _key(scope, value), ThrottleEvent.created_dt >= since
        )
    ) or 0


def record_failure(scope: str, value: str) -> None:
    """Count one failed attempt; the count survives the rollback of the refused request."""
    keep_after_rollback(ThrottleEvent(key_hash=_key(scope, value)))


def clear(scope: str, value: str) -> None:
    """Forget the failures of *value*, e.g. after a successful login."""
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key_hash == _key(scope, value)))


def prune(older_than: timedelta) -> int:
    """Delete events older than the longest window; returns how many went."""
    result = db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.created_dt < utcnow() - older_than))
    return result.rowcount or 0
