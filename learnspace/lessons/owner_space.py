"""The teacher's space as lessons need it: its storage quota, the lock of quota checks, the default visibility.

The space belongs to the spaces domain, which sits above lessons in the layers; spaces supplies these
at app start through ``provide`` (create_app wires it), so lessons never imports spaces.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import current_app

from ..accounts.models import User


@dataclass(frozen=True)
class OwnerSpace:
    """What a teacher's space tells lessons."""

    #: the space's storage quota in bytes, or None for the configured default
    quota_bytes: Callable[[User], int | None]
    #: serialise quota checks of one teacher (a row lock on PostgreSQL; SQLite writers queue anyway)
    lock: Callable[[User], None]
    #: the visibility the new-lesson form preselects
    default_visibility: Callable[[User], str]


def provide(app, owner_space: OwnerSpace) -> None:
    """Tell *app*'s lessons where teachers' spaces answer from."""
    app.extensions["learnspace.owner_space"] = owner_space


def owner_space() -> OwnerSpace:
    """Return what the spaces domain provided for this app."""
    try:
        return current_app.extensions["learnspace.owner_space"]
    except KeyError:
        raise RuntimeError("lessons need owner_space.provide() from the spaces domain (create_app does it)") from None
