"""Sign-in and code-redemption throttling: progressive delays kept in the database, shared by every worker.

Three counters, each a row per failed attempt (keys are hashes, so no name or address is stored):

* per account and IP: the first few mistakes are free, then each further one makes the next try wait
  longer (``DELAYS``), up to 15 minutes: a classmate who guesses a pupil's password five times delays the
  pupil by half a minute, no more;
* per account, from any IP: at most ``login_account_limit`` (10) checked guesses in any window of
  ``login_window_minutes`` (15), however many addresses an attacker uses;
* per IP: above ``login_ip_limit`` failures in the window (``login_trusted_ip_limit`` for the school
  networks in ``LEARNSPACE_TRUSTED_NETWORKS``) attempts from the address are spaced a few seconds apart
  (at most ``MAX_IP_SPACING``): a school behind one NAT address is slowed, never shut out.

Nothing sleeps: a refused attempt is answered at once with the seconds to wait.
"""
from __future__ import annotations

import hashlib
import ipaddress
import math
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, insert, select

from ..db import utcnow
from ..extensions import db
from ..jobs import periodic
from ..transactions import keep_after_rollback
from .models import ThrottleEvent

#: seconds to wait after the n-th failure of one account from one IP (index n-1); the last applies beyond
DELAYS = (0, 0, 0, 0, 30, 60, 120, 240, 480, 900)
#: failures of one account from one IP are remembered this long for the delays (a success forgets them)
MEMORY = timedelta(hours=24)
#: the longest spacing between attempts from an address above its ceiling
MAX_IP_SPACING = 30


def _settings():
    return current_app.config["LEARNSPACE"]


def _key(scope: str, value: str) -> str:
    return hashlib.sha256(f"{scope}:{value.strip().lower()}".encode()).hexdigest()


def _account(name: str) -> str:
    return _key("account", name)


def _account_ip(name: str, ip: str) -> str:
    return _key("account-ip", f"{name.strip().lower()}|{ip}")


def _stats(key: str, since: datetime) -> tuple[int, datetime | None]:
    count, last = db.session.execute(select(func.count(ThrottleEvent.id), func.max(ThrottleEvent.created_dt))
                                     .where(ThrottleEvent.key_hash == key, ThrottleEvent.created_dt >= since)).one()
    return count or 0, last


def _left(until: datetime, now: datetime) -> int:
    return max(0, math.ceil((until - now).total_seconds()))


def _progressive_wait(key: str, now: datetime) -> int:
    count, last = _stats(key, now - MEMORY)
    if not count:
        return 0
    return _left(last + timedelta(seconds=DELAYS[min(count, len(DELAYS)) - 1]), now)


def _window_cap_wait(key: str, limit: int, now: datetime) -> int:
    """Seconds until fewer than *limit* failures of *key* lie in the window (a sliding-window cap)."""
    window = timedelta(minutes=_settings().login_window_minutes)
    nth = db.session.scalar(select(ThrottleEvent.created_dt).where(
        ThrottleEvent.key_hash == key, ThrottleEvent.created_dt >= now - window)
        .order_by(ThrottleEvent.created_dt.desc()).offset(limit - 1).limit(1))
    return _left(nth + window, now) if nth is not None else 0


def is_trusted(ip: str) -> bool:
    """Tell whether *ip* lies in one of the configured school egress networks."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(address in network for network in _settings().trusted_networks)


def ip_ceiling(ip: str) -> int:
    """Failures per window from *ip* before its attempts are spaced out."""
    s = _settings()
    return s.login_trusted_ip_limit if is_trusted(ip) else s.login_ip_limit


def _ip_wait(scope: str, ip: str, now: datetime) -> int:
    ceiling = ip_ceiling(ip)
    count, last = _stats(_key(scope, ip), now - timedelta(minutes=_settings().login_window_minutes))
    if count < ceiling:
        return 0
    # Over the ceiling: 2 s between attempts, 2 s more per 10 further failures, at most MAX_IP_SPACING.
    spacing = min(MAX_IP_SPACING, 2 * (1 + (count - ceiling) // 10))
    return _left(last + timedelta(seconds=spacing), now)


def _record(*rows: tuple[str, str | None]) -> None:
    """Write failure rows (key, account) that outlive the refused request's rollback.

    On PostgreSQL they are committed at once on a connection of their own, while this transaction still holds
    the account's lock (hold_account): the next attempt, which waits for that lock, already counts them.
    SQLite cannot take a second writer while this transaction holds the database, so the rows are kept
    through the rollback instead (transactions.keep_after_rollback).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        with db.engine.begin() as connection:
            connection.execute(insert(ThrottleEvent), [
                {"key_hash": key, "account_hash": account, "created_dt": utcnow()} for key, account in rows])
    else:
        for key, account in rows:
            keep_after_rollback(ThrottleEvent(key_hash=key, account_hash=account))


