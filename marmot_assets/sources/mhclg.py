"""MHCLG English Indices of Deprivation: LSOA ranks, deciles and population denominators.

Two releases, two LSOA geographies: IoD2019 ranks the 32,844 LSOAs (2011) of England, IoD2025
the 33,755 LSOAs (2021); the place's release (``deprivation.release``) says which, and the
file names follow it. MHCLG's CSVs carry a UTF-8 BOM, numbers quoted with thousands
separators, and header wording that differs between files and releases ("... Rank" vs
"... Rank (where 1 is most deprived)", "LSOA code (2011)" vs "LSOA code (2021)",
"mid 2015 (excluding prisoners)" vs "mid 2022"), so columns are matched by meaning: a header's
normalised text starts with the words that say what it holds. Re-shaped copies with short
headers (``lsoa21_code, IMD_rank, IMD_decile, Income_decile, ...``) are read too.

A file with a local authority column is filtered to the place by it; one without (an England
file of LSOA codes and ranks only) is filtered to the place's LSOAs from the geography lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets import catalog
from marmot_assets.config import PlaceConfig, get_settings
from marmot_assets.reading.cells import check_pattern, to_integer, to_text
from marmot_assets.reading.delimited import read_csv_text
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.headers import HEADER_ROW, match_by_meaning, normalise
from marmot_assets.reading.text import read_text
from marmot_assets.sources.common import (
    demo_file,
    land_files,
    publisher_asset,
    refresh_table,
    source_checked,
)
from marmot_assets.sources.tables import raw_columns


def _starts(*prefixes: str):
    return lambda header: any(header.startswith(p) for p in prefixes)


# lsoa_code must be present; the others are optional (the re-shaped England file has none).
IDENTITY = {
    "lsoa_code": _starts("lsoa code", "lsoa11 code", "lsoa21 code", "lsoa11cd", "lsoa21cd"),
}
OPTIONAL_IDENTITY = {
    "lsoa_name": _starts("lsoa name", "lsoa11 name", "lsoa21 name", "lsoa11nm", "lsoa21nm"),
    "lad_code": _starts("local authority district code"),
    "lad_name": _starts("local authority district name"),
}
IMD = {
    "imd_rank": _starts("index of multiple deprivation imd rank", "imd rank"),
    "imd_decile": _starts("index of multiple deprivation imd decile", "imd decile"),
}
DOMAINS = {
    f"{name}_{kind}": _starts(*(f"{w} {kind}" for w in words))
    for name, words in [
        ("income", ("income",)),
        ("employment", ("employment",)),
        ("education", ("education skills and training", "education")),
        ("health", ("health deprivation and disability", "health")),
        ("crime", ("crime",)),
        ("barriers", ("barriers to housing and services", "housing and services")),
        ("living_environment", ("living environment", "environment")),
    ]
    for kind in ("rank", "decile")
}
# IoD2019: "Total population: mid 2015 (excluding prisoners)", ...; IoD2025: "Total
# population: mid 2022", "Working age population 18-66 (for use with Employment ...): mid 2022".
POPULATION = {
    "population_total": _starts("total population"),
    "population_aged_0_15": _starts("dependent children aged 0 15"),
    "population_aged_16_59": _starts("population aged 16 59"),
    "population_aged_60_plus": _starts("older population aged 60"),
    "population_working_age": _starts("working age population"),
}
IMD_COLUMNS = raw_columns("mhclg_imd_lsoa")


def _optional(header, wanted: dict[str, Callable[[str], bool]], source) -> dict[str, str]:
    """The wanted columns the header has (each at most once)."""
    present = {
        name: predicate
        for name, predicate in wanted.items()
        if any(predicate(normalise(h)) for h in header)
    }
    return match_by_meaning(header, present, source)


def _read(
    path: Path, wanted: dict, place: PlaceConfig, place_lsoas: Collection[str] | None
) -> pd.DataFrame:
    """Read one MHCLG file, keep the place's rows, type every wanted column."""
    frame = read_csv_text(read_text(path), path)
    columns = {
        **match_by_meaning(frame.columns, {**IDENTITY, **wanted}, path),
        **_optional(frame.columns, OPTIONAL_IDENTITY, path),
    }
    check_pattern(
        to_text(frame, columns["lsoa_code"]),
        columns["lsoa_code"],
        r"E01\d{6}",
        "an LSOA code (E01 and 6 digits)",
        path,
    )
    if "lad_code" in columns:
        frame = frame[frame[columns["lad_code"]].str.strip() == place.code]
        if frame.empty:
            raise SourceFileError(path, f"no rows for local authority {place.code} ({place.name})")
    else:
        frame = _place_rows(frame, columns["lsoa_code"], place, place_lsoas, path)
    out = pd.DataFrame(
        {
            name: to_text(frame, columns[name]) if name in columns else None
            for name in ("lsoa_code", *OPTIONAL_IDENTITY)
        },
        index=frame.index,
    )
    if "lad_code" not in columns:
        out["lad_code"], out["lad_name"] = place.code, place.name
    n_england = place.deprivation.england_lsoa_count
    for name in wanted:
        values = to_integer(frame, columns[name], path)
        if name.endswith("_decile"):
            limits = (1, 10)
        elif name.endswith("_rank"):
            limits = (1, n_england)
        else:
            limits = (0, 100_000)
        outside = (values < limits[0]) | (values > limits[1])
        if outside.any():
            row = int(frame.index[outside.to_numpy(dtype=bool, na_value=False).nonzero()[0][0]])
            what = (
                f" (the {n_england:,} LSOAs ({place.deprivation.lsoa_year}) that "
                f"{place.deprivation.release} ranks)"
                if name.endswith("_rank")
                else ""
            )
            raise SourceFileError(
                path,
                f"{values[outside].iloc[0]} is outside {limits[0]}..{limits[1]}{what}",
                row=row,
                column=columns[name],
            )
        out[name] = values
    duplicated = out["lsoa_code"].duplicated()
    if duplicated.any():
        row = int(frame.index[duplicated.to_numpy().nonzero()[0][0]])
        raise SourceFileError(path, "LSOA appears twice", row=row, column=columns["lsoa_code"])
    return out.set_index("lsoa_code")


