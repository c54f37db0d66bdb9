"""Passwords: the policy (zxcvbn plus the person's own data), argon2 hashes, and changing one's password."""
from __future__ import annotations

import hashlib
import re
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import update
from zxcvbn import zxcvbn

from ..audit import operations as audit
from ..db import utcnow
from ..errors import RateLimited, ValidationError
from ..extensions import db
from ..search.analysis import name_pinyin
from . import idcard, throttle
from .models import User, UserSession

_hasher = PasswordHasher()

MIN_LENGTH = 8
MAX_LENGTH = 128
#: zxcvbn scores 0–4; 2 means "guesses ≥ 10^6": far beyond what sign-in throttling (≤ 10 guesses per
#: 15 minutes per account) lets anyone try, while pupils can still pick something they remember.
MIN_SCORE = 2
#: this many consecutive characters of the ID-card number may not appear in a password (birth date, last six)
ID_WINDOW = 6
#: the example in templates/accounts/_password_rule.html: shown to everyone, so never a password
RULE_EXAMPLE = "lanmaochi3gepingguo"
ADVICE = "请换一个别人猜不到的密码：可以把几个不相关的词（拼音也行）和数字、符号组合起来。"

#: zxcvbn's warnings, in Chinese
_WARNINGS = {
    "This is a top-10 common password.": "这是最常见的密码之一",
    "This is a top-100 common password.": "这是很常见的密码",
    "This is a very common password.": "这是很常见的密码",
    "This is similar to a commonly used password.": "与常见密码太相似（把字母换成数字或加大写并不能让它变安全）",
    "A word by itself is easy to guess.": "单个词语很容易被猜到",
    "Names and surnames by themselves are easy to guess.": "单独的名字或姓氏很容易被猜到",
    "Common names and surnames are easy to guess.": "常见的名字和姓氏很容易被猜到",
    "Straight rows of keys are easy to guess.": "键盘上连续的一排键很容易被猜到",
    "Short keyboard patterns are easy to guess.": "简短的键盘图案很容易被猜到",
    'Repeats like "aaa" are easy to guess.': "“aaa”这样的重复很容易被猜到",
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': "“abcabc”这样的重复很容易被猜到",
    'Sequences like "abc" or "6543" are easy to guess.': "“abc”“6543”这样的顺序很容易被猜到",
    "Recent years are easy to guess.": "最近的年份很容易被猜到",
    "Dates are often easy to guess.": "日期（如生日）很容易被猜到",
}


def _fold(text: str) -> str:
    """Lower-case letters and digits only (full-width folded), so Zhang-Xiao-Ming1 still shows zhangxiaoming."""
    return re.sub(r"[^0-9a-z]", "", unicodedata.normalize("NFKC", text or "").lower())


def _personal_terms(user: User | None, login_name: str | None) -> list[tuple[str, str]]:
    """Return (what, folded value) pairs a password may not contain; the ID card is decrypted here only."""
    terms: list[tuple[str, str]] = []
    for what, value, shortest in (("学籍号", user and user.student_number, 4),  # pupils' login names are these
                                  ("教师编号", user and user.teacher_number, 4),
                                  ("账号", login_name or (user and user.login_name), 3)):
        if value and len(_fold(value)) >= shortest:
            terms.append((what, _fold(value)))
    if user is not None and user.real_name:
        full, initials = name_pinyin(user.real_name)
        ascii_name = _fold(user.real_name)  # a name written in Latin letters
        for value, shortest in ((full, 4), (ascii_name, 4), (initials, 3)):  # two initials match too many words
            if value and len(value) >= shortest:
                terms.append(("姓名拼音", value))
    if user is not None and user.id_card_encrypted:
        number = _fold(idcard.decrypt(user.id_card_encrypted))
        terms.extend(("身份证号中的数字", number[i:i + ID_WINDOW]) for i in range(len(number) - ID_WINDOW + 1))
    return terms


def check_password_strength(password: str, user: User | None = None, login_name: str | None = None) -> None:
    """Refuse a password that is too short or long, contains the person's own data, or is easy to guess."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise ValidationError(f"密码至少 {MIN_LENGTH} 位")
    if len(password) > MAX_LENGTH:
        raise ValidationError(f"密码不能超过 {MAX_LENGTH} 位")
    terms = _personal_terms(user, login_name)
    folded = _fold(password)
    if RULE_EXAMPLE in folded:
        raise ValidationError(f"不能直接使用页面上的示例密码，人人都看得到。{ADVICE}")
    for what, value in terms:
        if value in folded:
            raise ValidationError(f"密码不能包含您的{what}：这些信息同学和老师都可能知道。{ADVICE}")
    inputs = list(dict.fromkeys(value for _, value in terms))
    if user is not None and user.real_name:
        inputs += [name_pinyin(user.real_name[1:])[0], name_pinyin(user.real_name[:1])[0]]  # given name, surname
    # zxcvbn refuses over 72 characters (its matching is quadratic); a long password is as strong as its start.
    result = zxcvbn(password[:72], user_inputs=[i for i in inputs if i])
    if result["score"] < MIN_SCORE:
        warning = _WARNINGS.get(result["feedback"].get("warning") or "", "")
        raise ValidationError(f"这个密码太容易被猜到{'：' + warning if warning else ''}。{ADVICE}")


def set_password(user: User, password: str) -> None:
    """Check a new password against the policy (the person's own data included) and store its argon2 hash."""
    check_password_strength(password, user)
    user.password_hash = _hasher.hash(password)


def password_matches(user: User | None, password: str) -> bool:
    """Verify *password* against the person's hash, spending the same time when there is none."""
    if user is None or not user.password_hash:
        # Spend the same time as a real check so timing does not reveal accounts.
        _hasher.hash("timing-equaliser")
        return False
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def rehash_if_needed(user: User, password: str) -> None:
    """Store a fresh hash when the stored one was made with older parameters."""
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)


def change_password(user: User, new_password: str, keep_token: str | None, *, current_password: str | None,
                    via_provider: bool = False, ip: str = "unknown") -> int:
    """Set a new password and end every other session; the current password is required unless *via_provider*."""
    if not user.password_hash:
        raise ValidationError("您通过统一身份认证登录，没有本平台的登录密码，无需修改。")
    if not via_provider:
        # Throttled like sign-in: a browser left signed in must not become a way to guess the password.
        if wait := throttle.login_wait(user.login_name or "", ip):
            audit.record("user.password_change", result="denied", target=f"user:{user.id}",
                         detail=f"throttled {wait}s", keep=True)
            raise RateLimited(throttle.wait_message(wait))
        if not password_matches(user, current_password or ""):
            throttle.login_failed(user.login_name or "", ip)
            audit.record("user.password_change", result="failure", target=f"user:{user.id}",
                         detail="wrong current password", keep=True)
            raise ValidationError("当前密码不正确，请重新输入。忘记密码请联系学校管理员重置。")
    if current_password and new_password == current_password:
        raise ValidationError("新密码不能与当前密码相同")
    set_password(user, new_password)
    # Every other browser signed in as this person is signed out (same hash as operations.start_session).
    keep = hashlib.sha256(keep_token.encode()).hexdigest() if keep_token else ""
    ended = db.session.execute(update(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_dt.is_(None),
        UserSession.token_hash != keep).values(revoked_dt=utcnow())).rowcount or 0
    audit.record("user.password_change", target=f"user:{user.id}",
                 detail=f"{'via provider; ' if via_provider else ''}{ended} other sessions ended")
    return ended
