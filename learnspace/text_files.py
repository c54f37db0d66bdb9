"""Uploaded text files (rosters, catalogues): which encoding Excel and other tools in China wrote them in."""
from __future__ import annotations

import codecs

from .errors import ValidationError


def detect_encoding(head: bytes) -> str:
    """Pick UTF-8 (with or without BOM), UTF-16 or GB18030 from the first bytes."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"  # a superset of GBK and GB2312, what Excel in China writes
    except UnicodeDecodeError:
        raise ValidationError("无法识别文件编码，请在 Excel 中另存为“CSV UTF-8”或 GBK 编码的 CSV") from None
