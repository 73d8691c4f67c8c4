"""ONS mid-year small-area population estimates: every LSOA of the place by year, sex and
single year of age, from Nomis (dataset NM_2014_1, "Population estimates - small area based
by single year of age - England and Wales").

Why: a rate per resident needs the residents of its own period. The IoD File_6 denominators
(mid-2015) stay loaded for what uses them; rates divide by these estimates instead.

Request (one CSV, as Nomis serves it: every field quoted, upper-case header):
- ``geography=<local authority code>TYPE<n>``: the place's LSOAs, the type following the
  place's LSOA vintage exactly as the claimant count (``partners.nomis.lsoa_type``). NM_2014_1
  is on 2021 LSOAs (TYPE151); a place still on 2011 LSOAs needs a mirror holding them (not
  checked against the live service from here: no network).
- the last ten mid-years, males and females (gender 1, 2), single years of age 0..89 and 90+
  (c_age 101...191), the count (measures 20100); ``select=`` pins the columns.
- at most 25,000 rows a call: paged with ``recordoffset`` by ``partners.nomis.fetch_pages``.

Demo mode reads the same layout from ``$MARMOT_HOME/demo/ons/population/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pandas as pd
import requests
from dagster_duckdb import DuckDBResource

from marmot_assets.config import PlaceConfig, get_settings
from marmot_assets.partners.nomis import fetch_pages, lsoa_type
from marmot_assets.reading.cells import by_distinct, to_integer
from marmot_assets.reading.delimited import read_csv_text
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.text import read_text
from marmot_assets.sources.common import (
    demo_file,
    land_files,
    land_payloads,
    publisher_asset,
    refresh_table,
    source_checked,
)
from marmot_assets.sources.http import make_session
from marmot_assets.sources.tables import raw_columns

DATASET = "NM_2014_1"
COLUMNS = ["DATE_NAME", "GEOGRAPHY_CODE", "GENDER_NAME", "C_AGE_NAME", "OBS_VALUE"]
OPEN_AGE = 90  # "Aged 90+": the estimates' last, open-ended, age group
AGES_PER_SEX = OPEN_AGE + 1  # 0..89 and 90+
SEXES = ("Male", "Female")
POPULATION_COLUMNS = raw_columns("ons_population_estimates")
DEMO_FILE = ("ons", "population", f"{DATASET}_lsoa_single_year_of_age.csv")


def query(place: PlaceConfig, years: int = 10) -> dict[str, str]:
    return {
        "geography": f"{place.code}{lsoa_type(place)}",
        "date": f"latestMINUS{years - 1}-latest",
        "gender": "1,2",
        "c_age": "101...191",  # Age 0 .. Age 89, Aged 90+
        "measures": "20100",
        "select": ",".join(c.lower() for c in COLUMNS),
    }


def _columns(frame: pd.DataFrame, source) -> dict[str, str]:
    """Each expected column's header as written (Nomis upper-cases them; matched either way)."""
    by_upper = {c.upper(): c for c in frame.columns}
    missing = [c for c in COLUMNS if c not in by_upper]
    if missing:
        raise SourceFileError(
            source, f"missing column {missing[0]}; the header has {list(frame.columns)}", row=1
        )
    return {c: by_upper[c] for c in COLUMNS}


def _checked_text(frame: pd.DataFrame, column: str, pattern: str, what: str, source) -> pd.Series:
    """Trimmed cells, every one matching ``pattern`` (checked once per distinct value: a file
    of ~400,000 rows holds a few hundred distinct codes and labels)."""
    cells = by_distinct(frame[column].astype(str), lambda c: c.str.strip())
    compiled = re.compile(pattern)
    bad_values = {v for v in cells.unique() if not compiled.fullmatch(v)}
    if bad_values:
        first = int(cells.isin(bad_values).to_numpy().nonzero()[0][0])
        value = cells.iloc[first]
        problem = "empty cell" if value == "" else f"{value!r} is not {what}"
        raise SourceFileError(source, problem, row=int(frame.index[first]), column=column)
    return cells


def _age(labels: pd.Series) -> pd.Series:
    """'Age 0' .. 'Age 89' -> 0 .. 89; 'Aged 90+' -> 90 (checked by the caller's pattern)."""
    return labels.str.extract(r"(\d+)", expand=False).astype("Int64")


