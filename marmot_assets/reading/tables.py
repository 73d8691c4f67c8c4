"""Reading delimited text strictly: every value typed, every failure located.

Publishers' files are small enough to read whole (the England IMD file is 32,844 rows), so
parsers read all cells as text with pandas and convert column by column here, which lets an
error name the exact row and column instead of pandas' generic message.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from marmot_assets.reading.errors import SourceFileError

HEADER_ROW = 1  # rows are numbered as a person sees them: the header is row 1


def read_text(path: Path) -> str:
    """Decode a publisher file: UTF-8 with or without a byte-order mark."""
    raw = path.read_bytes()
    if not raw.strip():
        raise SourceFileError(path, "the file is empty")
    if b"\x00" in raw[:4096]:
        raise SourceFileError(path, "not a text file (binary content)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SourceFileError(
            path, f"not valid UTF-8 text (byte 0x{raw[exc.start]:02x})", row=line
        ) from None


def read_csv_text(text: str, source: str | Path, optional_trailing: int = 0) -> pd.DataFrame:
    """Parse CSV text into a frame of strings ('' for empty cells), checking row widths.

    The csv module handles quoted newlines inside fields (Fingertips indicator names carry
    them); ``row`` in errors is the record number, the header being 1. Up to
    ``optional_trailing`` empty trailing fields may be left off a row: Fingertips writes its
    data rows one field shorter than its header.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise SourceFileError(source, f"not parseable as CSV: {exc}", row=reader.line_num) from None
    # Blank lines are skipped but keep their place in the numbering, so a row number in an
    # error is the one the partner sees in a spreadsheet.
    numbered = [(n, r) for n, r in enumerate(records, start=1) if any(c.strip() for c in r)]
    if not numbered:
        raise SourceFileError(source, "the file is empty")
    header_number, header = numbered[0]
    header = [h.strip() for h in header]
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        raise SourceFileError(source, f"duplicate column names {dupes}", row=header_number)
    for number, record in numbered[1:]:
        if len(header) - optional_trailing <= len(record) < len(header):
            record.extend([""] * (len(header) - len(record)))
        if len(record) != len(header):
            raise SourceFileError(
                source,
                f"has {len(record)} fields where the header has {len(header)}"
                " (a truncated or malformed row)",
                row=number,
            )
    return pd.DataFrame(
        [r for _, r in numbered[1:]],
        columns=header,
        index=pd.Index([n for n, _ in numbered[1:]], name="row"),
        dtype=object,
    )


def normalise_header(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def match_columns(
    frame: pd.DataFrame,
    wanted: Mapping[str, Callable[[str], bool]],
    source: str | Path,
    optional: Sequence[str] = (),
) -> dict[str, str]:
    """Map canonical names to the file's headers by meaning (a predicate on the header).

    Raises naming the missing meaning and the headers present, so a partner sees at once
    which column was renamed or dropped.
    """
    found: dict[str, str] = {}
    for canonical, predicate in wanted.items():
        matches = [h for h in frame.columns if predicate(normalise_header(h))]
        if len(matches) > 1:
            raise SourceFileError(
                source,
                f"more than one column could be '{canonical}': {matches}",
                row=HEADER_ROW,
            )
        if matches:
            found[canonical] = matches[0]
        elif canonical not in optional:
            raise SourceFileError(
                source,
                f"missing column for '{canonical}'; the header has {list(frame.columns)}",
                row=HEADER_ROW,
                column=canonical,
            )
    return found


def _bad_cell(source, frame: pd.DataFrame, column: str, mask: pd.Series, what: str):
    position = int(mask.to_numpy().nonzero()[0][0])
    value = frame[column].iloc[position]
    raise SourceFileError(
        source, f"{value!r} is not {what}", row=int(frame.index[position]), column=column
    )


def to_integer(frame: pd.DataFrame, column: str, source, *, required: bool = True) -> pd.Series:
    """Whole numbers, accepting thousands separators ("11,101") as MHCLG publishes them."""
    text = frame[column].astype(str).str.strip().str.replace(",", "", regex=False)
    empty = text == ""
    if required and empty.any():
        _bad_cell(source, frame, column, empty, "a value (the cell is empty)")
    numbers = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = numbers.isna() & ~empty
    whole = numbers.dropna() % 1 == 0
    if bad.any():
        _bad_cell(source, frame, column, bad, "a whole number")
    if not whole.all():
        _bad_cell(source, frame, column, (numbers % 1 != 0) & numbers.notna(), "a whole number")
    return numbers.astype("Int64")


def to_float(frame: pd.DataFrame, column: str, source) -> pd.Series:
    """Decimal numbers; empty cells become null (Fingertips leaves suppressed cells blank)."""
    text = frame[column].astype(str).str.strip().str.replace(",", "", regex=False)
    empty = text == ""
    numbers = pd.to_numeric(text.where(~empty), errors="coerce")
    bad = numbers.isna() & ~empty
    if bad.any():
        _bad_cell(source, frame, column, bad, "a number")
    return numbers.astype("Float64")


def to_text(frame: pd.DataFrame, column: str) -> pd.Series:
    """Trimmed text with embedded newlines folded to spaces; empty cells become null."""
    text = frame[column].astype(str).str.replace(r"\s*[\r\n]+\s*", " ", regex=True).str.strip()
    return text.where(text != "", None).astype(object)


def check_pattern(series: pd.Series, column: str, pattern: str, what: str, source) -> None:
    """Every non-null value must match ``pattern`` (for example an ONS code)."""
    compiled = re.compile(pattern)
    bad = series.notna() & ~series.fillna("").astype(str).map(lambda v: bool(compiled.fullmatch(v)))
    if bad.any():
        _bad_cell(source, series.to_frame(column), column, bad, what)
