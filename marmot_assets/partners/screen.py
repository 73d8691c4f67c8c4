"""Personal identifiers: finding them at the door, before anything is landed or loaded.

Record-level files must arrive pseudonymised (brief, section 7). The door refuses a file that
still holds what looks like a valid NHS number, a full postcode, a name or a date of birth,
naming the column but never the value; it screens the free text of every other file, and
the names of files, for the same.

Three modules, because the rules are many: this one walks a file (every sheet, its header,
its rows in chunks) and says where; ``identifier_patterns`` finds identifiers in text (NHS
numbers, postcodes, dates of birth after a cue, street addresses, e-mail addresses, phone
numbers); ``identifier_columns`` tells name and date-of-birth columns by their header's
meaning and their values' shape. Each states its rules at its top.

What is screened:

- ``record_level=True``: every header cell (by meaning; and for identifiers written in it),
  every cell of every column of every sheet (identifiers), every column's values (shaped
  like names, spread like dates of birth), and the notes rows above a worksheet's header.
  Short cells of the 50 rows around the header are read as headers too: a second header
  row, or one pushed below a decoy, still condemns the column under it.
- ``record_level=False``: the free-text columns only (the contract's ``type: text`` columns
  passed in ``free_text``, matched by their words in normal form, and any column whose
  header says notes, comments, remarks, description, details, free text, narrative, story,
  body), for identifiers; and the header cells for identifiers written in them.
- Markdown stories, in either mode: every front-matter field (read as "key: value", so
  "dob: 1990-03-03" has its cue) and the body; a front-matter key that means a name or a
  date of birth and has a value.

Streaming: a CSV is read as a stream and a workbook read-only, ``chunk_rows`` rows at a
time. Each column of a chunk is screened by its distinct values (``pandas.factorize``),
joined into one text so that each pattern runs once, in C, over the chunk; the shape tallies
are counts. Memory is bounded by one chunk, whatever the file's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
from openpyxl.utils import get_column_letter

from marmot_assets.partners.delivery import HEADER_SEARCH_ROWS
from marmot_assets.partners.identifier_columns import (
    DateTally,
    NameTally,
    header_kind,
    header_like,
    is_death_header,
    is_free_text_header,
    is_value,
    looks_like_name,
    month_of,
    screenable,
)
from marmot_assets.partners.identifier_patterns import (
    SEP,
    first_identifier,
    identifier_in_name,
    identifier_in_text,
    nhs_number_valid,
)
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.headers import normalise
from marmot_assets.reading.sheets import open_sheets
from marmot_assets.reading.text import sniff_format

__all__ = [
    "Finding",
    "find_identifiers",
    "identifier_in_name",
    "identifier_in_text",
    "nhs_number_valid",
]


@dataclass(frozen=True)
class Finding:
    """Where an identifier is and what it looks like; never the value."""

    column: str
    row: int | None
    kind: str
    sheet: str | None = None

    def describe(self) -> str:
        where = [f"sheet '{self.sheet}'"] if self.sheet else []
        where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        return f"{', '.join(where)}, holds what looks like {self.kind}"

    def __iter__(self):
        """``column, kind = finding``, as the door unpacked the screen's answer before."""
        return iter((self.column, self.kind))


def find_identifiers(
    path: Path,
    *,
    record_level: bool = True,
    free_text: Collection[str] = (),
    chunk_rows: int = 50_000,
) -> Finding | None:
    """The first thing in the file that looks like a personal identifier, else None.

    ``record_level`` defaults to True, the stricter screen. Unreadable input raises
    ``SourceFileError`` (never the reader's own exception, never a value in its message).
    """
    free = {normalise(name) for name in free_text}
    with _reading(path):
        kind = sniff_format(path)
        sheets = open_sheets(path, kind)
    try:
        while True:
            with _reading(path):
                sheet = next(sheets, None)
            if sheet is None:
                return None
            rows = _Rows(sheet.rows, path)
            if kind == "markdown":
                found = _screen_story(rows)
            else:
                found = _screen_table(sheet.header_first, rows, record_level, free, chunk_rows)
            if found:
                return replace(found, sheet=sheet.title) if sheet.title else found
    finally:
        sheets.close()  # the file, or the workbook, closed now, not when collected


