"""Partner files on LSOA 2011 codes, converted to the place's LSOA 2021 at the door.

ONS's LSOA (2011) -> LSOA (2021) lookup (``raw.ons_lsoa11_lsoa21_lookup``) says, per 2011
LSOA, what 2021 made of it: unchanged (U, the same code), merged into one 2021 LSOA (M), split
into two or more (S), or changed irregularly (X: one or more parts). A 2011 code with one
2021 part takes that part's code. A 2011 code with several parts is shared out by the parts'
population (ONS small-area estimates, else the IoD population denominators, else equally):

- a row that is one thing (a record-level row: a child, a death, a client; or a row of a file
  without counts: a crime) goes to one part, chosen by a hash of the row's content mapped onto
  the cumulative shares, so the rows spread in proportion to population and a re-run gives
  the same parts;
- a row of counts becomes one row per part, each integer count column apportioned by the
  largest-remainder method (the parts' counts add up to the row's); a rate or percentage is
  carried unchanged to every part. Rows a merge brings onto one 2021 LSOA are added up at
  the commit (``Staging.consolidate``): counts summed, rates averaged.

Every conversion (2011 code, 2021 code, change, share, rows, where the shares came from) is
recorded in ``raw.lsoa_conversions`` with the delivery's rows, in the same transaction.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from marmot_assets import catalog
from marmot_assets.partners.contract import Contract
from marmot_assets.reading.cells import joined_rows

LOOKUP_TABLE = "ons_lsoa11_lsoa21_lookup"
CHANGE_WORDS = {"U": "unchanged", "M": "merged", "S": "split", "X": "changed irregularly"}
EQUAL = "equal shares"


@dataclass
class Change:
    """What 2021 made of one 2011 LSOA: its parts (2021 codes) with their population shares."""

    lsoa11: str
    indicator: str
    parts: list[str]
    shares: list[float]
    weight_source: str | None  # None: one part, nothing shared out

    def cumulative(self) -> np.ndarray:
        return np.cumsum(self.shares)


@dataclass
class LsoaConversion:
    """The place's 2011 -> 2021 relation, by 2011 code."""

    changes: dict[str, Change]
    lsoa21: set[str]  # the place's LSOA 2021 codes

    @functools.cached_property
    def lsoa11_only(self) -> set[str]:
        """2011 codes that are not also 2021 codes: a file holding one is on LSOA 2011."""
        return {c for c in self.changes if c not in self.lsoa21}


def _weights(con, codes: set[str]) -> list[tuple[str, dict[str, float]]]:
    """Population per 2021 LSOA, by source, best first."""
    found: list[tuple[str, dict[str, float]]] = []
    if not codes:
        return found
    wanted = pd.DataFrame({"lsoa_code": sorted(codes)})
    con.register("_wanted_lsoas", wanted)
    try:
        if catalog.exists(con, "raw", "ons_population_estimates"):
            rows = con.execute(
                "select p.mid_year, p.lsoa_code, sum(p.population) "
                "from raw.ons_population_estimates p join _wanted_lsoas using (lsoa_code) "
                "where p.mid_year = (select max(mid_year) from raw.ons_population_estimates) "
                "group by all"
            ).fetchall()
            if rows:
                source = f"ONS population estimates (mid-{rows[0][0]})"
                found.append((source, {code: float(n or 0) for _, code, n in rows}))
        if catalog.exists(con, "raw", "mhclg_imd_lsoa"):
            rows = con.execute(
                "select i.lsoa_code, i.population_total, i.release "
                "from raw.mhclg_imd_lsoa i join _wanted_lsoas using (lsoa_code)"
            ).fetchall()
            if rows:
                source = f"IoD population denominators ({rows[0][2]})"
                found.append((source, {code: float(n or 0) for code, n, _ in rows}))
    finally:
        con.unregister("_wanted_lsoas")
    return found


