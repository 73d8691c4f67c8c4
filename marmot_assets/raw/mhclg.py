"""MHCLG English Indices of Deprivation for the place's LSOAs."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings
from marmot_assets.ingest.deprivation import parse_imd
from marmot_assets.raw.common import demo_file, land_files, load_publisher_table, raw_metadata
from marmot_assets.resources import WAREHOUSE_POOL

FOLDER = ("mhclg", "deprivation")
IMD_FILE = "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
DOMAINS_FILE = "File_2_-_IoD2019_Domains_of_Deprivation.csv"
POPULATION_FILE = "File_6_-_IoD2019_Population_Denominators.csv"


@dg.asset(
    key=["raw", "mhclg_imd_lsoa"],
    group_name="mhclg",
    owners=["team:mhclg"],
    description=(
        "IMD rank and national decile, the seven domains and mid-year population denominators "
        "for each LSOA of the place, from MHCLG's CSV files (File_1, File_2, File_6). The files "
        "may be England-wide: rows are filtered to the place."
    ),
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def mhclg_imd_lsoa(warehouse: DuckDBResource) -> dg.MaterializeResult:
    # MHCLG publishes these as static files per release; live mode reads the same files
    # once downloaded into the source folder (MARMOT_SOURCE_DIR), so both modes read files.
    place = get_settings().place_config
    paths = [demo_file(*FOLDER, name) for name in (IMD_FILE, DOMAINS_FILE, POPULATION_FILE)]
    landed = land_files("mhclg", "deprivation", paths)
    frame = load_publisher_table(
        warehouse, "mhclg", "deprivation", "mhclg_imd_lsoa", landed,
        lambda: parse_imd(paths[0], place, domains_file=paths[1], population_file=paths[2]),
    )
    metadata = raw_metadata("mhclg_imd_lsoa", frame, landed)
    metadata["lsoas_in_national_decile_1"] = dg.MetadataValue.int(
        int((frame["imd_decile"] == 1).sum())
    )
    return dg.MaterializeResult(metadata=metadata)
