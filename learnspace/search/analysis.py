"""Chinese text analysis for the Whoosh index: folding, jieba segmentation and pinyin.

Only this package imports jieba and pypinyin. Everything here is a pure function of
its input, so the same code runs in the web process, the indexer and the benchmark.

* ``fold(text)``: NFKC per character (full-width ＡＢＣ１２３ → ABC123) and lower case,
  keeping one output character per input character where possible so highlight
  offsets still point into the original text.
* ``ChineseTokenizer``: jieba search-mode tokens at index time (every dictionary
  word plus its 2- and 3-character dictionary sub-words, plus character bigrams of
  longer Chinese words so a typed fragment such as 勾股 finds 勾股定理; long
  descriptions index precise-mode words only); precise mode at query time (fewer,
  longer terms, all of which the index holds). Segmentation is cached per short text
  or sentence: names, chapters and stock sentences repeat across many lessons.
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

from whoosh.analysis import Token, Tokenizer

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


#: sentence ends: jieba never joins words across them, so text can be segmented sentence by sentence
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;\n])")
#: texts up to this length are segmented whole and cached; longer ones sentence by sentence
_CACHED_CHARS = 80


def segment(text: str, *, search: bool = True) -> list[tuple[str, int, int]]:
    """Return (token, start, end) of the folded *text*: search mode with bigrams, or precise mode."""
    if not text:
        return []
    if len(text) <= _CACHED_CHARS:
        return list(_segment_cached(text, search))
    out: list[tuple[str, int, int]] = []
    offset = 0
    for sentence in _SENTENCE_END.split(text):
        if sentence:
            out.extend((word, start + offset, end + offset)
                       for word, start, end in _segment_cached(sentence, search))
            offset += len(sentence)
    return out


@lru_cache(maxsize=200_000)
def _segment_cached(text: str, search: bool) -> tuple[tuple[str, int, int], ...]:
    """Segment one short text; cached because chapter, teacher and school names and stock sentences repeat a lot."""
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
    return tuple(out)


class ChineseTokenizer(Tokenizer):
    """Whoosh tokenizer: folded jieba tokens with character offsets for highlighting.

    *fragments*: index search-mode sub-words and bigrams too (so a typed fragment such as
    勾股 finds 勾股定理); without it the index holds precise-mode words only, about half
    the postings, which is what a long description needs.
    """

    def __init__(self, fragments: bool = True):
        self.fragments = fragments

    def __eq__(self, other):
        return (other is not None and self.__class__ is other.__class__
                and self.fragments == getattr(other, "fragments", True))

    def __setstate__(self, state):
        # Indexes written before the fragments option unpickle without it.
        self.__dict__.update(state)
        self.__dict__.setdefault("fragments", True)

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
        for word, start, end in segment(value, search=self.fragments and mode != "query"):
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


class PinyinTokenizer(Tokenizer):
    """Whoosh tokenizer of the ``pinyin`` field: index = pinyin_terms() of the Chinese text; query = the typed word.

    Computing the pinyin inside the analyzer (not when the document is prepared) lets
    parallel index writers do it in their own processes.
    """

    def __eq__(self, other):
        return other is not None and self.__class__ is other.__class__

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        terms = [fold(value).strip()] if mode == "query" or not tokenize else pinyin_terms(value).split()
        for pos, term in enumerate(terms, start_pos):
            t.text = t.original = term
            t.boost = 1.0
            t.stopped = False
            if positions:
                t.pos = pos
            yield t


def ChineseAnalyzer(fragments: bool = True):
    """Return the analyzer of a Chinese free-text field (title, chapter, names; description without fragments)."""
    return ChineseTokenizer(fragments)


def PinyinAnalyzer():
    """Return the analyzer of the ``pinyin`` field (its value is the Chinese text whose pinyin is indexed)."""
    return PinyinTokenizer()


@lru_cache(maxsize=200_000)
def _pinyin(word: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a Chinese word; cached: titles and names repeat words a lot."""
    from pypinyin import lazy_pinyin

    syllables = lazy_pinyin(word, errors="ignore")
    full = "".join(syllables)
    initials = "".join(s[0] for s in syllables if s)
    return full, initials


def name_pinyin(name: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a person's name, e.g. 张小明 → ("zhangxiaoming", "zxm"); for password checks."""
    return _pinyin("".join(ch for ch in (name or "") if not ch.isspace()))


@lru_cache(maxsize=100_000)
def _words(run: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().cut(run) if w)


@lru_cache(maxsize=100_000)
def _search_words(run: str) -> tuple[str, ...]:
    return tuple(w for w in _jieba().cut_for_search(run) if len(w) >= 2)


def pinyin_terms(*texts: str) -> str:
    """Return the full-pinyin and initials terms of the Chinese words in *texts*, space separated."""
    terms = dict.fromkeys(term for text in texts if text for line in text.splitlines()
                          for term in _line_pinyin_terms(line))
    return " ".join(terms)


@lru_cache(maxsize=200_000)
def _line_pinyin_terms(text: str) -> tuple[str, ...]:
    """The pinyin terms of one line (a title, a name); cached: names and chapter titles repeat."""
    terms: dict[str, None] = {}

    def add(term: str) -> None:
        # Single letters (the initial of a one-character word) would match almost everything.
        if len(term) > 1:
            terms[term] = None

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
    return tuple(terms)


def warm_up() -> None:
    """Load jieba's and pypinyin's dictionaries now rather than on the first search."""
    _jieba()
    _pinyin("拼音")
