"""Pseudonymisation at source: what a partner runs before sending a record-level file.

Record-level files must arrive pseudonymised (brief, section 7): each identifier column is
replaced by its keyed HMAC-SHA-256, with the data-sharing agreement's key, read from the
environment only.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import os
import re
from pathlib import Path

from marmot_assets.reading.headers import normalise


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
