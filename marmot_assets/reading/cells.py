"""Text cells to typed values: one set of rules for publishers' and partners' files.

``convert`` types a column and says which cells are present but not of the type (the door
quarantines those rows); ``to_integer`` / ``to_float`` raise at the first such cell naming
its row and column (a publisher's file is all good or refused).
"""

from __future__ import annotations

import re

import pandas as pd

from marmot_assets.reading.errors import SourceFileError

TRUE = {"true", "yes", "y", "1", "t"}
FALSE = {"false", "no", "n", "0", "f"}
# UK senders write day before month; ISO first because it is unambiguous.
DATE_FORMATS = [
    "%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d", "%d %b %Y", "%d %B %Y",
    "%d/%m/%y", "%Y-%m-%dT%H:%M:%S",
]  # fmt: skip
MONTH_FORMATS = ["%Y-%m", "%m/%Y", "%b %Y", "%B %Y", "%b-%y", "%Y%m"]
TYPE_WORDS = {
    "integer": "a whole number",
    "number": "a number",
    "boolean": "yes/no (true/false)",
    "date": "a date (e.g. 2024-03-31 or 31/03/2024)",
    "month": "a month (e.g. 2024-03)",
}


def _parse_dates(text: pd.Series, formats: list[str]) -> pd.Series:
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = result.isna() & (text != "")
        if not todo.any():
            break
        result[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return result


def by_distinct(text: pd.Series, cells):
    """``cells(text)`` for a function of each cell alone (a Series of results, or a tuple of
    them, as long as ``text``), worked out once per distinct cell: a column of 400,000 cells
    holds a few hundred codes, labels or counts. A column of mostly distinct cells, or one
    with missing cells, is worked out as it is; the results are the same either way."""
    if len(text) < 64:
        return cells(text)
    codes, uniques = pd.factorize(text.to_numpy(dtype=object), use_na_sentinel=True)
    if len(uniques) * 2 > len(text) or (codes < 0).any():
        return cells(text)
    results = cells(pd.Series(uniques, dtype=text.dtype, name=text.name))

    def spread(result: pd.Series) -> pd.Series:
        return result.take(codes).set_axis(text.index)

    return tuple(map(spread, results)) if isinstance(results, tuple) else spread(results)


def joined_rows(frame: pd.DataFrame, separator: str = "\x1f") -> pd.Series:
    """Each row's cells as text (a missing cell as ""), joined in column order: a key or a
    fingerprint of the row."""
    columns = [frame[c].astype(str).fillna("") for c in frame.columns]
    if len(columns) == 1:
        return columns[0]
    return columns[0].str.cat(columns[1:], sep=separator)


def convert(kind: str, cells: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(the cells trimmed, their typed values, mask of cells present but not of ``kind``) for
    text cells, each distinct cell trimmed and typed once."""

    def trimmed_and_typed(distinct: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
        text = distinct.str.strip()
        return (text, *_convert(kind, text))

    return by_distinct(cells, trimmed_and_typed)


def _convert(kind: str, text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(typed values, mask of cells present but not of ``kind``) for trimmed text cells."""
    present = text != ""
    if kind in ("string", "text"):
        return text.where(present, None), pd.Series(False, index=text.index)
    if kind in ("integer", "number"):
        # Thousands separators ("11,101", as MHCLG publishes) and a pound sign (money). A
        # comma only in groups of three: "1,5" (a decimal comma, or a slip) is a bad cell,
        # not 15.
        grouped = text.str.fullmatch(r"-?£?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
        cleaned = text.where(~grouped, text.str.replace(",", "", regex=False))
        cleaned = cleaned.str.replace(r"^(-?)£", r"\1", regex=True)
        numbers = pd.to_numeric(cleaned.where(present), errors="coerce")
        bad = present & numbers.isna()
        if kind == "integer":
            bad |= present & numbers.notna() & (numbers % 1 != 0)
            return numbers.where(~bad).astype("Int64"), bad
        return numbers.where(~bad).astype("Float64"), bad
    if kind == "boolean":
        lowered = text.str.lower()
        values = pd.Series(pd.NA, index=text.index, dtype="boolean")
        values[lowered.isin(TRUE)] = True
        values[lowered.isin(FALSE)] = False
        return values, present & values.isna()
    if kind == "date":
        dates = _parse_dates(text, DATE_FORMATS)
        return dates.dt.date.where(dates.notna(), None), present & dates.isna()
    if kind == "month":
        months = _parse_dates(text, MONTH_FORMATS + DATE_FORMATS)
        return months.dt.strftime("%Y-%m").where(months.notna(), None), present & months.isna()
    raise ValueError(kind)


def _bad_cell(source, frame: pd.DataFrame, column: str, mask: pd.Series, what: str):
    position = int(mask.to_numpy(dtype=bool).nonzero()[0][0])
    value = frame[column].iloc[position]
    raise SourceFileError(
        source, f"{value!r} is not {what}", row=int(frame.index[position]), column=column
    )


def _typed(frame: pd.DataFrame, column: str, kind: str, source, required: bool) -> pd.Series:
    text, values, bad = convert(kind, frame[column].astype(str))
    if required and (text == "").any():
        _bad_cell(source, frame, column, text == "", "a value (the cell is empty)")
    if bad.any():
        _bad_cell(source, frame, column, bad, TYPE_WORDS[kind])
    return values


def to_integer(frame: pd.DataFrame, column: str, source) -> pd.Series:
    """Whole numbers; every cell must have one."""
    return _typed(frame, column, "integer", source, required=True)


def to_float(frame: pd.DataFrame, column: str, source) -> pd.Series:
    """Decimal numbers; empty cells become null (Fingertips leaves suppressed cells blank)."""
    return _typed(frame, column, "number", source, required=False)


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
