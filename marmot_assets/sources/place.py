"""Configuration as tables dbt can join to: the configured place and its comparator areas,
and the partners' dataset contracts."""

from __future__ import annotations

from collections.abc import Callable

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


def partner_datasets_frame() -> pd.DataFrame:
    from marmot_assets.partners.contract import load_contracts

    rows = [
        (c.partner, c.dataset, c.title, c.publication_cadence, c.record_level, c.public_register)
        for c in load_contracts().values()
    ]
    return pd.DataFrame(rows, columns=list(RAW_TABLES["partner_datasets"]))


def configuration_asset(table: str, description: str, frame: Callable[[], pd.DataFrame]):
    """The asset writing ``raw.<table>`` from configuration (``frame()``), with dbt's source
    tests on it as checks. No code version: what it writes follows the place and contract
    files, not this code."""

    @dg.asset(
        key=["raw", table],
        group_name="place",
        owners=[PLATFORM_OWNER],
        description=description,
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        check_specs=check_specs(table),
    )
    def write(warehouse: DuckDBResource) -> dg.MaterializeResult:
        rows = frame()
        replace_raw_table(warehouse, table, RAW_TABLES[table], rows)
        return source_checked(warehouse, table, raw_metadata(table, rows, []))

    return write


place_areas = configuration_asset(
    "place_areas",
    "The configured place (MARMOT_PLACE) and its comparators (England, region).",
    place_areas_frame,
)
partner_datasets = configuration_asset(
    "partner_datasets",
    "The partners' dataset contracts (marmot_assets/partners/contracts), one row each: title, "
    "publication cadence, whether record level, whether the partner publishes the dataset "
    "itself (public_register: only then may a release name organisations in it).",
    partner_datasets_frame,
)
