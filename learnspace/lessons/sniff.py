"""Decide what a file is from its bytes, never from its name, and refuse what a part does not allow.

The worker's verification (``verification``) looks at a joined upload through
range reads: its first bytes, and for DOCX/PPTX/XLSX the ZIP central directory,
without downloading the file; so a renamed program is refused before the
gigabytes are read back for the SHA-256.
"""
from __future__ import annotations

import codecs
import struct
from typing import Callable

from .models import PART_KINDS

#: how many leading bytes the first look needs
HEAD_BYTES = 64 * 1024
#: a central directory larger than this is not an office document a teacher wrote
MAX_CENTRAL_DIRECTORY = 16 * 1024 * 1024

#: the types we accept: name → (MIME type, how a teacher calls it)
TYPES = {
    "mp4": ("video/mp4", "MP4 视频"),
    "webm": ("video/webm", "WebM 视频"),
    "pdf": ("application/pdf", "PDF 文档"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "Word 文档（DOCX）"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "PowerPoint 演示文稿（PPTX）"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Excel 表格（XLSX）"),
    "vtt": ("text/vtt", "WebVTT 字幕"),
}
DOCUMENTS = ("pdf", "docx", "pptx", "xlsx")
#: per part, the types it accepts
ALLOWED = {"recording": ("mp4", "webm"), "lesson_plan": DOCUMENTS, "courseware": DOCUMENTS,
           "exercises": DOCUMENTS, "subtitles": ("vtt",)}
#: file name extensions and the type each one declares
EXTENSIONS = {"mp4": "mp4", "m4v": "mp4", "webm": "webm", "pdf": "pdf", "docx": "docx", "pptx": "pptx",
              "xlsx": "xlsx", "vtt": "vtt"}
#: the folder inside an OOXML package that says which kind of document it is
OOXML_FOLDERS = {"docx": "word/", "pptx": "ppt/", "xlsx": "xl/"}
_ZIP_UNDECIDED = "zip"


class Refused(ValueError):
    """The file may not be stored as this part; the message tells the teacher why, in Chinese."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ExecutableRefused(Refused):
    """The bytes are a program or a script."""

    def __init__(self, label: str):
        super().__init__(f"该文件实际是可执行程序（{label}），不能上传。")
        self.label = label


def part_label(kind: str) -> str:
    return PART_KINDS.get(kind, kind)


_SHORT_LABELS = {"mp4": "MP4", "webm": "WebM", "pdf": "PDF", "docx": "DOCX", "pptx": "PPTX", "xlsx": "XLSX",
                 "vtt": "WebVTT（.vtt）"}


def allowed_labels(kind: str) -> str:
    return "、".join(_SHORT_LABELS[name] for name in ALLOWED[kind])


def extension(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def declared_type(kind: str, filename: str) -> str:
    """Return the type the file name declares, refusing names this part does not accept."""
    if kind not in ALLOWED:
        raise Refused(f"不支持的文件类别“{kind}”")
    ext = extension(filename)
    declared = EXTENSIONS.get(ext)
    if declared not in ALLOWED[kind]:
        shown = f"扩展名为 .{ext}" if ext else "没有扩展名"
        raise Refused(f"{part_label(kind)}只接受 {allowed_labels(kind)} 文件，“{filename}”{shown}。")
    return declared


def content_type(type_name: str) -> str:
    return TYPES[type_name][0]


# --- the first look -------------------------------------------------------------------------------------------

_EXECUTABLE_MAGIC = (
    (b"MZ", "Windows EXE/DLL 程序"),
    (b"\x7fELF", "Linux ELF 程序"),
    (b"\xfe\xed\xfa\xce", "macOS Mach-O 程序"),
    (b"\xfe\xed\xfa\xcf", "macOS Mach-O 程序"),
    (b"\xce\xfa\xed\xfe", "macOS Mach-O 程序"),
    (b"\xcf\xfa\xed\xfe", "macOS Mach-O 程序"),
    (b"\xca\xfe\xba\xbe", "macOS Mach-O 程序"),
    (b"#!", "脚本"),
    (b"\xef\xbb\xbf#!", "脚本"),
)
# Formats people often have at hand: name them so the message says what to do instead.
_OTHER_MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "旧版 Office 文件（.doc/.ppt/.xls）", "请在 Office 或 WPS 中另存为 DOCX/PPTX/XLSX 后上传"),
    (b"Rar!\x1a\x07", "RAR 压缩包", "请解压后上传其中的文件"),
    (b"7z\xbc\xaf\x27\x1c", "7z 压缩包", "请解压后上传其中的文件"),
    (b"\x1f\x8b", "gzip 压缩包", "请解压后上传其中的文件"),
    (b"\x89PNG\r\n\x1a\n", "PNG 图片", "请把图片放进文档或课件后上传"),
    (b"\xff\xd8\xff", "JPEG 图片", "请把图片放进文档或课件后上传"),
    (b"GIF8", "GIF 图片", "请把图片放进文档或课件后上传"),
    (b"FLV\x01", "FLV 视频", "请转换为 MP4（H.264/AAC）后上传"),
    (b"\x00\x00\x01\xba", "MPEG 视频", "请转换为 MP4（H.264/AAC）后上传"),
    (b"{\\rtf", "RTF 文档", "请另存为 DOCX 或 PDF 后上传"),
)


def _transport_stream(head: bytes) -> bool:
    return len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47


def sniff(head: bytes) -> str:
    """Return the type of a file from its first bytes; Refused for programs and formats we do not take.

    A ZIP whose first entries do not yet show which office document it is comes
    back as "zip": the deep look after the upload decides.
    """
    if not head:
        raise Refused("文件是空的（0 字节），请选择有内容的文件。")
    for magic, label in _EXECUTABLE_MAGIC:
        if head.startswith(magic):
            raise ExecutableRefused(label)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand == b"qt  ":
            raise Refused("该视频是 QuickTime（MOV）格式，请转换为 MP4（H.264/AAC）后上传。")
        if brand.startswith(b"3g"):
            raise Refused("该视频是 3GP 格式，请转换为 MP4（H.264/AAC）后上传。")
        if brand in (b"heic", b"heix", b"mif1", b"msf1", b"avif"):
            raise Refused("该文件是 HEIC/AVIF 图片，不是视频。")
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        doc_type = head[:64]
        if b"webm" in doc_type:
            return "webm"
        raise Refused("该视频是 MKV（Matroska）格式，请转换为 MP4 或 WebM 后上传。")
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return _zip_type_from_local_headers(head)
    if head.startswith((b"PK\x05\x06", b"PK\x07\x08")):
        raise Refused("该文件是空的或不完整的 ZIP 压缩包，不是 Office 文档。")
    text = head[3:] if head.startswith(codecs.BOM_UTF8) else head
    if text.startswith(b"WEBVTT") and (len(text) == 6 or text[6:7] in (b" ", b"\t", b"\n", b"\r")):
        _require_utf8(head, final=False)
        return "vtt"
    if head.startswith(b"RIFF") and head[8:12] == b"AVI ":
        raise Refused("该视频是 AVI 格式，请转换为 MP4（H.264/AAC）后上传。")
    if head.startswith(b"\x30\x26\xb2\x75\x8e\x66\xcf\x11"):
        raise Refused("该视频是 WMV/ASF 格式，请转换为 MP4（H.264/AAC）后上传。")
    if _transport_stream(head):
        raise Refused("该视频是 MPEG-TS 格式，请转换为 MP4（H.264/AAC）后上传。")
    for magic, label, advice in _OTHER_MAGIC:
        if head.startswith(magic):
            raise Refused(f"该文件是{label}，{advice}。")
    raise Refused("无法识别文件内容，它不是课例允许的格式（MP4、WebM、PDF、DOCX、PPTX、XLSX、WebVTT）。")


def check_head(kind: str, filename: str, head: bytes) -> str:
    """Sniff the first bytes and check them against the part and the declared extension; return the type."""
    declared = declared_type(kind, filename)
    try:
        found = sniff(head)
    except ExecutableRefused as exc:
        raise Refused(f"该文件实际是可执行程序（{exc.label}），不能作为{part_label(kind)}上传。") from None
    if found == _ZIP_UNDECIDED and declared in OOXML_FOLDERS:
        return declared
    _require_match(kind, filename, declared, found)
    return found


def _require_match(kind: str, filename: str, declared: str, found: str) -> None:
    if found == _ZIP_UNDECIDED:
        raise Refused(f"文件内容是 ZIP 压缩包，与扩展名 .{extension(filename)} 不符。")
    if found not in ALLOWED[kind]:
        raise Refused(f"文件内容是{TYPES[found][1]}，{part_label(kind)}只接受 {allowed_labels(kind)} 文件。")
    if found != declared:
        raise Refused(f"文件内容是{TYPES[found][1]}，与扩展名 .{extension(filename)} 不符，"
                      "请确认选择了正确的文件。")


def _require_utf8(data: bytes, final: bool) -> None:
    try:
        codecs.getincrementaldecoder("utf-8")().decode(data, final=final)
    except UnicodeDecodeError:
        raise Refused("字幕文件必须是 UTF-8 编码的 WebVTT，请用 UTF-8 重新保存后上传。") from None


def _zip_type_from_local_headers(head: bytes) -> str:
    """Walk the local file headers in *head* and tell the office type if the entries seen already show it."""
    names = []
    pos = 0
    while head.startswith(b"PK\x03\x04", pos) and pos + 30 <= len(head):
        flags, method, csize = struct.unpack_from("<HH8xI", head, pos + 6)
        name_len, extra_len = struct.unpack_from("<HH", head, pos + 26)
        name = head[pos + 30:pos + 30 + name_len].decode("utf-8", "replace")
        names.append(name)
        if name == "mimetype":
            value = head[pos + 30 + name_len + extra_len:pos + 30 + name_len + extra_len + csize]
            if value.startswith(b"application/vnd.oasis.opendocument"):
                raise Refused("这是 ODF 文档（.odt/.odp/.ods），请另存为 DOCX/PPTX/XLSX 后上传。")
        if flags & 0x08:  # sizes follow the data: the next header cannot be found from here
            break
        pos += 30 + name_len + extra_len + csize
    found = _ooxml_type(names, complete=False)
    return found or _ZIP_UNDECIDED


def _ooxml_type(names: list[str], complete: bool) -> str | None:
    kinds = [kind for kind, folder in OOXML_FOLDERS.items() if any(n.startswith(folder) for n in names)]
    if len(kinds) != 1:
        if complete:
            raise Refused("文件是 ZIP 压缩包，但不是 Word、PowerPoint 或 Excel 文档。")
        return None
    if complete and "[Content_Types].xml" not in names:
        raise Refused(f"文件缺少 Office 文档必需的 [Content_Types].xml，不是有效的 {kinds[0].upper()} 文档。")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Refused("文档包含宏（VBA 代码），出于安全考虑不能上传，请另存为不含宏的 DOCX/PPTX/XLSX。")
    return kinds[0]


# --- the deep look ---------------------------------------------------------------------------------------------

ReadRange = Callable[[int, int], bytes]


def check_object(kind: str, filename: str, size: int, read_range: ReadRange) -> str:
    """Check a stored object's type from its first bytes and, for office files, its ZIP directory; return the type."""
    if size <= 0:
        raise Refused("文件是空的（0 字节），请选择有内容的文件。")
    found = check_head(kind, filename, read_range(0, min(size, HEAD_BYTES)))
    if found in OOXML_FOLDERS:
        names = zip_entry_names(size, read_range)
        actual = _ooxml_type(names, complete=True)
        _require_match(kind, filename, declared_type(kind, filename), actual)
        return actual
    if found == "vtt":
        _require_utf8(read_range(0, size), final=True)  # subtitles are small: read them whole
    return found


def zip_entry_names(size: int, read_range: ReadRange) -> list[str]:
    """Return the entry names in a ZIP's central directory, reading only its tail and its directory."""
    tail_len = min(size, 22 + 65535 + 20)  # end record, longest comment, ZIP64 locator
    tail_start = size - tail_len
    tail = read_range(tail_start, tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        raise Refused("文件不是完整的 ZIP 压缩包（可能上传不完整或已损坏），不是有效的 Office 文档。")
    entries, cd_size, cd_offset = struct.unpack_from("<10xHII", tail, at)
    if 0xFFFFFFFF in (cd_size, cd_offset) or entries == 0xFFFF:
        cd_size, cd_offset = _zip64_directory(tail, at, tail_start, read_range)
    if cd_size > MAX_CENTRAL_DIRECTORY or cd_offset + cd_size > size:
        raise Refused("文件的 ZIP 目录损坏或过大，不是有效的 Office 文档。")
    directory = read_range(cd_offset, cd_size) if cd_size else b""
    names, pos = [], 0
    while directory.startswith(b"PK\x01\x02", pos) and pos + 46 <= len(directory):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", directory, pos + 28)
        raw = directory[pos + 46:pos + 46 + name_len]
        names.append(raw.decode("utf-8", "replace"))
        pos += 46 + name_len + extra_len + comment_len
    if not names:
        raise Refused("文件的 ZIP 目录是空的，不是有效的 Office 文档。")
    return names


def _zip64_directory(tail: bytes, at: int, tail_start: int, read_range: ReadRange) -> tuple[int, int]:
    locator = at - 20
    if locator < 0 or not tail.startswith(b"PK\x06\x07", locator):
        raise Refused("文件的 ZIP 目录损坏，不是有效的 Office 文档。")
    (record_offset,) = struct.unpack_from("<8xQ", tail, locator)
    record = read_range(record_offset, 56)
    if not record.startswith(b"PK\x06\x06") or len(record) < 56:
        raise Refused("文件的 ZIP 目录损坏，不是有效的 Office 文档。")
    cd_size, cd_offset = struct.unpack_from("<40xQQ", record)
    return cd_size, cd_offset
