"""Deciding a file's type from its bytes (no app, no storage: the deep look reads from a bytes object)."""
from __future__ import annotations

import io
import struct
import zipfile

import pytest

from learnspace.lessons import sniff
from tests.lessons.uploads.conftest import office_file


def check(kind: str, name: str, data: bytes) -> str:
    return sniff.check_object(kind, name, len(data), lambda offset, length: data[offset:offset + length])


def refused(kind: str, name: str, data: bytes) -> str:
    with pytest.raises(sniff.Refused) as info:
        check(kind, name, data)
    return info.value.message


@pytest.mark.parametrize("head, label", [
    (b"MZ\x90\x00", "Windows EXE/DLL 程序"), (b"\x7fELF\x02\x01", "Linux ELF 程序"),
    (b"\xcf\xfa\xed\xfe\x07\x00", "macOS Mach-O 程序"), (b"\xca\xfe\xba\xbe\x00\x00", "macOS Mach-O 程序"),
    (b"#!/bin/sh\nrm -rf ~\n", "脚本"), (b"\xef\xbb\xbf#!/usr/bin/env python\n", "脚本"),
])
def test_programs_are_refused_whatever_their_name(head, label):
    data = head + bytes(2000)
    assert refused("courseware", "课件.pdf", data) == f"该文件实际是可执行程序（{label}），不能作为课件上传。"
    assert "不能作为课堂实录上传" in refused("recording", "课堂实录.mp4", data)


def test_the_allowed_types_are_recognised():
    assert check("recording", "a.mp4", b"\x00\x00\x00\x18ftypmp42" + bytes(100)) == "mp4"
    assert check("recording", "a.m4v", b"\x00\x00\x00\x18ftypM4V " + bytes(100)) == "mp4"
    assert check("recording", "a.webm", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + bytes(100)) == "webm"
    assert check("lesson_plan", "a.pdf", b"\n\n%PDF-1.5\n" + bytes(100)) == "pdf"
    assert check("courseware", "课件.PPTX", office_file("ppt/")) == "pptx"
    assert check("exercises", "a.xlsx", office_file("xl/", content_types_first=False)) == "xlsx"
    assert check("subtitles", "a.vtt", "\ufeffWEBVTT - 第一课\n\n00:01.000 --> 00:02.000\n你好\n".encode()) == "vtt"


@pytest.mark.parametrize("kind, name, data, words", [
    ("recording", "a.mp4", b"\x00\x00\x00\x14ftypqt  " + bytes(100), "QuickTime（MOV）"),
    ("recording", "a.mp4", b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x88matroska" + bytes(100), "MKV"),
    ("recording", "a.mp4", b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(100), "AVI"),
    ("lesson_plan", "a.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "旧版 Office"),
    ("courseware", "a.pdf", b"\x89PNG\r\n\x1a\n" + bytes(100), "PNG 图片"),
    ("courseware", "a.pdf", b"just some text", "无法识别"),
    ("subtitles", "a.vtt", b"WEBVTTX\n", "无法识别"),
    ("recording", "a.mp4", b"", "空的"),
])
def test_other_formats_are_refused_with_advice(kind, name, data, words):
    assert words in refused(kind, name, data)


def test_odf_and_macro_documents_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.text")
        package.writestr("content.xml", "<x/>")
    assert "ODF" in refused("lesson_plan", "a.docx", buffer.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<x/>")
        package.writestr("word/vbaProject.bin", b"\x00" * 10)
    assert "宏" in refused("lesson_plan", "a.docx", buffer.getvalue())


def test_a_truncated_office_file_is_refused():
    data = office_file("word/", padding=10_000)
    assert "不是完整的 ZIP" in refused("lesson_plan", "a.docx", data[:-30])


def _as_zip64(data: bytes) -> bytes:
    """Rewrite a small ZIP's end record the way ZIP64 writers do: sentinels plus ZIP64 record and locator."""
    at = data.rfind(b"PK\x05\x06")
    entries, cd_size, cd_offset = struct.unpack_from("<10xHII", data, at)
    record = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, cd_size, cd_offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return data[:at] + record + locator + end


def test_zip64_directories_are_read():
    assert check("courseware", "a.pptx", _as_zip64(office_file("ppt/", padding=1000))) == "pptx"


def test_names_declare_the_type_and_the_part_limits_it():
    assert sniff.declared_type("recording", "第一课.MP4") == "mp4"
    for kind, name in [("recording", "a.mov"), ("courseware", "a.doc"), ("subtitles", "a.srt"), ("exercises", "README")]:
        with pytest.raises(sniff.Refused):
            sniff.declared_type(kind, name)
