"""A delivery read against its contract: chunks of the contract's columns, as text.

Every chunk is a ``pandas.DataFrame`` of strings ('' for empty) indexed by the row number
the partner sees, holding the contract's columns found by any of their spellings, plus
``_width`` (the record's field count, so the validator can quarantine a row with too few or
too many fields). Structural problems (not the accepted format, a missing column, a file cut
off in the middle of a row) raise ``SourceFileError``.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice
from pathlib import Path

import pandas as pd

from marmot_assets.partners.contract import Contract
from marmot_assets.reading.delimited import check_header
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.headers import match_by_spelling
from marmot_assets.reading.sheets import REFUSED_FORMATS, Sheet, open_sheets
from marmot_assets.reading.text import sniff_format

CHUNK_ROWS = 20_000  # rows per chunk: bounded memory for a 200 MB delivery
HEADER_SEARCH_ROWS = 50  # workbooks: notes rows partners put above the header


def _frame(
    rows: list[tuple[int, list[str]]],
    mapping: dict[str, int],
    contract: Contract,
    width: int | None,
) -> pd.DataFrame:
    """``width`` None: rows may be any width (a worksheet's rows run to its widest column)."""
    data = {
        c.name: [
            r[mapping[c.name]] if c.name in mapping and mapping[c.name] < len(r) else ""
            for _, r in rows
        ]
        for c in contract.columns
    }
    frame = pd.DataFrame(data, index=pd.Index([n for n, _ in rows], name="row"), dtype=object)
    frame["_width"] = [len(r) for _, r in rows]
    frame.attrs["expected_width"] = width
    return frame


def _find_header(sheet: Sheet, contract: Contract, path: Path):
    """(header row number, mapping, width, the rows after it) of the first row that fits."""
    source = sheet.where(path)
    if sheet.header_first:
        first = next(sheet.rows, None)
        if first is None:
            raise SourceFileError(path, "the file is empty")
        number, header = first
        header = check_header(header, source)
        mapping = match_by_spelling(
            header, contract.wanted(), source,
            reject_extra=contract.extra_columns == "reject", row=max(number, 1),
        )  # fmt: skip
        return mapping, len(header), sheet.rows
    problems = []
    for number, header in islice(sheet.rows, HEADER_SEARCH_ROWS):
        try:
            mapping = match_by_spelling(
                header, contract.wanted(), source,
                reject_extra=contract.extra_columns == "reject", row=number,
            )  # fmt: skip
        except SourceFileError as exc:
            problems.append(exc)
            continue
        return mapping, None, sheet.rows
    raise _no_header(problems)


def _no_header(problems: list[SourceFileError]) -> SourceFileError:
    best = min(problems, key=lambda e: len(str(e)), default=None)
    return best or SourceFileError("", "no header row")


def read_delivery(
    path: Path, contract: Contract, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    kind = sniff_format(path)
    if kind in REFUSED_FORMATS:
        raise SourceFileError(path, REFUSED_FORMATS[kind])
    if kind not in contract.formats:
        raise SourceFileError(
            path, f"is {kind.upper()}, but {contract.name} accepts {', '.join(contract.formats)}"
        )
    problems = []
    for sheet in open_sheets(path, kind):
        try:
            mapping, width, rows = _find_header(sheet, contract, path)
        except SourceFileError as exc:
            if sheet.header_first:
                raise
            problems.append(exc)
            continue
        yield from _chunks(rows, mapping, contract, width, chunk_rows, sheet, path)
        return
    best = _no_header(problems)
    raise SourceFileError(
        path,
        "no sheet has a header row with the contract's columns "
        f"({[c.name for c in contract.columns if c.required]}); closest: {best.problem}",
        column=best.column,
    )


def _chunks(rows, mapping, contract, width, chunk_rows, sheet: Sheet, path) -> Iterator:
    """Chunks of ``chunk_rows``; the newest record is held back one step, because only at
    the end is it known whether it is a whole row or a file cut off in the middle of one."""
    batch: list[tuple[int, list[str]]] = []
    pending = None
    yielded = False
    for number, record in rows:
        if pending is not None:
            batch.append(pending)
        pending = (number, record)
        if len(batch) >= chunk_rows:
            yield _frame(batch, mapping, contract, width)
            batch, yielded = [], True
    if pending is not None:
        if sheet.ends_with_newline is False and width and len(pending[1]) < width:
            raise SourceFileError(
                path, "the file ends in the middle of a row (truncated)", row=pending[0]
            )
        batch.append(pending)
    if batch or not yielded:
        yield _frame(batch, mapping, contract, width)
