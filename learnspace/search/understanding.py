"""Query understanding: words that name a stage, subject, grade, edition, lesson type or language become filters.

"八年级数学勾股定理" is grade 八年级 + subject 数学 + the text 勾股定理. The vocabulary is the facet values
the index holds (so a word only filters when lessons carry it) plus common spellings of them:

* grades: 8年级, 初二, 初中二年级, 高一 = 十年级 = 高中一年级; with a volume (八上, 八年级下册, 初二上学期) they
  filter the grade and the 册次 (volume: 上册/下册, from the catalogue), which is also a word of its own;
* editions: 人教版/人教, 北师大版/北师大/北师, 部编版（统编版） ← 部编/部编版/统编/统编版;
* subjects: 语数英 → 语文 or 数学 or 英语 (a group selects any of them), 英文 → 英语, 道法/思品 → 道德与法治;
* lesson types by their full name (新授课, 复习课 …; 新授 too); languages by name (维吾尔语/维语 …) except 汉语,
  the language of nearly every lesson, which would only hijack 汉语拼音.

The vocabulary is matched longest-first over the raw folded query, not over jieba words (jieba may keep
八年级数学 together), but a match must not cut a jieba word in two unless a neighbouring match explains the cut
(提高一点 holds no 高一). Text wins over a facet word when the run of Chinese characters around it names a
teacher or school in the index (高一鸣 老师 is a person, not grade 高一).

Pinyin: a whole ASCII word that is the full pinyin of a vocabulary word of at least 4 letters (shuxue, yuwen,
banianji, renjiaoban; ü typed as v or u), or a run of such words (banianjishuxue), is that facet word, unless
the index's pinyin field finds lessons for it that the Chinese word does not explain (a teacher called 舒雪,
a title with 树学): then it names real text and stays text.

Explicit filters in the URL win: a word of a field the URL already filters is consumed when it names the same
value, and stays text otherwise. The vocabulary is cached per index version (per engine Snapshot).
"""
from __future__ import annotations

import re
import threading
import weakref
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .analysis import _jieba, _pinyin, fold

#: index fields whose values can be typed as words, in the order chips are shown
FIELDS = ("stage", "subject", "grade", "volume", "edition", "lesson_type", "language")
#: pinyin shorter than this is too likely to be something else (e.g. "yu", "shu")
MIN_PINYIN = 4
#: a name token in more than this share of the documents is not checked (as query.COMMON_SHARE)
COMMON_SHARE = 0.2
_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九")
#: grade value → year of schooling (1–12), and the spellings a grade is typed in
_GRADE_YEARS = {**{f"{n}年级": i for i, n in enumerate(_NUMERALS, 1)}, "十年级": 10, "高一": 10, "高二": 11, "高三": 12}
#: a word that selects any of several subjects
SUBJECT_GROUPS = {"语数英": ("语文", "数学", "英语"), "语数": ("语文", "数学"), "数理化": ("数学", "物理", "化学"),
                  "理化": ("物理", "化学"), "理化生": ("物理", "化学", "生物"), "史地政": ("历史", "地理", "思想政治"),
                  "政史地": ("思想政治", "历史", "地理")}
SUBJECT_ALIASES = {"英语": ("英文",), "道德与法治": ("道法", "思品", "道德与法制"), "思想政治": ("政治",),
                   "生物": ("生物学",), "信息技术": ("信息科技",), "音乐": (), "美术": ()}
