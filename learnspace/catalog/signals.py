"""What the catalogue tells the domains above it, which it must not import (blinker signals)."""
from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: A catalogue import changed the facets (学段, 学科, 教材版本, 年级) of these nodes and everything below them.
#: Sent with the list of subtree roots' ids as sender, inside the import's transaction. lessons listens:
#: its own copies of the facets (what the 课程 list filters on) follow the catalogue.
facets_changed = _signals.signal("catalog-facets-changed")
