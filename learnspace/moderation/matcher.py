"""Find blocked terms in text, across the variant forms people use to slip past a plain search.

Both the terms and the text are *folded* to one canonical form before matching:

1. NFKC: full-width letters, digits and punctuation become half-width (Ａ→A, ２→2, ！→!),
   compatibility forms (①, ﬁ, half-width katakana) become their plain forms;
2. case folding (A→a, ß→ss);
3. traditional → simplified Chinese, character by character, with OpenCC's t2s data
   (髮/發→发, 臺→台); a per-character table keeps folding consistent, so a term found
   in the original text is always found in the folded text;
4. separators dropped: every character that is not a letter or a digit (spaces, punctuation,
   symbols such as ★ or ♥, zero-width and other format characters, combining marks),
   so "傻 逼", "傻.逼" and "傻\u200b逼" all read as "傻逼".

Consequence of 4: a term can match across words ("…你，妈妈…" contains 你妈); that is
the price of catching inserted separators, and why one-character terms are a bad idea.
Letters or digits inserted between characters (傻1逼) are not caught.

Matching is one Aho–Corasick automaton (pyahocorasick) over all folded terms: building it
is linear in the total length of the terms and happens once per change of the list;
checking a text is linear in the length of the text plus the number of hits, and does not
depend on how many terms the list has (10 or 100,000 terms cost the same per comment).
"""
from __future__ import annotations

import threading
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick

#: Unicode general categories that count as separators: punctuation (P*), symbols (S*),
#: spaces and line breaks (Z*), controls and format characters (C*), combining marks (M*).
_SEPARATOR_CATEGORIES = ("P", "S", "Z", "C", "M")

#: CJK blocks whose characters get a traditional → simplified entry (URO, Ext. A, compatibility, Ext. B)
_CJK_RANGES = ((0x3400, 0xA000), (0xF900, 0xFB00), (0x20000, 0x2A6E0))


@lru_cache(maxsize=1)
def _fold_table() -> dict[int, str | None]:
    """Build the str.translate table once: traditional → simplified, separators → removed."""
    import opencc

    chars = [chr(code) for start, end in _CJK_RANGES for code in range(start, end)]
    # One call for all characters; newlines keep OpenCC from reading neighbours as phrases.
    converted = opencc.OpenCC("t2s").convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # never seen; fall back to one call per character
        converter = opencc.OpenCC("t2s")
        converted = [converter.convert(ch) for ch in chars]
    table: dict[int, str | None] = {ord(a): b for a, b in zip(chars, converted) if a != b and len(b) == 1}
    return table


@lru_cache(maxsize=4096)
def _is_separator(ch: str) -> bool:
    return unicodedata.category(ch)[0] in _SEPARATOR_CATEGORIES


def fold(text: str) -> str:
    """Return the canonical form of *text* that terms and comments are compared in."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.translate(_fold_table())
    return "".join(ch for ch in text if not _is_separator(ch))


@dataclass(frozen=True)
class Hit:
    """A blocked term found in a text: the term as listed, and where its folded form ended."""

    term: str
    end: int


class Matcher:
    """An immutable Aho–Corasick automaton over a set of (folded term, listed term) pairs."""

    def __init__(self, terms: list[tuple[str, str]]):
        self.size = len(terms)
        self._automaton = ahocorasick.Automaton() if terms else None
        if self._automaton is not None:
            for folded, listed in terms:
                if folded:
                    self._automaton.add_word(folded, listed)
            self._automaton.make_automaton()

    def hits(self, text: str) -> list[Hit]:
        """Return every occurrence of a listed term in *text* (after folding), in order."""
        if self._automaton is None or not text:
            return []
        return [Hit(term, end) for end, term in self._automaton.iter(fold(text))]

    def terms_in(self, text: str) -> list[str]:
        """Return the distinct listed terms found in *text*, in the order they first occur."""
        seen: dict[str, None] = {}
        for hit in self.hits(text):
            seen.setdefault(hit.term, None)
        return list(seen)


class MatcherCache:
    """One Matcher per database and list version, rebuilt only when the list changed."""

    def __init__(self):
        self._lock = threading.Lock()
        self._key = None
        self._matcher: Matcher | None = None

    def get(self, key, load) -> Matcher:
        """Return the cached matcher for *key*, or build one from ``load()`` (a list of pairs)."""
        with self._lock:
            if self._matcher is None or self._key != key:
                self._matcher = Matcher(load())
                self._key = key
            return self._matcher
