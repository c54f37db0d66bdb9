"""Evaluating lesson searches over the Whoosh index as array operations (numpy).

Whoosh's collectors visit every matching document in Python. At a million lessons a
filter such as 北师大版 keeps hundreds of thousands of documents, and scoring, sorting
by date and counting facets over them took seconds. Here Whoosh stays the storage
(segments, term dictionary, postings, columns, stored fields) and a search is array work:

* ``Snapshot``: for one index version (generation and commit), the facet columns as
  code arrays, the sort keys, the field lengths and the live-document mask, in global
  document-number order. Built once per commit and shared by every thread; the arrays
  of a segment are cached by segment id (segments never change, only their deletions).
* ``Snapshot.docs(reader, field, token)``: the sorted document numbers of one term, read
  a posting block at a time (one unpickle and one cumulative sum per block of 128).
* ``score``: BM25F with term frequency taken as 1 (titles, names and chapters rarely
  repeat a word): per query token and field, idf × the field boost × length
  normalisation, summed over the fields that hold every token of the word; an exact
  title adds ``EXACT_TITLE_BONUS``.

Every read below Whoosh's public API (posting blocks, the column and length layouts, deletions)
is in learnspace.search.whoosh_internals; this module uses Whoosh only through its public API
(leaf readers, segment ids, document counts, field lengths) and imports nothing of it.
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from . import schema
from . import whoosh_internals as internals

#: the facet columns read as code arrays (visibility too: it decides who sees what)
CODED_FIELDS = schema.FACET_FIELDS + ("visibility",)
SORT_KEYS = ("published_ts", "views")
#: the free-text fields with their boosts, and the pinyin field's boost: defined once, in the schema
TEXT_BOOSTS = schema.TEXT_BOOSTS
PINYIN_BOOST = schema.PINYIN_BOOST
#: fields whose lengths normalise scores (the pinyin field too: 勾股定理 typed as gougudingli should
#: rank the short title 勾股定理 above 勾股定理的逆定理, as the Chinese query does)
LENGTH_FIELDS = tuple(TEXT_BOOSTS) + ("pinyin",)
EXACT_TITLE_BONUS = 100.0
K1, B = 1.2, 0.75
_EMPTY = np.empty(0, dtype=np.int64)


# --- reading one segment -------------------------------------------------------------------------------

@dataclass
class _Segment:
    """The arrays of one segment (local document numbers)."""

    codes: dict          # field → (uint16 array of local refs, list of str labels)
    sort_keys: dict      # field → int64 array
    lengths: dict        # text field → uint8 array of Whoosh's length codes


def _absent(leaf) -> tuple[np.ndarray, list]:
    # A facet an older index lacks (written before an upgrade added it, until init rebuilds): no value anywhere,
    # so searching goes on and a filter on it finds nothing.
    return np.zeros(leaf.doc_count_all(), dtype=np.uint16), [""]


def _read_segment(leaf) -> _Segment:
    codes = {name: internals.ref_codes(leaf, name) if name in leaf.schema else _absent(leaf) for name in CODED_FIELDS}
    sort_keys = {name: internals.numbers(leaf, name) for name in SORT_KEYS}
    # Kept as Whoosh's one-byte length codes; LENGTH_OF_CODE turns them into lengths when scoring.
    lengths = {name: internals.length_codes(leaf, name) for name in LENGTH_FIELDS}
    return _Segment(codes, sort_keys, lengths)


_segments: OrderedDict = OrderedDict()
_segments_lock = threading.Lock()
_SEGMENT_CACHE = 64


def _segment(leaf) -> _Segment:
    key = leaf.segment().segment_id()
    with _segments_lock:
        found = _segments.get(key)
        if found is not None:
            _segments.move_to_end(key)
            return found
    found = _read_segment(leaf)
    with _segments_lock:
        _segments[key] = found
        while len(_segments) > _SEGMENT_CACHE:
            _segments.popitem(last=False)
    return found


# --- a whole index version ------------------------------------------------------------------------------

class Snapshot:
    """The arrays of every document of one index version, in global document-number order."""

    def __init__(self, reader):
        leaves = list(reader.leaf_readers())
        self.size = reader.doc_count_all()
        self.alive = np.ones(self.size, dtype=bool)
        parts = []
        for leaf, offset in leaves:
            if leaf.segment() is None:
                continue  # an index without segments (rebuilt from an empty database): nothing to read
            parts.append(_segment(leaf))
            self.alive[internals.deleted(leaf) + offset] = False
        self.live_count = reader.doc_count()
        self.labels: dict[str, list[str]] = {}
        self.codes: dict[str, np.ndarray] = {}
        for name in CODED_FIELDS:
            labels: dict[str, int] = {}
            pieces = []
            for part in parts:
                refs, local = part.codes[name]
                lut = np.array([labels.setdefault(label, len(labels)) for label in local], dtype=np.int32)
                pieces.append(lut[refs] if len(refs) else np.zeros(0, dtype=np.int32))
            self.labels[name] = list(labels)
            codes = _concat(pieces, np.int32)
            self.codes[name] = codes.astype(np.uint16) if len(labels) <= 65536 else codes
        self.sort_keys = {name: _concat([p.sort_keys[name] for p in parts], np.int64) for name in SORT_KEYS}
        self.lengths = {name: _concat([p.lengths[name] for p in parts], np.uint8) for name in LENGTH_FIELDS}
        self.avg_length = {name: (float(reader.field_length(name)) / max(1, self.size)) or 1.0
                           for name in LENGTH_FIELDS}
        self._terms: OrderedDict = OrderedDict()
        self._masks: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    # -- terms

    def docs(self, reader, field: str, token: str) -> np.ndarray:
        """Sorted global document numbers holding *token* in *field* (deleted ones included)."""
        key = (field, token)
        with self._lock:
            found = self._terms.get(key)
            if found is not None:
                self._terms.move_to_end(key)
                return found
        btext = reader.schema[field].to_bytes(token)
        pieces = []
        for leaf, offset in reader.leaf_readers():
            if leaf.segment() is None:
                continue
            found = internals.term_docs(leaf, field, btext)
            if len(found):
                pieces.append(found + offset)
        found = _EMPTY if not pieces else pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        with self._lock:
            self._terms[key] = found
            while len(self._terms) > 512:
                self._terms.popitem(last=False)
        return found

    def mask(self, docs: np.ndarray) -> np.ndarray:
        """A boolean array with *docs* set."""
        out = np.zeros(self.size, dtype=bool)
        out[docs] = True
        return out

    def code_mask(self, field: str, value: str) -> np.ndarray:
        """Documents whose facet *field* is exactly *value* (none when no document has it)."""
        try:
            code = self.labels[field].index(value)
        except ValueError:
            return np.zeros(self.size, dtype=bool)
        return self.codes[field] == code

    def cached_mask(self, key, make) -> np.ndarray:
        """A filter mask, computed once per index version (at most 64 kept)."""
        with self._lock:
            found = self._masks.get(key)
            if found is not None:
                self._masks.move_to_end(key)
                return found
        found = make()
        found.setflags(write=False)
        with self._lock:
            self._masks[key] = found
            while len(self._masks) > 64:
                self._masks.popitem(last=False)
        return found

    # -- ranking

    def idf(self, docs: np.ndarray) -> float:
        """BM25's inverse document frequency of a term found in *docs*."""
        df = len(docs)
        return math.log(1 + (self.live_count - df + 0.5) / (df + 0.5))

    def field_weight(self, field: str, docs: np.ndarray) -> np.ndarray:
        """BM25 length normalisation (term frequency 1) of *field* for *docs*."""
        lengths = internals.LENGTH_OF_CODE[self.lengths[field][docs]]
        return (K1 + 1) / (1 + K1 * (1 - B + B * lengths / self.avg_length[field]))

    def top(self, candidates: np.ndarray, keys: list[np.ndarray], k: int) -> np.ndarray:
        """The *k* candidates that come first when sorted by *keys* descending (first key first)."""
        if len(candidates) > k * 4 and k > 0:
            # Keep everything tied with the k-th best first key, then sort only those.
            first = keys[0]
            threshold = np.partition(first, len(first) - k)[len(first) - k]
            keep = first >= threshold
            candidates, keys = candidates[keep], [key[keep] for key in keys]
        order = np.lexsort([-key for key in reversed(keys)])
        return candidates[order[:k]]


def _concat(pieces: list[np.ndarray], dtype) -> np.ndarray:
    return np.concatenate(pieces).astype(dtype, copy=False) if pieces else np.zeros(0, dtype=dtype)


_snapshots: OrderedDict = OrderedDict()
_snapshots_lock = threading.Lock()


def snapshot(searcher, version: str | None) -> Snapshot:
    """Return the Snapshot of *searcher*'s index version, building it at most once per process."""
    if version is None:
        return Snapshot(searcher.reader())
    with _snapshots_lock:
        found = _snapshots.get(version)
        if found is not None:
            return found
        found = Snapshot(searcher.reader())
        _snapshots[version] = found
        while len(_snapshots) > 2:  # the live version and the one before it, for threads still on it
            _snapshots.popitem(last=False)
        return found


def forget() -> None:
    """Drop every cached snapshot and segment (after an index was found unreadable)."""
    with _snapshots_lock:
        _snapshots.clear()
    with _segments_lock:
        _segments.clear()