@contextmanager
def _reading(path: Path):
    """Any failure to read is a SourceFileError, its message one line (a YAML error quotes
    the offending line of the front matter, which may hold a value)."""
    try:
        yield
    except SourceFileError as exc:
        first_line = exc.problem.splitlines()[0] if exc.problem else "not readable"
        raise SourceFileError(exc.source, first_line, row=exc.row, column=exc.column) from None
    except Exception as exc:  # csv, codecs, zip, XML and openpyxl raise many kinds
        raise SourceFileError(path, f"not readable ({type(exc).__name__})") from None


class _Rows:
    """A sheet's (row number, cells), taken ``n`` at a time; rows looked at may be put back."""

    def __init__(self, rows: Iterator[tuple[int, list[str]]], path: Path):
        self.rows, self.path, self.back = rows, path, []

    def take(self, n: int) -> list[tuple[int, list[str]]]:
        taken, self.back = self.back[:n], self.back[n:]
        if len(taken) < n:
            with _reading(self.path):
                taken += islice(self.rows, n - len(taken))
        return taken

    def put_back(self, rows: list[tuple[int, list[str]]]) -> None:
        self.back = rows + self.back


def _screen_story(rows: _Rows) -> Finding | None:
    (_, keys), (number, values) = (rows.take(2) + [(0, []), (1, [])])[:2]
    for key, value in zip(keys, values, strict=False):
        if kind := identifier_in_text(value if key == "body" else f"{key}: {value}"):
            return Finding(key, number, kind)
        if (kind := header_kind(key)) and is_value(value):
            return Finding(key, number, kind)
    return None


def _screen_table(header_first, rows: _Rows, record_level, free, chunk_rows) -> Finding | None:
    notes: list[tuple[int, list[str]]] = []
    if header_first:
        if not (first := rows.take(1)):
            return None
        header_row, header = first[0]
    else:  # a worksheet: notes rows may sit above the header
        head = rows.take(HEADER_SEARCH_ROWS)
        at = _header_at(head, free)
        if at is None:
            header_row, header = None, []
            rows.put_back(head)
        else:
            notes, (header_row, header) = head[:at], head[at]
            rows.put_back(head[at + 1 :])
    early = rows.take(HEADER_SEARCH_ROWS)  # a header may hide among the first rows
    rows.put_back(early)
    table = _Table(header, header_row or None, record_level, free, notes + early)
    if found := table.screen_notes(notes) or table.screen_header():
        return found
    if not record_level and not table.free_columns:
        return None
    while batch := rows.take(chunk_rows):
        if found := table.screen_chunk(batch):
            return found
    return None


