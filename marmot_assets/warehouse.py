"""The warehouse: one DuckDB file, written by one process at a time.

DuckDB allows one writer process or many readers, never both, so every asset or check that
opens the warehouse runs in the Dagster concurrency pool ``WAREHOUSE_POOL`` (limit 1, set in
the instance's dagster.yaml by ``marmot_assets.instance``).
"""

from __future__ import annotations

import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings

WAREHOUSE_POOL = "duckdb_warehouse"

# Column types of the raw tables (docs/raw-tables.md). Tables are created from these, not
# inferred from pandas, so an all-empty column still has its proper type.
RAW_TABLES: dict[str, dict[str, str]] = {
    "place_areas": {
        "area_code": "VARCHAR",
        "area_name": "VARCHAR",
        "area_type": "VARCHAR",
        "is_place": "BOOLEAN",
    },
    "ons_lsoa_ward_lookup": {
        "lsoa_code": "VARCHAR",
        "lsoa_name": "VARCHAR",
        "ward_code": "VARCHAR",
        "ward_name": "VARCHAR",
        "lad_code": "VARCHAR",
        "lad_name": "VARCHAR",
        "geography_vintage": "VARCHAR",
    },
    "mhclg_imd_lsoa": {
        **{c: "VARCHAR" for c in ("lsoa_code", "lsoa_name", "lad_code", "lad_name")},
        **{
            f"{domain}_{kind}": "INTEGER"
            for domain in (
                "imd",
                "income",
                "employment",
                "education",
                "health",
                "crime",
                "barriers",
                "living_environment",
            )
            for kind in ("rank", "decile")
        },
        **{
            c: "INTEGER"
            for c in (
                "population_total",
                "population_aged_0_15",
                "population_aged_16_59",
                "population_aged_60_plus",
                "population_working_age",
            )
        },
        "release": "VARCHAR",
    },
    "fingertips_indicator_values": {
        "indicator_id": "INTEGER",
        **{
            c: "VARCHAR"
            for c in (
                "indicator_name",
                "parent_code",
                "parent_name",
                "area_code",
                "area_name",
                "area_type",
                "sex",
                "age",
                "category_type",
                "category",
                "time_period",
            )
        },
        **{
            c: "DOUBLE"
            for c in (
                "value",
                "lower_ci_95",
                "upper_ci_95",
                "lower_ci_99_8",
                "upper_ci_99_8",
                "count",
                "denominator",
            )
        },
        **{
            c: "VARCHAR"
            for c in ("value_note", "recent_trend", "compared_to_england", "compared_to_parent")
        },
        "time_period_sortable": "BIGINT",
        **{c: "VARCHAR" for c in ("new_data", "compared_to_goal", "time_period_range")},
    },
}


def warehouse_resource() -> DuckDBResource:
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    # A memory limit makes DuckDB spill large deliveries to disk instead of holding them:
    # the door stages a whole file in a temporary table before its one-transaction write.
    return DuckDBResource(
        database=str(settings.warehouse_path),
        connection_config={
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": str(settings.home / "duckdb_tmp"),
        },
    )


def replace_raw_table(warehouse: DuckDBResource, table: str, frame: pd.DataFrame) -> int:
    """Swap ``raw.<table>`` for ``frame`` in one transaction: all of it or none of it."""
    types = RAW_TABLES[table]
    # Missing values of every kind (None, NaN, pd.NA) become SQL NULL.
    data = frame.reindex(columns=list(types)).astype(object)
    data = data.where(pd.notna(data), None)
    columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
    select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in types.items())
    with warehouse.get_connection() as con:
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute("CREATE SCHEMA IF NOT EXISTS raw")
            con.execute(f"CREATE OR REPLACE TABLE raw.{table} ({columns})")
            con.register("incoming", data)
            con.execute(f"INSERT INTO raw.{table} SELECT {select} FROM incoming")
            con.unregister("incoming")
            count = con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    return count
