"""Personal identifiers: finding them at the door, and the partner-side pseudonymiser.

Record-level files must arrive pseudonymised (brief, section 7). The door refuses a file that
still holds what looks like a valid NHS number (10 digits passing the modulus-11 check), a
full postcode, a name or a date of birth, naming the column but never the value.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import re
from pathlib import Path

import pandas as pd

from marmot_assets.partners.contract import normalise

# Ten digits standing alone (optionally 3-3-4 spaced): not a run inside a longer token, so a
# hex HMAC key that happens to hold ten digits in a row is not mistaken for an NHS number.
NHS_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{3})[ -]?(\d{3})[ -]?(\d{4})(?![0-9A-Za-z])")
# A full UK postcode: outward code, space optional, inward code (digit + two letters).
POSTCODE = re.compile(
    r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:\d[A-HJKPSTUW\d]?|[A-HK-Y]\d[ABEHMNPRVWXY\d]?) ?\d[ABD-HJLNP-UW-Z]{2})\b",
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


def pseudonymise_value(value: str, key: bytes) -> str:
    """Keyed HMAC-SHA-256: stable for one key, irreversible without it (unlike a plain hash
    of a 10-digit NHS number, which a brute force reverses in seconds)."""
    if value == "":
        return ""
    normalised = re.sub(r"\s+", "", value).upper()
    return hmac.new(key, normalised.encode("utf-8"), hashlib.sha256).hexdigest()


def key_from_environment(variable: str) -> bytes:
    key = os.environ.get(variable, "")
    if len(key) < 32:
        raise SystemExit(
            f"set {variable} to the data-sharing agreement's secret key (32 characters or "
            "more); it is read from the environment only, never from a file in the repo"
        )
    return key.encode("utf-8")


def pseudonymise_csv(source: Path, target: Path, columns: list[str], key: bytes) -> int:
    """Replace the named identifier columns of a CSV with their keyed HMAC; rows written."""
    with source.open(newline="", encoding="utf-8-sig") as fin:
        reader = csv.reader(fin)
        header = next(reader)
        wanted = {normalise(c) for c in columns}
        positions = [i for i, h in enumerate(header) if normalise(h) in wanted]
        found = {normalise(header[i]) for i in positions}
        if missing := wanted - found:
            raise SystemExit(f"{source}: no column(s) {sorted(missing)}; header is {header}")
        count = 0
        with target.open("w", newline="", encoding="utf-8") as fout:
            writer = csv.writer(fout, lineterminator="\n")
            writer.writerow(header)
            for record in reader:
                for i in positions:
                    if i < len(record):
                        record[i] = pseudonymise_value(record[i], key)
                writer.writerow(record)
                count += 1
    return count
