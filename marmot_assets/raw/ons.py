"""ONS Open Geography Portal: LSOA -> ward -> local authority lookup for the place."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings
from marmot_assets.ingest.geography import parse_lookup_csv, fetch_lookup
from marmot_assets.ingest.http import make_session
from marmot_assets.raw.common import (
    demo_file,
    land_files,
    land_payloads,
    load_publisher_table,
    raw_metadata,
)
from marmot_assets.resources import WAREHOUSE_POOL

DEMO_LOOKUP = ("ons", "geography", "lsoa_ward_lad_lookup.csv")


@dg.asset(
    key=["raw", "ons_lsoa_ward_lookup"],
    group_name="ons",
    owners=["team:ons-geography"],
    description=(
        "Best-fit lookup of the place's LSOAs to wards and local authority (ONS Open "
        "Geography Portal). Live: ArcGIS REST query API, paged. Demo: bundled CSV."
    ),
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
)
def ons_lsoa_ward_lookup(warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = get_settings()
    place = settings.place_config
    if settings.source_mode == "live":
        fetched, pages = fetch_lookup(make_session(), place)
        landed = land_payloads(
            "ons", "geography", [(f"arcgis_page_{i:03d}.json", p) for i, p in enumerate(pages)]
        )

        def parse():
            return fetched
    else:
        path = demo_file(*DEMO_LOOKUP)
        landed = land_files("ons", "geography", [path])

        def parse():
            return parse_lookup_csv(path, place)

    frame = load_publisher_table(
        warehouse, "ons", "geography", "ons_lsoa_ward_lookup", landed, parse
    )
    metadata = raw_metadata("ons_lsoa_ward_lookup", frame, landed)
    metadata["wards"] = dg.MetadataValue.int(frame["ward_code"].nunique())
    return dg.MaterializeResult(metadata=metadata)