def load_conversion(con, place_lsoa21: set[str]) -> LsoaConversion | None:
    """The conversion for a place on LSOA 2021, or None before the lookup is loaded."""
    if not place_lsoa21 or not catalog.exists(con, "raw", LOOKUP_TABLE):
        return None
    rows = con.execute(
        f"select lsoa11_code, lsoa21_code, change_indicator from raw.{LOOKUP_TABLE} "
        "order by lsoa11_code, lsoa21_code"
    ).fetchall()
    parts: dict[str, list[tuple[str, str]]] = {}
    for lsoa11, lsoa21, indicator in rows:
        if lsoa21 in place_lsoa21:  # a part in another authority is not the place's
            parts.setdefault(lsoa11, []).append((lsoa21, indicator))
    several = {code for ps in parts.values() if len(ps) > 1 for code, _ in ps}
    weights = _weights(con, several)
    changes = {}
    for lsoa11, ps in parts.items():
        codes = [c for c, _ in ps]
        indicator = "X" if any(i == "X" for _, i in ps) else ps[0][1]
        shares, source = [1.0], None
        if len(codes) > 1:
            shares, source = [1 / len(codes)] * len(codes), EQUAL
            for name, population in weights:
                values = [population.get(c, 0.0) for c in codes]
                if all(v > 0 for v in values):
                    shares, source = [v / sum(values) for v in values], name
                    break
        changes[lsoa11] = Change(lsoa11, indicator, codes, shares, source)
    return LsoaConversion(changes, set(place_lsoa21))


def row_hash(frame: pd.DataFrame) -> np.ndarray:
    """A number in [0, 1) per row from its content: the same row, the same number."""
    text = joined_rows(frame)
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "big") / 2**64
            for t in text
        ]
    )


def largest_remainder(total: int, shares: list[float]) -> list[int]:
    """``total`` shared out in whole numbers by ``shares``, adding up to ``total`` (Hamilton's
    method: floors, then one more to the largest remainders; ties to the first part)."""
    exact = np.array(shares) * total
    whole = np.floor(exact).astype(int)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[: total - int(whole.sum())]:
        whole[i] += 1
    return [int(w) for w in whole]


