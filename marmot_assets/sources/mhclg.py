"""MHCLG English Indices of Deprivation: LSOA ranks, deciles and population denominators.

MHCLG's CSVs carry a UTF-8 BOM, numbers quoted with thousands separators, and header wording
that differs between files of one release ("... Rank" vs "... Rank (where 1 is most
deprived)"), so columns are matched by meaning: a header's normalised text starts with the
words that say what it holds.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets.config import PlaceConfig, get_settings
from marmot_assets.reading.cells import check_pattern, to_integer, to_text
from marmot_assets.reading.delimited import read_csv_text
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.headers import match_by_meaning
from marmot_assets.reading.text import read_text
from marmot_assets.sources.common import (
    demo_file,
    land_files,
    publisher_asset,
    refresh_table,
)
from marmot_assets.sources.tables import raw_columns

ENGLAND_LSOA_COUNT_MAX = 40_000  # 32,844 LSOAs in 2011, 33,755 in 2021: ranks above are wrong


def _starts(*prefixes: str):
    return lambda header: any(header.startswith(p) for p in prefixes)


IDENTITY = {
    "lsoa_code": _starts("lsoa code"),
    "lsoa_name": _starts("lsoa name"),
    "lad_code": _starts("local authority district code"),
    "lad_name": _starts("local authority district name"),
}
IMD = {
    "imd_rank": _starts("index of multiple deprivation imd rank"),
    "imd_decile": _starts("index of multiple deprivation imd decile"),
}
DOMAINS = {
    f"{name}_{kind}": _starts(f"{words} {kind}")
    for name, words in [
        ("income", "income"),
        ("employment", "employment"),
        ("education", "education skills and training"),
        ("health", "health deprivation and disability"),
        ("crime", "crime"),
        ("barriers", "barriers to housing and services"),
        ("living_environment", "living environment"),
    ]
    for kind in ("rank", "decile")
}
POPULATION = {
    "population_total": _starts("total population"),
    "population_aged_0_15": _starts("dependent children aged 0 15"),
    "population_aged_16_59": _starts("population aged 16 59"),
    "population_aged_60_plus": _starts("older population aged 60"),
    "population_working_age": _starts("working age population"),
}
IMD_COLUMNS = raw_columns("mhclg_imd_lsoa")


def _read(path: Path, wanted: dict, place: PlaceConfig) -> pd.DataFrame:
    """Read one MHCLG file, keep the place's rows, type every wanted column."""
    frame = read_csv_text(read_text(path), path)
    columns = match_by_meaning(frame.columns, {**IDENTITY, **wanted}, path)
    check_pattern(
        to_text(frame, columns["lsoa_code"]),
        columns["lsoa_code"],
        r"E01\d{6}",
        "an LSOA code (E01 and 6 digits)",
        path,
    )
    frame = frame[frame[columns["lad_code"]].str.strip() == place.code]
    if frame.empty:
        raise SourceFileError(path, f"no rows for local authority {place.code} ({place.name})")
    out = pd.DataFrame({name: to_text(frame, columns[name]) for name in IDENTITY})
    for name in wanted:
        values = to_integer(frame, columns[name], path)
        if name.endswith("_decile"):
            limits = (1, 10)
        elif name.endswith("_rank"):
            limits = (1, ENGLAND_LSOA_COUNT_MAX)
        else:
            limits = (0, 100_000)
        outside = (values < limits[0]) | (values > limits[1])
        if outside.any():
            row = int(frame.index[outside.to_numpy(dtype=bool, na_value=False).nonzero()[0][0]])
            raise SourceFileError(
                path,
                f"{values[outside].iloc[0]} is outside {limits[0]}..{limits[1]}",
                row=row,
                column=columns[name],
            )
        out[name] = values
    duplicated = out["lsoa_code"].duplicated()
    if duplicated.any():
        row = int(frame.index[duplicated.to_numpy().nonzero()[0][0]])
        raise SourceFileError(path, "LSOA appears twice", row=row, column=columns["lsoa_code"])
    return out.set_index("lsoa_code")


def parse_imd(
    imd_file: Path,
    place: PlaceConfig,
    domains_file: Path | None = None,
    population_file: Path | None = None,
) -> pd.DataFrame:
    """File_1 (IMD), optionally File_2 (domains) and File_6 (denominators), for the place."""
    imd = _read(imd_file, IMD, place)
    if domains_file is not None:
        domains = _read(domains_file, DOMAINS, place)
        _same_lsoas(imd, domains, imd_file, domains_file)
        imd = imd.join(domains[list(DOMAINS)])
    if population_file is not None:
        population = _read(population_file, POPULATION, place)
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
IMD_FILE = "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
DOMAINS_FILE = "File_2_-_IoD2019_Domains_of_Deprivation.csv"
POPULATION_FILE = "File_6_-_IoD2019_Population_Denominators.csv"


@publisher_asset(
    "mhclg_imd_lsoa",
    group="mhclg",
    owner="team:mhclg",
    description=(
        "IMD rank and national decile, the seven domains and mid-year population denominators "
        "for each LSOA of the place, from MHCLG's CSV files (File_1, File_2, File_6). The files "
        "may be England-wide: rows are filtered to the place."
    ),
)
def mhclg_imd_lsoa(warehouse: DuckDBResource) -> dg.MaterializeResult:
    # MHCLG publishes these as static files per release; live mode reads the same files
    # once downloaded into the source folder (MARMOT_SOURCE_DIR), so both modes read files.
    place = get_settings().place_config
    imd, domains, population = (
        demo_file(*FOLDER, name) for name in (IMD_FILE, DOMAINS_FILE, POPULATION_FILE)
    )
    frame, metadata = refresh_table(
        warehouse, "mhclg", "deprivation", "mhclg_imd_lsoa",
        land_files("mhclg", "deprivation", [imd, domains, population]),
        lambda: parse_imd(imd, place, domains_file=domains, population_file=population),
    )  # fmt: skip
    metadata["lsoas_in_national_decile_1"] = dg.MetadataValue.int(
        int((frame["imd_decile"] == 1).sum())
    )
    return dg.MaterializeResult(metadata=metadata)
