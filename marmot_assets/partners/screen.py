"""Personal identifiers: finding them at the door, before anything is landed or loaded.

Record-level files must arrive pseudonymised (brief, section 7). The door refuses a file that
still holds what looks like a valid NHS number (10 digits passing the modulus-11 check), a
full postcode, a name or a date of birth, naming the column but never the value.
"""

from __future__ import annotations

import re
from itertools import islice
from pathlib import Path

import pandas as pd

from marmot_assets.partners.delivery import HEADER_SEARCH_ROWS
from marmot_assets.reading.headers import normalise
from marmot_assets.reading.sheets import open_sheets

# Ten digits standing alone (optionally 3-3-4 spaced): not a run inside a longer token, so a
# hex HMAC key that happens to hold ten digits in a row is not mistaken for an NHS number.
NHS_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![0-9A-Za-z])")
# A full UK postcode: outward code, space optional, inward code (digit + two letters).
POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRVWXY\d]?)"
    r" ?\d[ABD-HJLNP-UW-Z]{2})\b",
    re.IGNORECASE,
)
NAME_HEADERS = {
    "name",
    "forename",
    "forenames",
    "first name",
    "firstname",
    "given name",
    "surname",
    "last name",
    "lastname",
    "family name",
    "full name",
    "fullname",
    "patient name",
    "client name",
    "child name",
    "pupil name",
    "middle name",
}
BIRTH_HEADERS = re.compile(r"\b(dob|date of birth|birth ?date|d o b|birthday)\b")


def nhs_number_valid(digits: str) -> bool:
    """Modulus 11: weights 10..2 on the first nine digits; check digit 11 - (sum mod 11)."""
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


def identifier_kind_of_header(header: str) -> str | None:
    words = normalise(header)
    if (
        words in NAME_HEADERS
        or words.endswith(" name")
        and words.split()[0]
        in ("patient", "client", "child", "pupil", "parent", "mother", "father", "person")
    ):
        return "a name"
    if BIRTH_HEADERS.search(words):
        return "a date of birth"
    return None


def identifier_kind_of_values(values: pd.Series) -> str | None:
    text = values.dropna().astype(str)
    if text.empty:
        return None
    for match in text.str.extractall(NHS_NUMBER).itertuples(index=False):
        if nhs_number_valid("".join(match)):
            return "an NHS number"
    if text.str.contains(POSTCODE).any():
        return "a full postcode"
    return None


def screen(header_names: list[str], chunk: pd.DataFrame) -> tuple[str, str] | None:
    """The first (column, kind) that looks like a personal identifier, else None.

    ``chunk`` holds every column of the file, not only the contract's: an identifier in a
    column nobody asked for is still an identifier.
    """
    for name in header_names:
        if kind := identifier_kind_of_header(name):
            return name, kind
    for name in chunk.columns:
        if kind := identifier_kind_of_values(chunk[name]):
            return str(name), kind
    return None


def _labels(header: list[str], width: int, sheet) -> list[str]:
    """Column labels for messages: the header's name, else the sheet's column letter."""
    from openpyxl.utils import get_column_letter

    labels = []
    for i in range(width):
        name = header[i].strip() if i < len(header) else ""
        prefix = f"{sheet.title}!" if sheet.title else ""
        labels.append(name or f"{prefix}{get_column_letter(i + 1)}")
    return labels


def find_identifiers(path: Path, chunk_rows: int = 50_000) -> tuple[str, str] | None:
    """(column, kind) of the first thing in the file that looks like a personal identifier,
    in any column and any sheet, header or value; None when nothing does."""
    for sheet in open_sheets(path):
        rows = list(islice(sheet.rows, HEADER_SEARCH_ROWS)) if not sheet.header_first else []
        if sheet.header_first:
            first = next(sheet.rows, None)
            header = first[1] if first else []
            names = [h for h in header if h.strip()]
        else:
            # A worksheet's header may sit below notes rows: every short cell may be a header.
            header = []
            names = sorted({c for _, r in rows for c in r if c and len(c) < 40})
        if found := screen(names, pd.DataFrame()):
            return found
        batch = [r for _, r in rows]
        for _, record in sheet.rows:
            batch.append(record)
            if len(batch) >= chunk_rows:
                if found := _screen_rows(batch, header, sheet):
                    return found
                batch = []
        if found := _screen_rows(batch, header, sheet):
            return found
    return None


def _screen_rows(batch: list[list[str]], header: list[str], sheet) -> tuple[str, str] | None:
    if not batch:
        return None
    width = max(max(len(r) for r in batch), len(header))
    frame = pd.DataFrame(
        [r + [""] * (width - len(r)) for r in batch], columns=range(width), dtype=object
    )
    frame.columns = _labels(header, width, sheet)
    return screen([], frame.loc[:, ~frame.columns.duplicated()])
