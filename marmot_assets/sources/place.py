"""The configured place and its comparator areas, as a table dbt can join to."""

from __future__ import annotations

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings
from marmot_assets.sources.common import raw_metadata, source_checked
from marmot_assets.sources.tables import RAW_TABLES
from marmot_assets.transform.source_tests import check_specs
from marmot_assets.ui_metadata import PLATFORM_OWNER
from marmot_assets.warehouse import WAREHOUSE_POOL, replace_raw_table


def place_areas_frame() -> pd.DataFrame:
    place = get_settings().place_config
    rows = [(place.code, place.name, place.area_type, True)] + [
        (a.code, a.name, a.area_type, False) for a in place.comparators
    ]
    return pd.DataFrame(rows, columns=["area_code", "area_name", "area_type", "is_place"])


@dg.asset(
    key=["raw", "place_areas"],
    group_name="place",
    owners=[PLATFORM_OWNER],
    description="The configured place (MARMOT_PLACE) and its comparators (England, region).",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=check_specs("place_areas"),
)
def place_areas(warehouse: DuckDBResource) -> dg.MaterializeResult:
    frame = place_areas_frame()
    replace_raw_table(warehouse, "place_areas", RAW_TABLES["place_areas"], frame)
    return source_checked(warehouse, "place_areas", raw_metadata("place_areas", frame, []))
