"""Any received file as sheets of numbered rows of text cells, whatever its format.

CSV is one sheet read as a stream (a 200 MB file never sits in memory whole); a workbook is
one sheet per worksheet, every worksheet, read-only; JSON is a list of records (or
``{"data": [...]}``) under the union of their keys; Markdown is a story: its YAML front
matter and its body, one row. Rows are numbered as the sender sees them (CSV: records, the
header being row 1; workbooks: the sheet's own row numbers; JSON: record 1, 2, ...); blank
rows are skipped but keep their numbers. What is not one of these is refused by name.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from marmot_assets.reading.delimited import records
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.text import detect_encoding, ends_with_newline, sniff_format

REFUSED_FORMATS = {
    "zip": "a ZIP archive, not a single file: unpack it and send the file inside",
    "pdf": "a PDF document, not a data file: send the data as CSV or Excel",
    "binary": "not a text file (binary content)",
}


@dataclass
class Sheet:
    """``rows``: (row number, cells) of non-blank rows. ``header_first``: the first row is
    the header (CSV, JSON, Markdown); a worksheet may have notes rows above its header."""

    title: str | None
    rows: Iterator[tuple[int, list[str]]]
    header_first: bool = True
    # CSV only: whether the last byte ends a line (a cut-off file often does not).
    ends_with_newline: bool | None = None

    def where(self, source) -> str:
        return f"{source} (sheet '{self.title}')" if self.title else str(source)


def cell_text(value) -> str:
    """A workbook or JSON value as the text a person would type: whole numbers without
    '.0' (an NHS number stored as a number is still ten digits), dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def open_sheets(path: Path, kind: str | None = None) -> Iterator[Sheet]:
    kind = kind or sniff_format(path)
    if kind in REFUSED_FORMATS:
        raise SourceFileError(path, REFUSED_FORMATS[kind])
    readers = {"csv": _csv, "xlsx": _workbook, "json": _json, "markdown": _markdown}
    yield from readers[kind](path)


def _csv(path: Path) -> Iterator[Sheet]:
    encoding = detect_encoding(path)
    with path.open(newline="", encoding=encoding) as f:
        yield Sheet(None, records(f, path), ends_with_newline=ends_with_newline(path, encoding))


def _workbook(path: Path) -> Iterator[Sheet]:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SourceFileError(path, f"not a readable Excel workbook: {exc}") from None
    try:
        for sheet in book.worksheets:
            yield Sheet(sheet.title, _sheet_rows(sheet), header_first=False)
    finally:
        book.close()


def _sheet_rows(sheet) -> Iterator[tuple[int, list[str]]]:
    for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [cell_text(v) for v in values]
        if any(cells):
            yield number, cells


def _json(path: Path) -> Iterator[Sheet]:
    try:
        payload = json.loads(path.read_bytes().decode(detect_encoding(path)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceFileError(path, f"not valid JSON: {exc}") from None
    items = payload
    if isinstance(payload, dict):
        items = next((payload[k] for k in ("data", "records", "rows") if k in payload), None)
    if not isinstance(items, list) or not all(isinstance(r, dict) for r in items):
        raise SourceFileError(path, "JSON must be a list of records (or {'data': [...]})")
    header = list(dict.fromkeys(k for r in items for k in r))
    rows = [(0, header)] + [
        (n, [cell_text(r.get(h)) for h in header]) for n, r in enumerate(items, start=1)
    ]
    yield Sheet(None, iter(rows))


def _markdown(path: Path) -> Iterator[Sheet]:
    """A story: YAML front matter between '---' lines, then the Markdown body."""
    text = path.read_bytes().decode(detect_encoding(path))
    parts = text.split("---", 2) if text.lstrip().startswith("---") else None
    if not parts or len(parts) < 3:
        raise SourceFileError(path, "no front matter (a '---' block at the top)", row=1)
    try:
        front = yaml.safe_load(parts[1]) or {}
    except yaml.YAMLError as exc:
        # YAML's message quotes the offending text, which may be personal: say where only.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1} of the file)" if mark is not None else ""
        raise SourceFileError(path, f"front matter is not valid YAML{where}", row=1) from None
    if not isinstance(front, dict):
        raise SourceFileError(path, "front matter must be a mapping of fields", row=1)
    fields = {
        str(k): ("|".join(map(str, v)) if isinstance(v, list) else cell_text(v))
        for k, v in front.items()
    }
    fields["body"] = parts[2].strip()
    yield Sheet(None, iter([(0, list(fields)), (1, list(fields.values()))]))