EDITION_ALIASES = {"北师大版": ("北师版", "北师"), "人教版": ("人教社版", "新人教版")}
LANGUAGE_ALIASES = {"维吾尔语": ("维语",), "蒙古语": ("蒙语",), "朝鲜语": ("朝语",), "藏语": ("藏文",)}
#: language names that are never filters (see the module docstring)
NOT_WORDS = {"汉语", "zh"}
LESSON_TYPE_ALIASES = {"新授课": ("新授",)}
VOLUME_ALIASES = {"上册": ("上学期",), "下册": ("下学期",)}
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
#: where facet words are looked for: Chinese with the digits and brackets of 8年级 and 部编版（统编版）
_CJK_RUN = re.compile(r"[0-9（）()\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII_WORD = re.compile(r"[a-z]+")
_PARENS = re.compile(r"[（(]([^）)]*)[）)]")


@dataclass(frozen=True)
class Chip:
    """One understood filter: what the page shows (label), the index field and value, and where it came from."""

    label: str
    field: str
    value: str
    source: str  # "query": a word of q; "filter": a parameter of the URL
    #: the characters of q the chip came from ("" for filter chips); removing the chip takes them out of q
    surface: str = ""


@dataclass
class Understood:
    text: str
    #: field → the values any of which a lesson must have (several for 语数英 or 数学 语文)
    filters: dict[str, tuple[str, ...]] = field(default_factory=dict)
    chips: list[Chip] = field(default_factory=list)

    @property
    def from_query(self) -> bool:
        return any(chip.source == "query" for chip in self.chips)


#: what a typed word stands for: (field, values) pairs, one for most words, two for 八上 (grade and volume)
Targets = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass
class _Vocabulary:
    words: dict[str, Targets]                         # typed word → the filters it stands for
    pinyin: dict[str, str]                           # full pinyin → the Chinese word it spells
    longest: int
    names: dict[tuple[str, str], str]                # (field, value) → chip label
    #: answers that depend only on the index version: is this run a name, is this pinyin real text
    answers: dict = field(default_factory=dict)

    def remember(self, key, compute: Callable[[], bool]) -> bool:
        found = self.answers.get(key)
        if found is None:
            found = compute()
            if len(self.answers) > 4096:  # typed queries are unbounded; the vocabulary must not grow with them
                self.answers.clear()
            self.answers[key] = found
        return found


_names: dict[str, Callable[[list[str]], dict[str, str]]] = {}
_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def register_names(field_name: str, labeler: Callable[[list[str]], dict[str, str]]) -> None:
    """Let a domain name raw facet values (language codes → 朝鲜语) so they can be typed as words."""
    _names[field_name] = labeler


# --- the vocabulary -------------------------------------------------------------------------

def _grade_spellings(value: str) -> list[tuple[str, str]]:
    """(word, volume) pairs naming grade *value*: volume "" for the grade alone, 上册/下册 for 八上 or 八年级下册."""
    year = _GRADE_YEARS.get(value)
    if year is None:
        return [(value, "")]
    bases = [value]
    if year <= 9:
        numeral = _NUMERALS[year - 1]
        bases.append(f"{year}年级")
        if year <= 6:
            bases.append(f"小学{numeral}年级")
        else:
            bases += [f"初{_NUMERALS[year - 7]}", f"初中{_NUMERALS[year - 7]}年级"]
    else:
        short = _NUMERALS[year - 10]
        bases += [f"高{short}", f"高中{short}年级", "十年级" if year == 10 else f"十{short}年级"]
    spellings = [(base, "") for base in bases]
    if year <= 9:
        spellings += [(f"{numeral}上", "上册"), (f"{numeral}下", "下册")]
    for base in bases:
        for volume in ("上册", "下册"):
            spellings += [(base + word, volume) for word in (volume, *VOLUME_ALIASES[volume])]
    return spellings


def _spellings(field_name: str, name: str) -> list[str]:
    """The words that name the facet value called *name* (the name itself first)."""
    out = [name]
    if field_name == "edition":
        plain = _PARENS.sub("", name).strip()
        for part in [plain] + _PARENS.findall(name):
            part = part.strip()
            out += [part, part[:-1] if part.endswith("版") and len(part) > 2 else part]
        out += list(EDITION_ALIASES.get(plain, ()))
    elif field_name == "subject":
        out += list(SUBJECT_ALIASES.get(name, ()))
    elif field_name == "language":
        out += list(LANGUAGE_ALIASES.get(name, ()))
    elif field_name == "lesson_type":
        out += list(LESSON_TYPE_ALIASES.get(name, ()))
    elif field_name == "volume":
        out += list(VOLUME_ALIASES.get(name, ()))
    return _kept(out)


def _kept(words: list[str]) -> list[str]:
    """The folded, distinct *words* that can be typed as facet words (two characters or more, some Chinese)."""
    return [w for w in dict.fromkeys(fold(w) for w in words) if len(w) >= 2 and _CJK.search(w)]


def _labels(field_name: str, values: list[str]) -> dict[str, str]:
    labeler = _names.get(field_name)
    if labeler is None:
        return {v: v for v in values}
    try:
        named = labeler(values) or {}
    except Exception:  # a broken labeler must not take searching down: the raw value is still a label
        named = {}
    return {v: named.get(v, v) for v in values}


def _grade_words(value: str, label: str, volumes: set[str]) -> list[tuple[str, Targets]]:
    out = []
    for word, volume in _grade_spellings(label):
        targets: Targets = (("grade", (value,)),)
        if volume and volume in volumes:  # 八上 names the volume too when lessons carry it; else it is the grade alone
            targets += (("volume", (volume,)),)
        out += [(w, targets) for w in _kept([word])]
    return out


def _build(snap) -> _Vocabulary:
    words: dict[str, Targets] = {}
    names: dict[tuple[str, str], str] = {}
    volumes = set(snap.labels.get("volume", []))
    for field_name in FIELDS:
        values = [v for v in snap.labels.get(field_name, []) if v and v not in NOT_WORDS]
        labels = _labels(field_name, values)
        for value in values:
            if labels[value] in NOT_WORDS:
                continue
            names[(field_name, value)] = labels[value]
            if field_name == "grade":
                spelt = _grade_words(value, labels[value], volumes)
            else:
                spelt = [(word, ((field_name, (value,)),)) for word in _spellings(field_name, labels[value])]
            for i, (word, targets) in enumerate(spelt):
                if i == 0 or word not in words:  # a value's own name wins over another value's alias
                    words[word] = targets
        if field_name == "subject":
            for word, subjects in SUBJECT_GROUPS.items():
                present = tuple(s for s in subjects if s in values)
                if len(present) > 1 and word not in words:
                    words[word] = (("subject", present),)
    pinyin: dict[str, str] = {}
    ambiguous: set[str] = set()
    for word, target in words.items():
        full = _pinyin(word)[0]
        for spelt in {full, full.replace("v", "u")}:
            if len(spelt) < MIN_PINYIN:
                continue
            if spelt in pinyin and words[pinyin[spelt]] != target:
                ambiguous.add(spelt)
            pinyin.setdefault(spelt, word)
    for spelt in ambiguous:
        del pinyin[spelt]
    return _Vocabulary(words=words, pinyin=pinyin, longest=max((len(w) for w in words), default=0), names=names)


def vocabulary(snap) -> _Vocabulary:
    """The facet words of *snap*'s index version, built once per version."""
    with _cache_lock:
        found = _cache.get(snap)
    if found is None:
        found = _build(snap)
        with _cache_lock:
            _cache[snap] = found
    return found


# --- matching -------------------------------------------------------------------------------

def _longest_at(vocab: _Vocabulary, text: str, start: int) -> int:
    for length in range(min(vocab.longest, len(text) - start), 1, -1):
        if text[start:start + length] in vocab.words:
            return length
    return 0


def _jieba_bounds(text: str) -> set[int]:
    bounds, at = {0, len(text)}, 0
    for word in _jieba().cut(text):
        at += len(word)
        bounds.add(at)
    return bounds


def _within(docs: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Which of the sorted *docs* are in the sorted *others* (a binary search each: *others* may be huge)."""
    if not len(docs) or not len(others):
        return np.zeros(len(docs), dtype=bool)
    at = np.minimum(np.searchsorted(others, docs), len(others) - 1)
    return others[at] == docs


def _all_tokens_in(snap, reader, field_name: str, text: str) -> bool:
    """Whether some document's *field_name* holds every query token of *text* (a name in the index)."""
    tokens = list(dict.fromkeys(t.text for t in reader.schema[field_name].analyzer(text, mode="query")))
    if not tokens:
        return False
    # Postings of a token in a fifth of the names (小学, 中学) cost the most and tell the least: leave them out.
    tokens.sort(key=lambda token: reader.doc_frequency(field_name, token))
    limit = COMMON_SHARE * snap.live_count
    tokens = [t for t in tokens if reader.doc_frequency(field_name, t) <= limit] or tokens[:1]
    lists = [snap.docs(reader, field_name, token) for token in tokens]
    docs = lists[0][snap.alive[lists[0]]]  # the rarest token first (芙蓉区 before 小学); deleted ones name nobody
    for found in lists[1:]:
        docs = docs[_within(docs, found)]
        if not len(docs):
            return False
    return bool(len(docs))


def _names_someone(snap, reader, run: str) -> bool:
    return any(_all_tokens_in(snap, reader, name, run) for name in ("teacher_name", "school_name"))


def _chinese_matches(snap, reader, vocab: _Vocabulary, text: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of the facet words in the Chinese runs of *text*, longest first, left to right."""
    found = []
    for run in _CJK_RUN.finditer(text):
        chars = run.group()
        spans, at = [], 0
        while at < len(chars):
            length = _longest_at(vocab, chars, at)
            if length:
                spans.append((at, at + length))
                at += length
            else:
                at += 1
        if not spans:
            continue
        if len(chars) > spans[0][1] - spans[0][0] and vocab.remember(
                ("name", chars), lambda: _names_someone(snap, reader, chars)):
            continue  # 高一鸣: the run is a teacher's (or school's) name
        cuts = _jieba_bounds(chars)
        starts, ends = {s for s, _ in spans}, {e for _, e in spans}
        for s, e in spans:
            # A match must begin and end where jieba cuts or where another facet word sits next to it.
            if (s in cuts or s in ends) and (e in cuts or e in starts):
                found.append((run.start() + s, run.start() + e, chars[s:e]))
    return found


def _pinyin_cover(vocab: _Vocabulary, word: str) -> list[str] | None:
    """The vocabulary pinyin words that spell *word* exactly, in order (fewest pieces), or None."""
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(max(0, end - 24), end - MIN_PINYIN + 1):
            piece = word[start:end]
            if best[start] is not None and piece in vocab.pinyin:
                candidate = best[start] + [piece]
                if best[end] is None or len(candidate) < len(best[end]):
                    best[end] = candidate
    return best[len(word)]


def _pinyin_is_real_text(snap, reader, spelt: str, chinese: str) -> bool:
    """Whether lessons match *spelt* as pinyin for another reason than holding *chinese* in the title."""
    docs = snap.docs(reader, "pinyin", spelt)
    docs = docs[snap.alive[docs]]
    if not len(docs):
        return False
    tokens = list(dict.fromkeys(t.text for t in reader.schema["title"].analyzer(chinese, mode="query")))
    if not tokens:
        return True
    explained = np.ones(len(docs), dtype=bool)  # the title holds every token of *chinese*
    for token in tokens:
        explained &= _within(docs, snap.docs(reader, "title", token))
    return not explained.all()


def _pinyin_matches(snap, reader, vocab: _Vocabulary, text: str) -> list[tuple[int, int, str]]:
    found = []
    for match in _ASCII_WORD.finditer(text):
        # Only a whole word: "shuxueke" is not 数学 + ke, and letters glued to Chinese are not pinyin words.
        s, e = match.span()
        if (s and not text[s - 1].isspace()) or (e < len(text) and not text[e].isspace()):
            continue
        pieces = _pinyin_cover(vocab, match.group())
        if not pieces:
            continue
        chinese = [vocab.pinyin[p] for p in pieces]
        if any(vocab.remember(("pinyin", p), lambda p=p, c=c: _pinyin_is_real_text(snap, reader, p, c))
               for p, c in zip(pieces, chinese)):
            continue
        for c in chinese:
            found.append((s, e, c))
    return found


def understand(snap, reader, q: str, explicit: dict[str, str]) -> Understood:
    """Split *q* into facet words (filters and chips) and the text left to match; *explicit* filters win."""
    chips = [Chip(label=value, field=name, value=value, source="filter") for name, value in explicit.items()]
    if not q:
        return Understood(text=q, chips=chips)
    vocab = vocabulary(snap)
    if not vocab.words:
        return Understood(text=q, chips=chips)
    folded = fold(q)
    if len(folded) != len(q):  # offsets must point into q; fold keeps one character for one, but be safe
        return Understood(text=q, chips=chips)
    matches = _chinese_matches(snap, reader, vocab, folded) + _pinyin_matches(snap, reader, vocab, folded)
    filters: dict[str, list[str]] = {}
    consumed: list[tuple[int, int]] = []
    query_chips: list[Chip] = []
    for start, end, word in sorted(matches):
        targets = vocab.words[word]
        if any(name in explicit and explicit[name] not in values for name, values in targets):
            continue  # the URL says otherwise: the word stays text
        consumed.append((start, end))  # where the URL already says so, the word is not text either
        for field_name, values in targets:
            if field_name in explicit:
                continue
            for value in values:
                if value not in filters.setdefault(field_name, []):
                    filters[field_name].append(value)
                query_chips.append(Chip(label=vocab.names.get((field_name, value), value), field=field_name,
                                        value=value, source="query", surface=q[start:end]))
    if not consumed:
        return Understood(text=q, chips=chips)
    kept, last = [], 0
    for start, end in sorted(set(consumed)):
        if start >= last:
            kept.append(q[last:start])
            last = end
    kept.append(q[last:])
    text = " ".join(" ".join(kept).split())
    unique = list({(c.field, c.value, c.surface): c for c in query_chips}.values())
    unique.sort(key=lambda c: FIELDS.index(c.field))
    return Understood(text=text, filters={k: tuple(v) for k, v in filters.items()}, chips=unique + chips)


def mask(snap, filters: dict[str, tuple[str, ...]]):
    """Documents having, for every field of *filters*, one of its values (None: no filter)."""
    combined = None
    for name, values in sorted(filters.items()):
        def make(n=name, vs=values):
            out = np.zeros(snap.size, dtype=bool)
            for v in vs:
                out |= snap.code_mask(n, v)
            return out
        part = snap.cached_mask(("any", name, tuple(sorted(values))), make)
        combined = part if combined is None else combined & part
    return combined


def without(q: str, chip: Chip, chips: list[Chip]) -> str:
    """*q* with *chip*'s word taken out (the other values of a group word such as 语数英 are kept, spelt out)."""
    others = [c.label for c in chips if c.source == "query" and c.surface == chip.surface and c != chip]
    replacement = " " + " ".join(others) + " " if others else ""
    return " ".join(q.replace(chip.surface, replacement, 1).split()) if chip.surface else q
