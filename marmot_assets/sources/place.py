"""Configuration as tables dbt can join to: the configured place and its comparator areas,
and the partners' dataset contracts."""

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


def partner_datasets_frame() -> pd.DataFrame:
    from marmot_assets.partners.contract import load_contracts

    rows = [
        (c.partner, c.dataset, c.title, c.publication_cadence, c.record_level, c.public_register)
        for c in load_contracts().values()
    ]
    return pd.DataFrame(rows, columns=list(RAW_TABLES["partner_datasets"]))


@dg.asset(
    key=["raw", "partner_datasets"],
    group_name="place",
    owners=[PLATFORM_OWNER],
    description="The partners' dataset contracts (marmot_assets/partners/contracts), one row "
    "each: title, publication cadence, whether record level, whether the partner publishes the "
    "dataset itself (public_register: only then may a release name organisations in it).",
    kinds={"python", "duckdb"},
    pool=WAREHOUSE_POOL,
    check_specs=check_specs("partner_datasets"),
)
def partner_datasets(warehouse: DuckDBResource) -> dg.MaterializeResult:
    frame = partner_datasets_frame()
    replace_raw_table(warehouse, "partner_datasets", RAW_TABLES["partner_datasets"], frame)
    return source_checked(
        warehouse, "partner_datasets", raw_metadata("partner_datasets", frame, [])
    )