# --- sign-in -------------------------------------------------------------------------------------------

def hold_account(login_name: str) -> bool:
    """Take the account's sign-in lock for this transaction; False when another request holds it right now.

    Without it, guesses sent in parallel would all pass the count before any of them is recorded. On
    PostgreSQL a transaction-level advisory lock, tried without waiting (a flood must not tie up the few
    workers); SQLite transactions already run one at a time (BEGIN IMMEDIATE, learnspace.db).
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return True
    lock_id = int(_account(login_name)[:15], 16)  # 60 bits: fits PostgreSQL's bigint
    return bool(db.session.scalar(select(func.pg_try_advisory_xact_lock(lock_id))))


def login_wait(login_name: str, ip: str) -> int:
    """Seconds before a sign-in to *login_name* from *ip* may be checked (0: now)."""
    now = utcnow()
    return max(_ip_wait("login-ip", ip, now), _progressive_wait(_account_ip(login_name, ip), now),
               _window_cap_wait(_account(login_name), _settings().login_account_limit, now))


def login_failed(login_name: str, ip: str) -> None:
    """Count a wrong password (or unknown account); the rows survive the rollback of the refused request."""
    account = _account(login_name)
    _record((_account_ip(login_name, ip), account), (account, account), (_key("login-ip", ip), None))


def login_succeeded(login_name: str, ip: str) -> None:
    """Forget the account's own failures and those from this IP; other addresses' delays stay."""
    db.session.execute(delete(ThrottleEvent).where(
        ThrottleEvent.key_hash.in_((_account(login_name), _account_ip(login_name, ip)))))


def account_failures(login_name: str) -> int:
    """Failures of the account (from any address) still remembered: the admin page offers to clear them."""
    if not login_name:
        return 0
    return db.session.scalar(select(func.count(ThrottleEvent.id)).where(
        ThrottleEvent.account_hash == _account(login_name), ThrottleEvent.key_hash == _account(login_name),
        ThrottleEvent.created_dt >= utcnow() - MEMORY)) or 0


def clear_account(login_name: str) -> int:
    """Forget every failure counted against the account, from every address; returns the rows removed."""
    return db.session.execute(delete(ThrottleEvent).where(
        ThrottleEvent.account_hash == _account(login_name))).rowcount or 0


# --- activation and reset codes --------------------------------------------------------------------------

def code_wait(ip: str, target: str | None = None) -> int:
    """Seconds before a code typed from *ip* (for the person *target*, when known) may be checked."""
    now = utcnow()
    wait = _ip_wait("code-ip", ip, now)
    if target:
        wait = max(wait, _progressive_wait(_key("code-target", target), now))
    return wait


def code_failed(ip: str, target: str | None = None) -> None:
    """Count a wrong code (per IP) and, when the code's person is known, a wrong name for that person."""
    _record((_key("code-ip", ip), None), *([(_key("code-target", target), None)] if target else []))


def failures(scope: str, value: str, window: timedelta) -> int:
    """Count failures recorded for *value* in *scope* within the window (a plain counter, no delays)."""
    return _stats(_key(scope, value), utcnow() - window)[0]


def record_failure(scope: str, value: str) -> None:
    """Count one failed attempt for *value* in *scope*; it survives the rollback of the refused request."""
    _record((_key(scope, value), None))


def clear(scope: str, value: str) -> None:
    """Forget the failures of *value* in *scope*."""
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key_hash == _key(scope, value)))


def wait_message(seconds: int) -> str:
    """The Chinese answer to a throttled attempt."""
    minutes = f"（约 {math.ceil(seconds / 60)} 分钟）" if seconds >= 120 else ""
    return f"尝试次数过多，请 {seconds} 秒后再试{minutes}。如果确实忘记了密码，请联系学校管理员。"


def prune(older_than: timedelta = MEMORY) -> int:
    """Delete events older than the longest memory; returns how many went."""
    result = db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.created_dt < utcnow() - older_than))
    return result.rowcount or 0


@periodic("accounts.throttle_prune", every_seconds=3600)
def _prune_old_failures() -> None:
    prune()
    db.session.commit()
