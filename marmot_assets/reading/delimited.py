"""CSV: records with the row numbers a person sees, and errors that say what went wrong.

One reader for every CSV the platform takes, whole (publishers' files) or streamed (a 200 MB
partner delivery). Rows are numbered as a spreadsheet shows them: the header is row 1, and a
blank line keeps its place in the numbering though it yields no record.
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
from collections.abc import Iterable, Iterator

import pandas as pd

from marmot_assets.reading.errors import SourceFileError

# Python's csv module refuses fields over 131,072 characters with a bare error; a stray quote
# can turn the rest of a file into one field. Allow long free text, refuse beyond with words.
MAX_FIELD_CHARS = 1_000_000
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def _problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field larger than field limit" in text:
        return (
            f"a field is longer than {MAX_FIELD_CHARS:,} characters (often a quote that is "
            "never closed, which makes the rest of the file one field)"
        )
    if "NUL" in text:
        return "the text holds NUL bytes (not a plain text file)"
    return f"not parseable as CSV: {text}"


@contextlib.contextmanager
def gc_paused():
    """Python's cycle collector held off while a whole file becomes a list per record: it
    would otherwise walk every record read so far, again and again (the ONS population file,
    386,000 records: 1.2 s to read with it, 0.3 s without). Records hold only strings, so
    there are no cycles for it to find; it runs again as before once the file is read."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def records(lines: Iterable[str], source) -> Iterator[tuple[int, list[str]]]:
    """(row number, fields) of every non-blank record; quoted newlines stay in their field."""
    previous = csv.field_size_limit(MAX_FIELD_CHARS)
    reader = csv.reader(lines)
    number = 0
    try:
        for number, record in enumerate(reader, 1):  # noqa: B007 (the last number is kept)
            # a cell that is not blank: the first, as a rule, else all of them in one C call
            if (record and record[0].strip()) or "".join(record).strip():
                yield number, record
    except csv.Error as exc:
        raise SourceFileError(source, _problem(exc), row=number + 1) from None
    finally:
        csv.field_size_limit(previous)


def check_header(header: list[str], source) -> list[str]:
    """Trimmed header names; refuses duplicates and a file split by another delimiter."""
    header = [h.strip() for h in header]
    if len(header) == 1:
        for delimiter, words in OTHER_DELIMITERS.items():
            if header[0].count(delimiter) >= 1:
                raise SourceFileError(
                    source,
                    f"the columns are separated by {words}, not commas: save the file as "
                    "CSV (comma delimited)",
                    row=1,
                )
    named = [h for h in header if h]
    if len(set(named)) != len(named):
        dupes = sorted({h for h in named if named.count(h) > 1})
        raise SourceFileError(source, f"duplicate column names {dupes}", row=1)
    return header


def read_csv_text(text: str, source, optional_trailing: int = 0) -> pd.DataFrame:
    """CSV text as a frame of strings ('' for empty cells) indexed by row number, every row
    checked to be as wide as the header.

    Up to ``optional_trailing`` empty trailing fields may be left off a row: Fingertips
    writes its data rows one field shorter than its header.
    """
    with gc_paused():
        numbered = list(records(io.StringIO(text, newline=""), source))
    if not numbered:
        raise SourceFileError(source, "the file is empty")
    header = check_header(numbered[0][1], source)
    width = len(header)
    for number, record in numbered[1:]:
        if width - optional_trailing <= len(record) < width:
            record.extend([""] * (width - len(record)))
        if len(record) != width:
            raise SourceFileError(
                source,
                f"has {len(record)} fields where the header has {width}"
                " (a truncated or malformed row)",
                row=number,
            )
    return pd.DataFrame(
        [r for _, r in numbered[1:]],
        columns=header,
        index=pd.Index([n for n, _ in numbered[1:]], name="row"),
        dtype=object,
    )
