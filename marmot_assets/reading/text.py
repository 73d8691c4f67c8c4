"""What a file is and how its text is encoded, decided from its bytes, never from its name.

A partner's ``report.csv`` may be a workbook, a ZIP archive, UTF-16 text saved by Excel, or
not text at all; each is named as what it is, so the message helps the person who sent it.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

from marmot_assets.reading.errors import SourceFileError

BLOCK = 1 << 20
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def sniff_format(path: Path) -> str:
    """One of csv, xlsx, zip, json, markdown, pdf, binary: from the first bytes."""
    with path.open("rb") as f:
        head = f.read(4096)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx" if _is_workbook(path) else "zip"
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(UTF16_BOMS):
        head = head.decode("utf-16", errors="ignore").encode("utf-8")
    elif b"\x00" in head:
        return "binary"
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if text.startswith(b"---"):
        return "markdown"
    return "csv"


def _is_workbook(path: Path) -> bool:
    """A ZIP holding a workbook; a damaged one counts as a workbook, so the workbook reader
    says it cannot be read (a partner's "xlsx" cut short in transfer)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return True


def detect_encoding(path: Path) -> str:
    """UTF-16 (by its byte-order mark), UTF-8 (with or without BOM) if every byte decodes,
    else Windows-1252 (what older Excel writes), else refuse."""
    with path.open("rb") as f:
        first = f.read(BLOCK)
        if not first.strip():
            raise SourceFileError(path, "the file is empty")
        if first.startswith(UTF16_BOMS):
            return "utf-16"
        if b"\x00" in first[:8192]:
            raise SourceFileError(path, "not a text file (binary content)")
        decoder = codecs.getincrementaldecoder("utf-8")()
        block = first
        try:
            while block:
                decoder.decode(block)
                block = f.read(BLOCK)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        with path.open(encoding="cp1252") as f:
            while f.read(BLOCK):
                pass
    except UnicodeDecodeError:
        raise SourceFileError(path, "text is neither UTF-8 nor Windows-1252") from None
    return "cp1252"


def read_text(path: Path) -> str:
    """A whole text file, decoded as ``detect_encoding`` decides (publishers' files are small
    enough to hold: the England IMD file is 32,844 rows)."""
    return path.read_bytes().decode(detect_encoding(path))


def ends_with_newline(path: Path, encoding: str = "utf-8") -> bool:
    """Whether the file's last character ends a line (a cut-off transfer often does not)."""
    width = 2 if encoding.startswith("utf-16") else 1
    with path.open("rb") as f:
        f.seek(0, 2)
        if f.tell() < width:
            return False
        f.seek(-width, 2)
        return f.read(width).strip(b"\x00") in (b"\n", b"\r")
