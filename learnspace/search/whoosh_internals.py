"""Every read of whoosh-reloaded below its public API, and the one fix LearnSpace applies to it.

The array engine (learnspace.search.engine) needs whole columns and posting lists as numpy arrays.
Whoosh's public API hands them out one document at a time (about a second per column of a million
lessons, in Python); the readers here take the bytes straight from the segment files instead, where
the public API has no bulk form, and nowhere else. Each reader has a public twin giving the same
array through Whoosh's public API; tests/search/test_whoosh_internals.py checks both against
Whoosh's own per-document answers.

======================  ===============================================  ====================================
reader                  what it reads of whoosh-reloaded 2.7.5            public answer it must equal
======================  ===============================================  ====================================
``ref_codes``           ``RefBytesColumn.Reader``: 1- or 2-byte refs at  ``leaf.column_reader(field)``
                        ``_basepos`` in ``_dbfile``, labels ``_uniques``
``numbers``             ``NumericColumn.Reader``: ``_count`` big-endian  ``leaf.column_reader(field)``
                        values, the rest are the column's default
``length_codes``        the codec's length column ``_<field>_len`` of    ``leaf.doc_field_length``
                        one-byte codes, through ``leaf._perdoc``
``deleted``             ``leaf.deleted_docs_set``                        ``leaf.is_deleted``
``term_docs``           ``W3LeafMatcher`` posting blocks (``_data``,     ``leaf.postings(...).all_ids()``
                        ``_read_data``, ``_goto``, ``_nextoffset``,
                        ``_lastblock``, ``_byteids``); inlined postings
                        and other matchers through ``all_ids()``
======================  ===============================================  ====================================

The version is pinned exactly in setup.cfg. If another version is installed anyway, ``INTERNALS`` is
False: every reader takes its public twin (the same answers, slower to build an index version's
arrays) and the fix is not applied.
"""
from __future__ import annotations

import numpy as np
import whoosh
from whoosh.codec import whoosh3
from whoosh.columns import EmptyColumnReader, NumericColumn, RefBytesColumn
from whoosh.matching import FilterMatcher
from whoosh.util.numeric import byte_to_length, length_to_byte

#: the whoosh-reloaded version whose internals the readers below know (setup.cfg pins it)
PINNED = (2, 7, 5)
INTERNALS = tuple(whoosh.__version__) == PINNED
#: a length code (Whoosh stores a field's length as one byte) → the length it stands for
LENGTH_OF_CODE = np.array([byte_to_length(i) for i in range(256)], dtype=np.float32)
_EMPTY = np.empty(0, dtype=np.int64)


# --- the fix --------------------------------------------------------------------------------------------

#: Whoosh's own method, kept so tests can compare an index written with and without the fix
WHOOSH_CACHED_READER = whoosh3.W3PerDocReader._cached_reader


def _cached_reader(self, fieldname, column):
    """``W3PerDocReader._cached_reader`` that also remembers a column the segment does not have.

    Whoosh caches the length column of scored fields but not the answer "this field has no length
    column". Writing a segment asks for the length of every posting, so for every posting of an
    unscored field (IDs, keywords) Whoosh called ``os.stat`` on a file that does not exist: about
    30 % of the time of writing a segment. Segment files never change once written, so remembering
    the missing column is safe.
    """
    try:
        return self._readers[fieldname]
    except KeyError:
        reader = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
        self._readers[fieldname] = reader
        return reader


def apply_fixes() -> bool:
    """Install the fix on the pinned version (idempotent); return whether it is installed."""
    if INTERNALS:
        whoosh3.W3PerDocReader._cached_reader = _cached_reader
    return whoosh3.W3PerDocReader._cached_reader is _cached_reader


# --- columns --------------------------------------------------------------------------------------------

def _padded(values: np.ndarray, doccount: int, default, into) -> np.ndarray:
    values = values.astype(into)
    if len(values) < doccount:  # a column written before the last documents holds their defaults
        values = np.concatenate([values, np.full(doccount - len(values), default, dtype=into)])
    return values


