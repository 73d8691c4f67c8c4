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
    if len(text) >= FAST_FROM_CHARS:
        fast = _read_whole_by_pandas(text, optional_trailing)
        if fast is not None:
            return fast
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


# A whole file this long is read by pandas' C parser first (_read_whole_by_pandas): the ONS
# population file (15 MB, 386,000 records) in ~0.2 s instead of ~0.8-1.2 s.
FAST_FROM_CHARS = 1_000_000


def _read_whole_by_pandas(text: str, optional_trailing: int) -> pd.DataFrame | None:
    """What ``read_csv_text`` returns, read by pandas' C parser, or None whenever that
    might not be exactly what the records above give (they then decide, and word any error).

    Both parsers read RFC 4180 alike (quotes, doubled quotes, quoted commas and newlines,
    and the same lenience for a stray quote: tests/test_reading.py compares them on many
    thousands of hostile texts). Where they differ, this declines: text with NUL or carriage
    returns, a parse pandas refuses (a record longer than the first, a quote never closed),
    a first record that is blank, a field over MAX_FIELD_CHARS, and any record that the
    records above would skip or refuse. pandas pads a short record with '' where they refuse
    it (or skip it, when blank), so a record is taken only when its field at the last
    position a record may not leave off is not blank: a record short of it, a blank or
    whitespace-only record all have it blank. Then the records are the file's records one
    for one, numbered as they are (the header row 1)."""
    if "\x00" in text or "\r" in text:
        return None
    try:
        table = pd.read_csv(
            io.StringIO(text), header=None, dtype=object, na_filter=False,
            keep_default_na=False, skip_blank_lines=False, engine="c",
        )  # fmt: skip
    except Exception:  # noqa: BLE001 (the records above read it, and say what is wrong)
        return None
    width = table.shape[1]
    if len(table) < 2 or width - 1 - optional_trailing < 0:
        return None
    first = [str(cell) for cell in table.iloc[0]]
    if not "".join(first).strip():
        return None
    needed = table.iloc[1:, width - 1 - optional_trailing]
    if (pd.Series(needed.unique()).str.strip() == "").any():
        return None
    if len(text) > MAX_FIELD_CHARS and any(
        max(map(len, table[c].to_numpy())) > MAX_FIELD_CHARS for c in table.columns
    ):
        return None
    try:
        header = check_header(first, None)
    except SourceFileError:
        return None  # worded by the records' reading, with the file's name
    data = table.iloc[1:]
    data.columns = header
    data.index = pd.RangeIndex(2, len(table) + 1, name="row")
    return data