def _place_rows(
    frame: pd.DataFrame,
    lsoa_column: str,
    place: PlaceConfig,
    place_lsoas: Collection[str] | None,
    path: Path,
) -> pd.DataFrame:
    """A file without a local authority column: the rows of the place's LSOAs (the lookup's),
    every one of them."""
    if not place_lsoas:
        raise SourceFileError(
            path,
            "has no local authority column, so the place's LSOAs are needed from the geography "
            "lookup (raw.ons_lsoa_ward_lookup): materialise it first",
            row=HEADER_ROW,
        )
    codes = frame[lsoa_column].str.strip()
    frame = frame[codes.isin(set(place_lsoas))]
    missing = sorted(set(place_lsoas) - set(codes[frame.index]))
    if missing:
        raise SourceFileError(
            path,
            f"{len(missing)} of the place's {len(set(place_lsoas))} LSOAs "
            f"({place.geography.vintage}) are not in the file, e.g. {missing[:5]}: is it "
            f"{place.deprivation.release} on LSOAs ({place.deprivation.lsoa_year})?",
        )
    return frame


def parse_imd(
    imd_file: Path,
    place: PlaceConfig,
    domains_file: Path | None = None,
    population_file: Path | None = None,
    place_lsoas: Collection[str] | None = None,
) -> pd.DataFrame:
    """File_1 (IMD), optionally File_2 (domains) and File_6 (denominators), for the place.

    ``place_lsoas`` (the lookup's LSOA codes) select the place's rows of a file that has no
    local authority column."""
    imd = _read(imd_file, IMD, place, place_lsoas)
    if domains_file is not None:
        domains = _read(domains_file, DOMAINS, place, place_lsoas)
        _same_lsoas(imd, domains, imd_file, domains_file)
        imd = imd.join(domains[list(DOMAINS)])
    if population_file is not None:
        population = _read(population_file, POPULATION, place, place_lsoas)
        _same_lsoas(imd, population, imd_file, population_file)
        imd = imd.join(population[list(POPULATION)])
    imd["release"] = place.deprivation.release
    out = imd.reset_index().reindex(columns=IMD_COLUMNS)
    for name in list(DOMAINS) + list(POPULATION):
        out[name] = out[name].astype("Int64")
    return out.sort_values("lsoa_code").reset_index(drop=True)


def _same_lsoas(left: pd.DataFrame, right: pd.DataFrame, left_file: Path, right_file: Path):
    missing = sorted(set(left.index) ^ set(right.index))
    if missing:
        raise SourceFileError(
            right_file,
            f"LSOAs differ from {Path(left_file).name} for this place: {missing[:5]}"
            f"{' ...' if len(missing) > 5 else ''}",
        )


FOLDER = ("mhclg", "deprivation")
LOOKUP = dg.AssetKey(["raw", "ons_lsoa_ward_lookup"])


def place_lsoa_codes(warehouse: DuckDBResource) -> list[str] | None:
    """The place's LSOA codes from raw.ons_lsoa_ward_lookup, or None before it is loaded."""
    with warehouse.get_connection() as con:
        if not catalog.exists(con, "raw", "ons_lsoa_ward_lookup"):
            return None
        rows = con.execute("select lsoa_code from raw.ons_lsoa_ward_lookup").fetchall()
    return [code for (code,) in rows]


@publisher_asset(
    "mhclg_imd_lsoa",
    group="mhclg",
    owner="team:mhclg",
    # a file without a local authority column is filtered to the lookup's LSOAs
    deps=[LOOKUP],
    description=(
        "IMD rank and national decile, the seven domains and mid-year population denominators "
        "for each LSOA of the place, from MHCLG's CSV files (File_1, File_2, File_6) of the "
        "place's release (IoD2025 on LSOA 2021 by default, IoD2019 on LSOA 2011). The files "
        "may be England-wide: rows are filtered to the place by local authority, or, in a file "
        "without one, to the LSOAs of the geography lookup."
    ),
)
def mhclg_imd_lsoa(warehouse: DuckDBResource) -> dg.MaterializeResult:
    # MHCLG publishes these as static files per release; live mode reads the same files
    # once downloaded into the source folder (MARMOT_SOURCE_DIR), so both modes read files.
    place = get_settings().place_config
    d = place.deprivation
    imd, domains, population = (
        None if name is None else demo_file(*FOLDER, name)
        for name in (d.imd_file, d.domains_file, d.population_file)
    )
    lsoas = place_lsoa_codes(warehouse)
    frame, metadata = refresh_table(
        warehouse, "mhclg", "deprivation", "mhclg_imd_lsoa",
        land_files("mhclg", "deprivation", [p for p in (imd, domains, population) if p]),
        lambda: parse_imd(imd, place, domains, population, place_lsoas=lsoas),
    )  # fmt: skip
    metadata["release"] = d.release
    metadata["lsoas_in_national_decile_1"] = dg.MetadataValue.int(
        int((frame["imd_decile"] == 1).sum())
    )
    return source_checked(warehouse, "mhclg_imd_lsoa", metadata)
