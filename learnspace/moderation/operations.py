"""Verbs of the blocked-word list: import, add, delete, list, and check a text against it."""
from __future__ import annotations

import codecs
import logging
from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select

from ..audit import operations as audit
from ..errors import NotFound, ValidationError
from ..extensions import db
from .matcher import Matcher, MatcherCache, fold
from .models import TERM_MAX, BlockedTerm

log = logging.getLogger(__name__)

#: a list file larger than this is refused before it is read (about 200,000 terms)
FILE_MAX_BYTES = 5 * 1024 * 1024
#: how many bad lines a refusal lists
MAX_REPORTED = 50

_cache = MatcherCache()


class BlockedWordsRejected(ValidationError):
    """A list file (or pasted list) with bad lines; ``details`` lists them: line, text, reason."""


class BlockedText(ValidationError):
    """A text containing blocked terms; ``terms`` are the listed forms found."""

    def __init__(self, message: str, terms: list[str]):
        super().__init__(message)
        self.terms = terms


@dataclass
class ImportResult:
    added: int = 0
    #: terms of the file already on the list (same folded form)
    existing: int = 0
    #: lines repeating an earlier line of the same file (same folded form)
    repeated: int = 0
    #: terms removed because --replace dropped what the file no longer lists
    removed: int = 0

    def summary(self) -> str:
        text = f"新增 {self.added} 个词，已存在 {self.existing} 个，文件内重复 {self.repeated} 行"
        return text + (f"，删除 {self.removed} 个不在文件中的词" if self.removed else "")


# --- reading a list -----------------------------------------------------------------

def decode_list(data: bytes) -> str:
    """Decode a list file: UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030/GBK."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8):].decode("utf-8", errors="strict")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")  # a superset of GBK and GB2312: what Windows Notepad and Excel write in China
    except UnicodeDecodeError:
        raise ValidationError("无法识别文件编码，请把文件另存为 UTF-8 或 GBK 编码的文本文件") from None


def parse_terms(text: str) -> tuple[list[tuple[int, str, str]], list[dict]]:
    """Split a list into (line number, term, folded) entries and bad-line problems.

    One term per line; blank lines and lines starting with # are skipped.
    """
    entries, problems = [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        term = raw.strip()
        if not term or term.startswith("#"):
            continue
        if len(term) > TERM_MAX:
            problems.append({"line": number, "text": term[:20] + "…", "reason": f"超过 {TERM_MAX} 个字"})
            continue
        folded = fold(term)
        if not folded:
            problems.append({"line": number, "text": term, "reason": "只有空格、标点或符号，无法用于匹配"})
            continue
        if len(folded) > TERM_MAX:
            problems.append({"line": number, "text": term[:20] + "…", "reason": f"规范化后超过 {TERM_MAX} 个字"})
            continue
        entries.append((number, term, folded))
    return entries, problems


def _reject(problems: list[dict], what: str) -> BlockedWordsRejected:
    shown = "" if len(problems) <= MAX_REPORTED else f"（仅列出前 {MAX_REPORTED} 条）"
    return BlockedWordsRejected(f"{what}中有 {len(problems)} 行有误，整个清单未保存{shown}。请改正后重新提交。",
                                details=problems[:MAX_REPORTED])


# --- changing the list --------------------------------------------------------------

def add_terms(text: str, *, actor=None, source: str = "web", replace: bool = False,
              what: str = "清单") -> ImportResult:
    """Add every term of a one-term-per-line text, all or nothing; with replace, drop terms it does not list."""
    entries, problems = parse_terms(text)
    if problems:
        raise _reject(problems, what)
    if not entries:
        raise ValidationError(f"{what}中没有任何词语（空行和以 # 开头的行会被忽略）")
    result = ImportResult()
    existing = set(db.session.scalars(select(BlockedTerm.folded)))
    seen: set[str] = set()
    for _number, term, folded in entries:
        if folded in seen:
            result.repeated += 1
            continue
        seen.add(folded)
        if folded in existing:
            result.existing += 1
            continue
        db.session.add(BlockedTerm(term=term, folded=folded, source=source,
                                   created_by_id=actor.id if actor is not None else None))
        result.added += 1
    if replace:
        stale = existing - seen
        if stale:
            result.removed = db.session.execute(
                delete(BlockedTerm).where(BlockedTerm.folded.in_(stale))).rowcount
    db.session.flush()
    audit.record("blocked_words.import" if source == "import" else "blocked_words.add",
                 detail=result.summary(), actor_id=actor.id if actor is not None else None)
    log.info("blocked-word list: %s added, %s removed", result.added, result.removed)
    return result


def import_file(data: bytes, *, actor=None, replace: bool = False) -> ImportResult:
    """Import a blocked-word list file (UTF-8 or GBK text, one term per line), all or nothing."""
    if len(data) > FILE_MAX_BYTES:
        raise ValidationError(f"文件太大（上限 {FILE_MAX_BYTES // 1024 // 1024} MB）")
    return add_terms(decode_list(data), actor=actor, source="import", replace=replace, what="文件")


def delete_term(term_id: int, *, actor=None) -> BlockedTerm:
    """Remove one term from the list."""
    term = db.session.get(BlockedTerm, term_id)
    if term is None:
        raise NotFound("该词语不在清单中（可能已被删除）")
    db.session.delete(term)
    db.session.flush()
    audit.record("blocked_words.delete", target=f"blocked_term:{term_id}",
                 actor_id=actor.id if actor is not None else None)
    return term


def list_terms(query: str = "", limit: int = 100, offset: int = 0) -> tuple[list[BlockedTerm], int]:
    """Return a page of terms, newest first, filtered by a listed or folded substring, and the total."""
    stmt = select(BlockedTerm)
    if query.strip():
        needle = query.strip()
        condition = BlockedTerm.term.contains(needle, autoescape=True)
        folded = fold(needle)
        if folded:
            condition = or_(condition, BlockedTerm.folded.contains(folded, autoescape=True))
        stmt = stmt.where(condition)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(BlockedTerm.id.desc()).limit(limit).offset(offset))
    return list(rows), total


# --- checking text --------------------------------------------------------------------

def matcher() -> Matcher:
    """Return the matcher for the current list, rebuilt only when the list changed since the last call."""
    count, highest = db.session.execute(select(func.count(BlockedTerm.id), func.max(BlockedTerm.id))).one()
    key = (str(db.session.get_bind().url), count, highest)
    return _cache.get(key, lambda: list(db.session.execute(select(BlockedTerm.folded, BlockedTerm.term))))


def blocked_terms_in(text: str) -> list[str]:
    """Return the listed terms that *text* contains, exactly or in a variant form."""
    return matcher().terms_in(text)


def check_text(text: str, what: str = "内容") -> None:
    """Refuse *text* if it contains a blocked term, naming the term(s)."""
    terms = blocked_terms_in(text)
    if terms:
        named = "、".join(f"“{t}”" for t in terms[:3]) + ("等" if len(terms) > 3 else "")
        raise BlockedText(f"{what}包含网络负面用语{named}，未能发布。请修改后再提交。", terms)