@dataclass
class Converter:
    """One delivery's conversion: ``convert`` each accepted chunk, then ``finish``."""

    contract: Contract
    conversion: LsoaConversion | None
    lsoa_year: int | None
    column: str | None = None
    rows_old: Counter = field(default_factory=Counter)  # (lsoa11, lsoa21) -> rows
    rows_unchanged: Counter = field(default_factory=Counter)  # U code -> rows
    rows_new_only: int = 0  # rows on 2021 codes that are not 2011 codes
    rows_place: int = 0
    rows_by_change: Counter = field(default_factory=Counter)
    merged: bool = False

    def __post_init__(self):
        self.column = next((c.name for c in self.contract.columns if c.area == "lsoa"), None)
        self.counts = {
            c.name: None for c in self.contract.columns if c.type == "integer" and c.area is None
        }
        # a number column the contract says is a count on some rows only (count_when)
        self.counts.update(
            {
                c.name: (c.count_when.column, c.count_when.value)
                for c in self.contract.columns
                if c.count_when is not None
            }
        )
        # A row is divided among a split's parts only if it holds counts to share out.
        self.divisible = not self.contract.record_level and bool(self.counts)

    def convert(self, accepted: pd.DataFrame) -> pd.DataFrame:
        if self.column is None or accepted.empty:
            return accepted
        codes = accepted[self.column]
        self.rows_place += int(codes.notna().sum())
        conv = self.conversion
        if conv is None:
            return accepted
        changes = conv.changes
        unchanged = codes.isin([c for c in changes if c in conv.lsoa21])
        self.rows_unchanged.update(codes[unchanged].tolist())
        self.rows_new_only += int((codes.isin(conv.lsoa21) & ~unchanged).sum())
        old = codes.isin(conv.lsoa11_only)
        if not old.any():
            return accepted
        pieces = [accepted[~old.to_numpy()]]
        rows = accepted[old.to_numpy()]
        for code, group in rows.groupby(self.column, sort=True):
            change = changes[code]
            self.rows_by_change[change.indicator] += len(group)
            if len(change.parts) == 1:
                self.merged |= change.indicator in ("M", "X")
                pieces.append(group.assign(**{self.column: change.parts[0]}))
                self.rows_old[(code, change.parts[0])] += len(group)
            elif self.divisible:
                pieces.extend(self._apportion(group, change))
            else:
                pieces.append(self._assign(group, change))
        return pd.concat(pieces).sort_index(kind="stable")

    def _assign(self, group: pd.DataFrame, change: Change) -> pd.DataFrame:
        columns = [c.name for c in self.contract.columns]
        u = row_hash(group[columns])
        part = np.minimum(
            np.searchsorted(change.cumulative(), u, side="right"), len(change.parts) - 1
        )
        codes = [change.parts[i] for i in part]
        for code in codes:
            self.rows_old[(change.lsoa11, code)] += 1
        return group.assign(**{self.column: codes})

    def _apportion(self, group: pd.DataFrame, change: Change) -> list[pd.DataFrame]:
        out = [group.assign(**{self.column: p}).copy() for p in change.parts]
        for name, condition in self.counts.items():
            counting = pd.Series(True, index=group.index)
            if condition is not None:
                counting = group[condition[0]] == condition[1]
            for row in group.index[(counting & group[name].notna()).to_numpy()]:
                value = group.at[row, name]
                total = int(round(float(value)))
                shared = largest_remainder(total, change.shares)
                for frame, count in zip(out, shared, strict=True):
                    frame.at[row, name] = count
        for p in change.parts:
            self.rows_old[(change.lsoa11, p)] += len(group)
        return out

    # --- the verdict ---------------------------------------------------------------------
    def vintage(self) -> str | None:
        if self.column is None or self.rows_place == 0:
            return None
        if self.conversion is None:
            return f"LSOA {self.lsoa_year}" if self.lsoa_year else None
        if not self.rows_old:
            return "LSOA 2021"
        return "mixed" if self.rows_new_only else "LSOA 2011 (converted)"

    def conversions(self) -> list[dict]:
        """The rows for raw.lsoa_conversions."""
        if self.conversion is None or not self.rows_old:
            return []
        changes = self.conversion.changes
        records = []
        if self.vintage() == "LSOA 2011 (converted)":
            for code, rows in sorted(self.rows_unchanged.items()):
                records.append(_record(code, code, "U", 1.0, rows, None))
        for (lsoa11, lsoa21), rows in sorted(self.rows_old.items()):
            change = changes[lsoa11]
            share = change.shares[change.parts.index(lsoa21)]
            records.append(
                _record(lsoa11, lsoa21, change.indicator, share, rows, change.weight_source)
            )
        return records

    def message(self) -> str | None:
        """What the verdict says of the file's LSOA codes, when some were LSOA 2011."""
        vintage = self.vintage()
        if vintage not in ("LSOA 2011 (converted)", "mixed"):
            return None
        by = self.rows_by_change
        unchanged = sum(self.rows_unchanged.values()) if vintage != "mixed" else 0
        split = by["S"]
        parts = [f"{unchanged} unchanged"] if unchanged else []
        if by["M"]:
            parts.append(f"{by['M']} merged")
        how = "assigned by population" if not self.divisible else "apportioned by population"
        if split:
            parts.append(f"{split} split, {how}")
        if by["X"]:
            parts.append(f"{by['X']} changed irregularly")
        total = unchanged + sum(by.values())
        sources = sorted(
            {self.conversion.changes[c].weight_source for c, _ in self.rows_old} - {None}
        )
        text = f"LSOA 2011 codes: {total} rows converted to LSOA 2021 ({', '.join(parts)})"
        if sources:
            text += f"; split shares: {', '.join(sources)}"
        if vintage == "mixed":
            text = (
                f"mixed LSOA 2011 and LSOA 2021 codes: {self.rows_place - total} rows on "
                f"LSOA 2021 codes as sent; {text}"
            )
        return text


def _record(lsoa11, lsoa21, indicator, share, rows, source) -> dict:
    return {
        "lsoa11_code": lsoa11,
        "lsoa21_code": lsoa21,
        "change_indicator": indicator,
        "share": float(share),
        "rows_converted": int(rows),
        "weight_source": source,
    }