def parse_population_text(text: str, source) -> pd.DataFrame:
    """The Nomis CSV as one row per mid-year, LSOA, sex and single year of age; refuses a file
    that is not whole (an LSOA-year without all 182 sex-age cells), naming file, row, column."""
    frame = read_csv_text(text, source)
    cols = _columns(frame, source)
    checks = [
        ("DATE_NAME", r"(?:[A-Za-z]+[ -])?\d{4}", "a mid-year (e.g. 2023)"),
        ("GEOGRAPHY_CODE", r"[EW]01\d{6}", "an LSOA code (E01 and 6 digits)"),
        ("GENDER_NAME", "|".join(SEXES), "Male or Female (gender 1, 2)"),
        ("C_AGE_NAME", r"Age (?:\d|[1-8]\d)|Aged 90\+", "a single year of age (Age 0 .. Aged 90+)"),
    ]
    text_cells = {
        name: _checked_text(frame, cols[name], pattern, what, source)
        for name, pattern, what in checks
    }
    population = to_integer(frame, cols["OBS_VALUE"], source)
    negative = population < 0
    if negative.any():
        row = int(frame.index[negative.to_numpy(dtype=bool).nonzero()[0][0]])
        raise SourceFileError(source, "a negative population", row=row, column=cols["OBS_VALUE"])
    out = pd.DataFrame(
        {
            "mid_year": by_distinct(text_cells["DATE_NAME"], lambda c: c.str[-4:].astype(int)),
            "lsoa_code": text_cells["GEOGRAPHY_CODE"],
            "sex": text_cells["GENDER_NAME"],
            "age": by_distinct(text_cells["C_AGE_NAME"], _age),
            "population": population,
        }
    )
    _check_whole(out, cols, source)
    return (
        out[POPULATION_COLUMNS]
        .sort_values(["mid_year", "lsoa_code", "sex", "age"])
        .reset_index(drop=True)
    )


def _check_whole(out: pd.DataFrame, cols: dict[str, str], source) -> None:
    duplicated = out.duplicated(["mid_year", "lsoa_code", "sex", "age"])
    if duplicated.any():
        row = int(out.index[duplicated.to_numpy().nonzero()[0][0]])
        raise SourceFileError(
            source, "this LSOA, year, sex and age appear twice", row=row, column=cols["C_AGE_NAME"]
        )
    cells = out.groupby(["mid_year", "lsoa_code"])["age"].transform("size")
    short = cells != len(SEXES) * AGES_PER_SEX
    if short.any():
        first = out.index[short.to_numpy().nonzero()[0][0]]
        year, lsoa = out.loc[first, "mid_year"], out.loc[first, "lsoa_code"]
        raise SourceFileError(
            source,
            f"LSOA {lsoa} in {year} has {cells[first]} of the {len(SEXES) * AGES_PER_SEX} "
            "sex and single-year-of-age rows (a truncated download?)",
            row=int(first),
            column=cols["GEOGRAPHY_CODE"],
        )


def parse_population_csv(path: Path) -> pd.DataFrame:
    return parse_population_text(read_text(path), path)


def fetch_population(session: requests.Session, place: PlaceConfig) -> tuple[str, bytes]:
    """(file name, the pages joined under one header), the name carrying the place."""
    body = fetch_pages(session, get_settings().population_url, query(place))
    return f"{DATASET}_{place.code}.csv", body


@publisher_asset(
    "ons_population_estimates",
    fetches=True,
    group="ons",
    owner="team:ons-population",
    cadence="annual",
    description=(
        "ONS mid-year small-area population estimates for every LSOA of the place by sex and "
        "single year of age (0..89, 90+), the last ten mid-years: the denominators of rates per "
        "resident. Live: the Nomis API (NM_2014_1), paged. Demo: the same CSV layout."
    ),
)
def ons_population_estimates(warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = get_settings()
    if settings.source_mode == "live":
        name, body = fetch_population(make_session(), settings.place_config)
        landed = land_payloads("ons", "population", [(name, body)])
        parse = lambda: parse_population_text(  # noqa: E731
            body.decode("utf-8-sig"), settings.population_url
        )
    else:
        path = demo_file(*DEMO_FILE)
        landed = land_files("ons", "population", [path])
        parse = lambda: parse_population_csv(path)  # noqa: E731
    frame, metadata = refresh_table(
        warehouse, "ons", "population", "ons_population_estimates", landed, parse
    )
    metadata["latest_mid_year"] = dg.MetadataValue.int(int(frame["mid_year"].max()))
    metadata["lsoas"] = dg.MetadataValue.int(frame["lsoa_code"].nunique())
    return source_checked(warehouse, "ons_population_estimates", metadata)
