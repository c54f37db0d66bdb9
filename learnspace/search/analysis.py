"""Chinese text analysis for the Whoosh index: folding, jieba segmentation and pinyin.

Only this package imports jieba and pypinyin. Everything here is a pure function of
its input, so the same code runs in the web process, the indexer and the benchmark.

* ``fold(text)``: NFKC per character (full-width ＡＢＣ１２３ → ABC123) and lower case,
  keeping one output character per input character where possible so highlight
  offsets still point into the original text.
* ``ChineseTokenizer``: jieba search-mode tokens at index time (every dictionary
  word plus its 2- and 3-character dictionary sub-words, plus character bigrams of
  longer Chinese words so a typed fragment such as 勾股 finds 勾股定理); precise mode at
  query time (fewer, longer terms, all of which the index holds).
* ``pinyin_terms(text)``: full pinyin and initials of the Chinese words of *text*
  (and of runs of two or three consecutive words), as a space-separated string for
  the ``pinyin`` field: 勾股定理 → ``gougudingli ggdl …``.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from functools import lru_cache

from whoosh.analysis import LowercaseFilter, SpaceSeparatedTokenizer, Token, Tokenizer

_init_lock = threading.Lock()
_initialised = False

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _jieba():
    """Return jieba, initialised once per process with its chatter silenced."""
    global _initialised
    import jieba

    if not _initialised:
        with _init_lock:
            if not _initialised:
                jieba.setLogLevel(logging.WARNING)
                logging.getLogger("jieba").setLevel(logging.WARNING)
                jieba.initialize()
                _initialised = True
    return jieba


def _fold_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKC", ch).lower()
    # Keep offsets stable: a character that expands (㎏ → kg) is kept only when it stays one character.
    return folded if len(folded) == 1 else ch.lower()[:1] or ch


def fold(text: str) -> str:
    """Fold full-width forms to half-width and upper to lower case, one character for one."""
    if text.isascii():
        return text.lower()
    return "".join(_fold_char(ch) for ch in text)


def _is_word(token: str) -> bool:
    # Punctuation, spaces and emoji are not searchable terms.
    return any(ch.isalnum() for ch in token)


def segment(text: str, *, search: bool = True) -> list[tuple[str, int, int]]:
    """Return (token, start, end) of the folded *text*: search mode with bigrams, or precise mode."""
    if not text:
        return []
    folded = fold(text)
    jieba = _jieba()
    out: list[tuple[str, int, int]] = []
    for word, start, end in jieba.tokenize(folded, mode="search" if search else "default"):
        if not _is_word(word):
            continue
        out.append((word, start, end))
        if search and end - start >= 3 and _CJK.match(word):
            for i in range(start, end - 1):
                bigram = folded[i:i + 2]
                if bigram != word and _CJK_RUN.fullmatch(bigram):
                    out.append((bigram, i, i + 2))
    if search:
        # Deduplicate identical (token, start) pairs that search mode and the bigrams both produced.
        seen: set[tuple[str, int]] = set()
        unique = []
        for tok in out:
            if (tok[0], tok[1]) not in seen:
                seen.add((tok[0], tok[1]))
                unique.append(tok)
        out = unique
    return out


class ChineseTokenizer(Tokenizer):
    """Whoosh tokenizer: folded jieba tokens with character offsets for highlighting."""

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = fold(value)
            t.boost = 1.0
            if positions:
                t.pos = start_pos
            if chars:
                t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        pos = start_pos
        for word, start, end in segment(value, search=(mode != "query")):
            t.text = word
            t.boost = 1.0
            if keeporiginal:
                t.original = value[start:end]
            t.stopped = False
            if positions:
                t.pos = pos
                pos += 1
            if chars:
                t.startchar, t.endchar = start_char + start, start_char + end
            yield t


def ChineseAnalyzer():
    """Return the analyzer of every Chinese free-text field (title, description, names, chapter)."""
    return ChineseTokenizer()


def PinyinAnalyzer():
    """Return the analyzer of the ``pinyin`` field: its text is already pinyin terms, split on spaces."""
    return SpaceSeparatedTokenizer() | LowercaseFilter()


@lru_cache(maxsize=200_000)
def _pinyin(word: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a Chinese word; cached: titles and names repeat words a lot."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(word, errors="ignore")
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables if s)
    return full, initials


@lru_cache(maxsize=100_000)
def _words(run: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().cut(run) if w)


@lru_cache(maxsize=100_000)
def _search_words(run: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().cut_for_search(run) if len(w) >= 2)


def pinyin_terms(*texts: str) -> str:
    """Return the full-pinyin and initials terms of the Chinese words in *texts*, space separated."""
    terms: list[str] = []
    seen: set[str] = set()

    def add(term: str) -> None:
        # Single letters (the initial of a one-character word) would match almost everything.
        if len(term) > 1 and term not in seen:
            seen.add(term)
            terms.append(term)

    for text in texts:
        if not text:
            continue
        for run in _CJK_RUN.findall(fold(text)):
            words = _words(run)
            pieces = [_pinyin(w) for w in words]
            for full, initials in pieces:
                add(full)
                add(initials)
            # Runs of consecutive words, so 勾股 + 定理 typed as one string still matches.
            for size in (2, 3):
                for i in range(len(pieces) - size + 1):
                    add("".join(p[0] for p in pieces[i:i + size]))
                    add("".join(p[1] for p in pieces[i:i + size]))
            if len(words) > 1 and len(run) <= 12:
                full, initials = _pinyin(run)
                add(full)
                add(initials)
            # Dictionary sub-words of longer words (search mode) in full pinyin only.
            for word in _search_words(run):
                add(_pinyin(word)[0])
    return " ".join(terms)


def warm_up() -> None:
    """Load jieba's dictionary now rather than on the first search."""
    _jieba()
