"""One fix to whoosh-reloaded 2.7.5, applied when the search package loads.

``W3PerDocReader._cached_reader`` caches the length column of scored fields but not the
answer "this field has no length column". Writing a segment asks for the length of every
posting, so for every posting of an unscored field (IDs, keywords) Whoosh called
``os.stat`` on a file that does not exist: about 30 % of the time of writing a segment.
Segment files never change once written, so remembering the missing column is safe.
"""
from __future__ import annotations

from whoosh.codec import whoosh3


def _cached_reader(self, fieldname, column):
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


def apply() -> None:
    """Install the fix (idempotent)."""
    whoosh3.W3PerDocReader._cached_reader = _cached_reader