def _raw(creader, count: int, dtype: str) -> np.ndarray:
    """The first *count* fixed-size values of a column reader's bytes (big-endian *dtype*)."""
    itemsize = np.dtype(dtype).itemsize
    return np.frombuffer(creader._dbfile.get(creader._basepos, count * itemsize), dtype=dtype)


def ref_codes(leaf, field: str, internals: bool = INTERNALS) -> tuple[np.ndarray, list]:
    """(uint16 code per document, label per code) of a ``RefBytesColumn`` field of one segment.

    Labels are the field's ``from_column_value``; a segment without the column gives every
    document the column's default.
    """
    fieldobj = leaf.schema[field]
    creader = leaf.column_reader(field, translate=False)
    doccount = leaf.doc_count_all()
    if internals and isinstance(creader, RefBytesColumn.Reader):
        size = creader._itemsize  # 1 byte up to 256 distinct values, then 2 (at most 65,536)
        refs = _raw(creader, doccount, f">u{size}").astype(np.uint16)
        return refs, [fieldobj.from_column_value(u) for u in creader._uniques]
    labels: dict = {}
    refs = np.fromiter((labels.setdefault(v, len(labels)) for v in creader), dtype=np.uint16, count=doccount)
    return refs, [fieldobj.from_column_value(v) for v in labels]


def numbers(leaf, field: str, internals: bool = INTERNALS) -> np.ndarray:
    """The int64 values of a ``NumericColumn`` field of one segment, one per document."""
    creader = leaf.column_reader(field, translate=False)
    doccount = leaf.doc_count_all()
    column = leaf.schema[field].column_type
    if internals and isinstance(creader, NumericColumn.Reader):
        values = _raw(creader, creader._count, ">" + creader._typecode)
        return _padded(values, doccount, column.default_value(), np.int64)
    if isinstance(creader, EmptyColumnReader):
        return np.full(doccount, column.default_value(), dtype=np.int64)
    return np.fromiter(creader, dtype=np.int64, count=doccount)


def length_codes(leaf, field: str, internals: bool = INTERNALS) -> np.ndarray:
    """Whoosh's one-byte length code of *field* per document of one segment (0: empty); see LENGTH_OF_CODE."""
    doccount = leaf.doc_count_all()
    if internals:
        creader = leaf._perdoc._cached_reader(whoosh3._lenfield(field), whoosh3.LENGTHS_COLUMN)
        if creader is None:
            return np.zeros(doccount, dtype=np.uint8)
        return _padded(_raw(creader, creader._count, "u1"), doccount, 0, np.uint8)
    # Whoosh answers None, not 0, for an empty field.
    return np.fromiter((length_to_byte(leaf.doc_field_length(d, field, 0) or 0) for d in range(doccount)),
                       dtype=np.uint8, count=doccount)


# --- deletions and postings -----------------------------------------------------------------------------

def deleted(leaf, internals: bool = INTERNALS) -> np.ndarray:
    """The sorted deleted document numbers of one segment."""
    if not leaf.has_deletions():
        return _EMPTY
    if internals:
        return np.sort(np.fromiter(leaf.deleted_docs_set, dtype=np.int64))
    return np.array([d for d in range(leaf.doc_count_all()) if leaf.is_deleted(d)], dtype=np.int64)


def term_docs(leaf, field: str, btext: bytes, internals: bool = INTERNALS) -> np.ndarray:
    """Sorted document numbers of one segment whose *field* holds the term *btext*, deleted ones included."""
    if (field, btext) not in leaf:
        return _EMPTY
    matcher = leaf.postings(field, btext)
    if isinstance(matcher, FilterMatcher):
        matcher = matcher.child  # the matcher that skips deleted documents; callers mask them out
    if not internals or not isinstance(matcher, whoosh3.W3LeafMatcher) or matcher._byteids:
        # Inlined postings (a ListMatcher) and any other matcher: Whoosh's own iteration.
        return np.fromiter(matcher.all_ids(), dtype=np.int64)
    blocks = []
    while True:
        if matcher._data is None:
            matcher._read_data()
        # A block's ids are delta-encoded from 0: their running sum is the document numbers.
        blocks.append(np.cumsum(np.asarray(matcher._data[0], dtype=np.int64)))
        if matcher._lastblock:
            break
        matcher._goto(matcher._nextoffset)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
