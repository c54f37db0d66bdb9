"""Resident ID-card numbers (GB 11643): validation, encryption, keyed hash, masking.

The number is encrypted with AES-GCM under the data key (kept outside the
database); look-ups use an HMAC under a key derived from the same secret, so the
database alone reveals neither the numbers nor a way to test guesses.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
from datetime import date

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from ..errors import ValidationError

ID_RE = re.compile(r"^\d{17}[\dX]$")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
FULLWIDTH = str.maketrans("０１２３４５６７８９ＸｘX", "0123456789XXX")


def normalize(raw: str) -> str:
    """Strip spaces, fold full-width digits and a lower-case x."""
    return (raw or "").strip().replace(" ", "").translate(FULLWIDTH).upper()


def check_digit(first17: str) -> str:
    """Return the GB 11643 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[total % 11]


def validate(raw: str) -> str:
    """Return the normalised number, or raise ValidationError saying what is wrong."""
    number = normalize(raw)
    if not ID_RE.match(number):
        raise ValidationError("身份证号应为 18 位（前 17 位为数字，最后一位为数字或 X）")
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise ValidationError("身份证号中的出生日期无效") from None
    if born.year < 1900 or born > date.today():
        raise ValidationError("身份证号中的出生日期无效")
    if check_digit(number[:17]) != number[17]:
        raise ValidationError("身份证号校验位不正确，请核对是否输错")
    return number


def mask(number: str) -> str:
    """Show the first three and last four characters only."""
    return number[:3] + "*" * (len(number) - 7) + number[-4:]


def _keys() -> tuple[bytes, bytes]:
    root = current_app.config["LEARNSPACE"].data_key
    enc = hmac.new(root, b"learnspace id-card encryption", hashlib.sha256).digest()
    look = hmac.new(root, b"learnspace id-card lookup", hashlib.sha256).digest()
    return enc, look


def lookup_hash(number: str) -> str:
    """Return the keyed hash used to find a person by ID-card number."""
    return hmac.new(_keys()[1], number.encode(), hashlib.sha256).hexdigest()


def encrypt(number: str) -> bytes:
    """Encrypt a normalised number; the 12-byte nonce is stored in front."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_keys()[0]).encrypt(nonce, number.encode(), b"id_card")


def decrypt(blob: bytes) -> str:
    """Decrypt what ``encrypt`` produced."""
    return AESGCM(_keys()[0]).decrypt(blob[:12], blob[12:], b"id_card").decode()


def birth_date(number: str) -> date:
    """Return the birth date encoded in a valid number."""
    return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
