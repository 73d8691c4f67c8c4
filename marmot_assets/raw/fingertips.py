"""OHID Fingertips indicator values for every catalogue indicator with a Fingertips id."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings, read_indicator_catalogue
from marmot_assets.ingest.fingertips import fetch_indicator_values, read_indicator_files
from marmot_assets.ingest.http import make_session
from marmot_assets.ingest.errors import SourceFileError
from marmot_assets.raw.common import (
    land_files,
    land_payloads,
    load_publisher_table,
    raw_metadata,
)
from marmot_assets.resources import WAREHOUSE_POOL

DEMO_FOLDER = ("ohid", "fingertips")


def catalogue_fingertips_ids() -> list[int]:
    return sorted(
        {int(row["fingertips_id"]) for row in read_indicator_catalogue() if row["fingertips_id"]}
    )


@dg.asset(
    key=["raw", "fingertips_indicator_values"],
    group_name="ohid_fingertips",
    owners=["team:ohid"],
    description=(
        "Indicator values for the place, its comparators and its wards from the OHID "
        "Fingertips API (all_data/csv/by_indicator_id), carried exactly as published. "
        "Live: HTTP, at most 100 indicator ids a call, retries on 429/5xx. Demo: bundled CSV "
        "files in the same format."
    ),
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def fingertips_indicator_values(warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = get_settings()
    place = settings.place_config
    ids = catalogue_fingertips_ids()
    if settings.source_mode == "live":
        fetched, payloads = fetch_indicator_values(make_session(), place, ids)
        landed = land_payloads("ohid", "fingertips", payloads)

        def parse():
            return fetched
    else:
        folder = settings.demo_dir.joinpath(*DEMO_FOLDER)
        paths = sorted(folder.glob("*.csv"))
        if not paths:
            raise SourceFileError(folder, "no CSV files: write the demo data with `marmot demo`")
        landed = land_files("ohid", "fingertips", paths)

        def parse():
            return read_indicator_files(paths, place, ids)

    frame = load_publisher_table(
        warehouse, "ohid", "fingertips", "fingertips_indicator_values", landed, parse
    )
    missing = sorted(set(ids) - set(frame["indicator_id"].astype(int)))
    metadata = raw_metadata("fingertips_indicator_values", frame, landed)
    metadata["indicators"] = dg.MetadataValue.int(frame["indicator_id"].nunique())
    metadata["catalogue_ids_without_data"] = dg.MetadataValue.json(missing)
    return dg.MaterializeResult(metadata=metadata)
