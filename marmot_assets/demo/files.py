"""Writing demo files the way their senders' software writes them, byte-stable.

Shared by the publishers' and the partners' demo writers: a CSV with the sender's encoding
(``utf-8-sig`` where Excel adds a byte order mark, ``cp1252`` for Excel on Windows) and line
ends, and an Excel workbook whose document and zip entry times are fixed, so the same seed
gives the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path


def write_csv(
    path: Path,
    header: Sequence,
    rows: Iterable[Sequence],
    *,
    encoding: str = "utf-8",
    line_end: str = "\r\n",
    quoting: int = csv.QUOTE_MINIMAL,
) -> Path:
    """Write a header and rows to path (creating its folder); return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding=encoding, newline="") as f:
        out = csv.writer(f, lineterminator=line_end, quoting=quoting)
        out.writerow(header)
        out.writerows(rows)
    return path


def workbook_bytes(book, when: dt.datetime, *, entry_mode: int = 0) -> bytes:
    """An openpyxl workbook as .xlsx bytes stamped ``when`` throughout.

    openpyxl stamps "now" into docProps/core.xml (``Workbook.save`` overwrites ``modified``, so
    ExcelWriter is used) and zipfile stamps the clock or a temporary file's mtime on every entry,
    so the archive is written again with every entry at ``when`` and with the Unix permission
    bits ``entry_mode`` (0: none recorded).
    """
    from openpyxl.writer.excel import ExcelWriter

    book.properties.created = book.properties.modified = when
    raw = io.BytesIO()
    ExcelWriter(book, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED)).save()  # closes the zip
    stable = io.BytesIO()
    with zipfile.ZipFile(raw) as source, zipfile.ZipFile(stable, "w") as target:
        for item in source.infolist():
            entry = zipfile.ZipInfo(item.filename, date_time=when.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = entry_mode << 16
            target.writestr(entry, source.read(item.filename))
    return stable.getvalue()
