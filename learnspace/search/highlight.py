"""Highlighting: the terms to mark for a query, titles and names with <mark>, snippets around the first match."""
from __future__ import annotations

from html import escape

from . import pinyin
from .analysis import _jieba, _pinyin, fold, segment
from .cleaning import _ASCII_WORD

SNIPPET_CHARS = 90


def _mark_terms(words: list[str], by_pinyin: bool = False) -> tuple[set[str], set[str]]:
    """Chinese/other tokens and pinyin (every ü spelling) to highlight for the query *words*.

    *by_pinyin*: the results matched the pinyin of the Chinese words (a homophone typo), so their
    pinyin is marked rather than fragments of the typo.
    """
    tokens: set[str] = set()
    marked: set[str] = set()
    for word in dict.fromkeys(words + pinyin.join_runs(words)):
        sounded = pinyin.of_chinese(word) if by_pinyin else None
        if sounded:
            marked.add(sounded)
            continue
        for token, _start, _end in segment(word, search=False):
            tokens.add(token)
        letters = pinyin.typed(word)
        if letters:
            marked.update(pinyin.variants(letters))
        elif _ASCII_WORD.fullmatch(word) and not word.isdigit():
            marked.add(word)
    return tokens, marked


def _ranges(text: str, tokens: set[str], typed: set[str]) -> list[tuple[int, int]]:
    """Character ranges of *text* to mark: occurrences of the tokens, and words whose pinyin was typed."""
    if not text:
        return []
    folded = fold(text)
    found = []
    for token in tokens:
        start = folded.find(token)
        while start != -1 and token:
            found.append((start, start + len(token)))
            start = folded.find(token, start + len(token))
    if typed:
        prefixes = [p for p in typed if pinyin.prefix_allowed(p)]
        pieces = []  # (start, end, full, initials) of jieba words
        for word, start, end in _jieba().tokenize(folded):
            if word.strip():
                full, initials = _pinyin(word)
                pieces.append((start, end, full, initials))
        for i in range(len(pieces)):
            full = initials = ""
            for j in range(i, min(i + 4, len(pieces))):
                before = len(full)
                full += pieces[j][2]
                initials += pieces[j][3]
                # A prefix (gougu) marks the words it reaches into (勾股定理), not the ones after it.
                if full and (full in typed or initials in typed
                             or any(before < len(p) and full.startswith(p) for p in prefixes)):
                    found.append((pieces[i][0], pieces[j][1]))
    found.sort()
    merged: list[tuple[int, int]] = []
    for start, end in found:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def highlight(text: str, tokens: set[str], pinyin: set[str] = frozenset()) -> str:
    """Return *text* HTML-escaped with every match wrapped in <mark> (nothing else is markup)."""
    text = text or ""
    out, last = [], 0
    for start, end in _ranges(text, tokens, pinyin):
        out.append(escape(text[last:start]))
        out.append("<mark>" + escape(text[start:end]) + "</mark>")
        last = end
    out.append(escape(text[last:]))
    return "".join(out)


def snippet(text: str, tokens: set[str], pinyin: set[str] = frozenset(), size: int = SNIPPET_CHARS) -> str:
    """A window of *text* around its first match (or its beginning), escaped and highlighted."""
    text = " ".join((text or "").split())
    if not text:
        return ""
    ranges = _ranges(text, tokens, pinyin)
    start = 0
    if ranges and ranges[0][0] > size // 3:
        start = ranges[0][0] - size // 3
    piece = text[start:start + size]
    html = highlight(piece, tokens, pinyin)
    return ("…" if start > 0 else "") + html + ("…" if start + size < len(text) else "")