def _header_at(head: list[tuple[int, list[str]]], free: set[str]) -> int | None:
    """The header of a worksheet: the first row at least half as full as the fullest (notes
    rows above it hold one cell), or a row naming one of the contract's free-text columns."""
    widths = [sum(1 for c in cells if c.strip()) for _, cells in head]
    if not widths or max(widths) < 2:
        return None
    need = max(2, (max(widths) + 1) // 2)
    at = next(k for k, width in enumerate(widths) if width >= need)
    if free and not any(c.strip() and is_free_text_header(c, free) for c in head[at][1]):
        named = (k for k, (_, cells) in enumerate(head) if any(normalise(c) in free for c in cells))
        at = next(named, at)
    return at


class _Table:
    def __init__(self, header: list[str], header_row, record_level: bool, free: set[str], near):
        self.header = [str(h).strip() for h in header]
        self.header_row = header_row
        self.record_level = record_level
        self.free_columns = [
            i for i, h in enumerate(self.header) if h and is_free_text_header(h, free)
        ]
        # Column -> (what its header means, the header's row): values below it condemn it.
        self.by_header = {
            i: (kind, header_row or 0)
            for i, h in enumerate(self.header)
            if record_level and (kind := header_kind(h, self.header))
        }
        for number, cells in near if record_level else []:  # rows above and below the header
            for i, cell in enumerate(cells):
                if i not in self.by_header and header_like(cell) and (kind := header_kind(cell)):
                    self.by_header[i] = (kind, number)
        self.not_births = {i for i, h in enumerate(self.header) if is_death_header(h)}
        self.names: defaultdict[int, NameTally] = defaultdict(NameTally)
        self.dates: defaultdict[int, DateTally] = defaultdict(DateTally)

    def label(self, i: int) -> str:
        return self.header[i] if i < len(self.header) and self.header[i] else _letter(i)

    def screen_notes(self, notes: list[tuple[int, list[str]]]) -> Finding | None:
        for number, cells in notes if self.record_level else []:
            for i, cell in enumerate(cells):
                if cell and (kind := identifier_in_text(cell)):
                    return Finding(_letter(i), number, kind)
        return None

    def screen_header(self) -> Finding | None:
        for i, name in enumerate(self.header):  # named by letter: the name holds the value
            if name and (kind := identifier_in_text(name)):
                return Finding(_letter(i), self.header_row, kind)
        return None

    def screen_chunk(self, batch: list[tuple[int, list[str]]]) -> Finding | None:
        numbers = [number for number, _ in batch]
        if self.record_level:  # every column: transposed at once
            width = max(len(self.header), *(len(cells) for _, cells in batch))
            padded = (c if len(c) == width else c + [""] * (width - len(c)) for _, c in batch)
            table = dict(enumerate(zip(*padded, strict=True)))
        else:
            table = {i: [c[i] if i < len(c) else "" for _, c in batch] for i in self.free_columns}
        found = []
        for i, column in table.items():
            codes, uniques = pd.factorize(np.asarray(column, dtype=object))
            uniques = uniques.tolist()
            kept, texts = screenable(uniques)
            row_of = _first_rows(codes, numbers)
            found += [(row_of(k), i, kind) for k, kind in self._column(i, kept, texts, row_of)]
            if self.record_level and kept:
                counts = np.bincount(codes, minlength=len(uniques)).tolist()
                found += self._shapes(i, [(k, uniques[k], counts[k]) for k in kept], row_of)
        if not found:
            return None
        row, i, kind = min(found)
        return Finding(self.label(i), row, kind)

    def _column(self, i: int, kept: list[int], texts: list[str], row_of) -> list[tuple[int, str]]:
        """Identifiers in the values; any value under a header meaning a name or a DOB."""
        found = []
        text = SEP.join(texts)
        if hit := first_identifier(text, masked=True):
            found.append((kept[text.count(SEP, 0, hit[0])], hit[1]))
        if i in self.by_header:
            kind, header_row = self.by_header[i]
            if (below := next((k for k in kept if row_of(k) > header_row), None)) is not None:
                found.append((below, kind))
        return found

    def _shapes(self, i: int, values: list[tuple[int, str, int]], row_of):
        names, dates = self.names[i], self.dates[i]
        births = i not in self.not_births
        for k, value, count in values:
            names.values += count
            if value[:1].isupper() and looks_like_name(value):
                names.names += count
                names.first_row = names.first_row or row_of(k)
            if births:
                month = month_of(value) if value[:1].isdigit() else None
                dates.add(month, count)
                if month is not None:
                    dates.first_row = dates.first_row or row_of(k)
        if names.verdict():
            yield names.first_row, i, "a name"
        if births and dates.verdict():
            yield dates.first_row, i, "a date of birth"


def _first_rows(codes: np.ndarray, numbers: list[int]):
    """The row number of the first occurrence of each distinct value, found when asked."""
    first: list[int] = []

    def row_of(k: int) -> int:
        if not first:
            first.extend(np.unique(codes, return_index=True)[1].tolist())
        return numbers[first[k]]

    return row_of


def _letter(i: int) -> str:
    return get_column_letter(i + 1)
