"""Row-level checks of a delivery against its contract.

Each chunk of text cells comes out as typed accepted rows plus quarantine entries (row,
column, reason). A row with any problem is quarantined whole, with every problem listed, so
a partner can fix them all at once; the rest of the file still loads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

import pandas as pd

from marmot_assets.partners.contract import PATTERNS, Contract
from marmot_assets.partners.lsoa_conversion import LsoaConversion
from marmot_assets.reading.cells import TYPE_WORDS, by_distinct, convert, joined_rows


@dataclass
class PlaceCodes:
    """Codes that belong to the place, from the loaded geography (empty: patterns only)."""

    name: str
    local_authority: set[str] = field(default_factory=set)
    ward: set[str] = field(default_factory=set)
    lsoa: set[str] = field(default_factory=set)
    lists: dict[str, list[str]] = field(default_factory=dict)  # e.g. family_hubs
    # The census year of the place's LSOAs (2011 or 2021; None: not known) and, on LSOA 2021,
    # the conversion of LSOA 2011 codes (from raw.ons_lsoa11_lsoa21_lookup, once loaded).
    lsoa_year: int | None = None
    conversion: LsoaConversion | None = None

    @property
    def lsoa11(self) -> set[str]:
        """LSOA 2011 codes the door converts to the place's LSOA 2021 codes."""
        return self.conversion.lsoa11_only if self.conversion is not None else set()

    def codes(self, area: str) -> set[str]:
        """The codes a file may hold in a column of this kind of area."""
        codes = getattr(self, area)
        return codes | self.lsoa11 if area == "lsoa" and codes else codes


@dataclass
class DuplicateTracker:
    """Keys seen so far in this delivery, as 8-byte digests so memory stays small."""

    seen: dict[bytes, int] = field(default_factory=dict)

    def first_rows(self, keys: pd.Series) -> pd.Series:
        firsts = []
        for row, key in keys.items():
            digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
            firsts.append(self.seen.setdefault(digest, row))
        return pd.Series(firsts, index=keys.index)


def validate_chunk(
    chunk: pd.DataFrame,
    contract: Contract,
    place: PlaceCodes,
    duplicates: DuplicateTracker,
) -> tuple[pd.DataFrame, list[dict], int]:
    """(accepted typed rows, quarantine entries, rows skipped as belonging to another place)."""
    if chunk.empty:
        return pd.DataFrame(columns=[c.name for c in contract.columns]), [], 0
    problems: list[tuple[pd.Series, str | None, str]] = []  # (mask, column, reason)
    elsewhere_rows = pd.Series(False, index=chunk.index)
    typed = pd.DataFrame(index=chunk.index)
    expected = chunk.attrs.get("expected_width")
    if expected is not None and "_width" in chunk:  # None: a worksheet's rows vary in width
        width = chunk["_width"]
        problems.append((width != expected, None, "row has the wrong number of fields"))
    for column in contract.columns:
        text, values, bad = convert(column.type, chunk[column.name].fillna("").astype(str))
        typed[column.name] = values
        if column.required:
            problems.append((text == "", column.name, "required value is missing"))
        problems.append((bad, column.name, f"is not {TYPE_WORDS.get(column.type, 'text')}"))
        ok = (text != "") & ~bad
        if column.pattern or column.area:
            pattern = re.compile(column.pattern or PATTERNS[column.area])
            matches = by_distinct(text, lambda c, p=pattern: c.map(lambda v: bool(p.fullmatch(v))))
            wrong = ok & ~matches
            kind = (
                f"an {column.area.upper()} code"
                if column.area == "lsoa"
                else (
                    f"a {column.area.replace('_', ' ')} code"
                    if column.area
                    else f"of the form {pattern.pattern}"
                )
            )
            problems.append((wrong, column.name, f"is not {kind}"))
            ok &= ~wrong
            codes = place.codes(column.area) if column.area else None
            if codes:
                elsewhere = ok & ~text.isin(codes)
                if column.name == contract.keep_only_place:
                    elsewhere_rows |= elsewhere
                else:
                    words = (
                        "an LSOA" if column.area == "lsoa" else f"a {column.area.replace('_', ' ')}"
                    )
                    problems.append((elsewhere, column.name, f"is not {words} of {place.name}"))
        if column.minimum is not None:
            problems.append(
                (
                    ok & (values < column.minimum).fillna(False),
                    column.name,
                    f"is below the minimum {column.minimum:g}",
                )
            )
        if column.maximum is not None:
            problems.append(
                (
                    ok & (values > column.maximum).fillna(False),
                    column.name,
                    f"is above the maximum {column.maximum:g}",
                )
            )
        allowed = column.allowed or place.lists.get(column.allowed_from_place or "", None)
        if allowed:
            canonical = {a.lower(): a for a in allowed}
            lowered = text.str.lower()
            outside = ok & ~lowered.isin(canonical)
            problems.append((outside, column.name, f"is not one of {allowed}"))
            typed[column.name] = lowered.map(canonical).where(~outside & ok, None)
    for rule in contract.row_rules:
        left, right = typed[rule.left], typed[rule.right]
        broken = (left > right).fillna(False).astype(bool)
        problems.append((broken, rule.left, f"is greater than {rule.right}"))
    if contract.key:
        keys = joined_rows(chunk[contract.key].fillna(""))
        firsts = duplicates.first_rows(keys)
        repeated = firsts != firsts.index.to_series()
        for row in firsts[repeated].index:
            problems.append(
                (
                    pd.Series(chunk.index == row, index=chunk.index),
                    None,
                    f"duplicates row {firsts[row]} ({', '.join(contract.key)})",
                )
            )
    quarantine, bad_rows = [], pd.Series(False, index=chunk.index)
    hide = contract.record_level
    for mask, column, reason in problems:
        mask = mask.fillna(False).astype(bool) & ~elsewhere_rows
        if not mask.any():
            continue
        bad_rows |= mask
        for row in chunk.index[mask.to_numpy()]:
            sensitive = hide or column is None or contract.column(column).sensitive
            quarantine.append(
                {
                    "row_number": int(row),
                    "column_name": column,
                    "reason": reason,
                    "value": None if sensitive else str(chunk.at[row, column])[:200],
                }
            )
    for redaction in contract.redact:
        flagged = typed[redaction.when].fillna(False).astype(bool)
        typed.loc[flagged.to_numpy(), redaction.column] = None
    quarantine.sort(key=lambda q: q["row_number"])
    keep = ~(bad_rows | elsewhere_rows).to_numpy()
    return typed[keep], quarantine, int(elsewhere_rows.sum())
