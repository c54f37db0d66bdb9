"""Demo blocked words: a short list, so comments in the demo are checked against something."""
from __future__ import annotations

from ..moderation import operations as moderation

#: a short list for the demo; a real deployment imports the province's list
TERMS = ("脑残", "去死", "滚蛋", "垃圾老师", "弱智")


def seed() -> None:
    """Give the demo a short blocked-word list when it has none (no commit)."""
    _terms, total = moderation.list_terms(limit=1)
    if total:
        return
    moderation.add_terms("\n".join(TERMS), source="import")
