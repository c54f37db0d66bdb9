"""What a search returns: SearchResult, the messages it may carry, result rows and facet counts."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np

from .cleaning import MAX_QUERY_CHARS
from .highlight import highlight, snippet

#: facet fields whose values and counts the result lists (node ids are filters only: there are too many)
FACET_FIELDS = ("stage", "subject", "grade", "volume", "edition", "lesson_type", "language", "level")
UNAVAILABLE = "搜索暂时不可用，请稍后再试。课程列表和教材目录仍可正常浏览。"
NOTHING_TO_SEARCH = "搜索词中没有可以查找的文字，请输入章节名、课题、教师姓名或拼音。"
TOO_LONG = f"搜索词太长，只使用了前 {MAX_QUERY_CHARS} 个字。"
PARTIAL = "没有同时包含全部搜索词的课程，下面是包含部分搜索词的结果。"
BY_PINYIN = "已按拼音为您查找"


@dataclass
class SearchResult:
    total: int = 0
    page: int = 1
    pages: int = 0
    hits: list[dict] = field(default_factory=list)
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    #: a message for the user when the query was unusable or the index unavailable, else None
    message: str | None = None
    #: a softer remark about a usable query (shortened, or only partly matched), else None
    note: str | None = None
    #: the query, filters and sort actually used (after cleaning)
    q: str = ""
    filters: dict[str, str] = field(default_factory=dict)
    sort: str = "relevance"
    #: nothing matched the Chinese as typed, the results match its pinyin (a homophone typo: 勾股定里); the page
    #: says BY_PINYIN
    by_pinyin: bool = False
    #: the filters understood from words of q and the URL's filters (learnspace.search.understanding.Chip)
    understood: list = field(default_factory=list)



def _published(ts) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(ts), tz=timezone.utc) if ts is not None else None
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def _hit(fields: dict, tokens: set[str], pinyin: set[str]) -> dict:
    hit = {name: fields.get(name) for name in ("stage", "subject", "grade", "edition", "lesson_type", "language",
                                               "level", "visibility", "chapter", "teacher_name", "school_name")}
    hit["id"] = int(fields["id"])
    hit["title"] = fields.get("title") or ""
    hit["title_html"] = highlight(hit["title"], tokens, pinyin)
    hit["snippet_html"] = snippet(fields.get("summary") or "", tokens)
    hit["chapter_html"] = highlight(fields.get("chapter") or "", tokens)
    hit["teacher_html"] = highlight(fields.get("teacher_name") or "", tokens, pinyin)
    for name in ("school_id", "teacher_id", "node_id"):
        value = fields.get(name)
        hit[name] = int(value) if value not in (None, "") and str(value).isdigit() else None
    hit["published_dt"] = _published(fields.get("published_ts"))
    hit["views"] = int(fields.get("views") or 0)
    return hit



def _facet_counts(snap, candidates: np.ndarray) -> dict[str, list[tuple[str, int]]]:
    """Value → number of *candidates* for every facet, largest first, empty values left out."""
    facets = {}
    for name in FACET_FIELDS:
        labels = snap.labels[name]
        counts = np.bincount(snap.codes[name][candidates], minlength=len(labels)) if len(candidates) else []
        pairs = [(labels[code], int(n)) for code, n in enumerate(counts) if n and labels[code]]
        pairs.sort(key=lambda item: (-item[1], item[0]))
        facets[name] = pairs
    return facets
