"""Content-Disposition for downloads: the teacher's name in UTF-8, a safe ASCII fallback, no header tricks."""
from __future__ import annotations

import pytest

from learnspace.storage.delivery import content_disposition


@pytest.mark.parametrize("name, fallback, encoded", [
    ("教学设计.docx", "file.docx", "%E6%95%99%E5%AD%A6%E8%AE%BE%E8%AE%A1.docx"),
    ("Lesson Plan 第1课.pdf", "Lesson Plan 1.pdf", "Lesson%20Plan%20%E7%AC%AC1%E8%AF%BE.pdf"),
    ("résumé.pptx", "resume.pptx", "r%C3%A9sum%C3%A9.pptx"),
])
def test_fallback_keeps_what_ascii_can_say(name, fallback, encoded):
    header = content_disposition(name)
    assert header == f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"


def test_quotes_paths_and_line_breaks_cannot_escape_the_header():
    """A name with a quote, CR/LF and a path keeps only its last part and nothing that breaks the header."""
    header = content_disposition('..\\..\\evil"\r\nSet-Cookie: x=1/课件"a.pptx', inline=True)
    assert header.startswith("inline; ")
    assert "\r" not in header and "\n" not in header
    fallback = header.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "a.pptx"
    assert header.endswith("''%E8%AF%BE%E4%BB%B6%22a.pptx")
