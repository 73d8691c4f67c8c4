"""The warehouse: one DuckDB file, written by one process at a time.

DuckDB allows one writer process or many readers, never both, so every asset or check that
opens the warehouse runs in the Dagster concurrency pool ``WAREHOUSE_POOL`` (limit 1, set in
the instance's dagster.yaml by ``marmot_assets.instance``).
"""

from __future__ import annotations

from contextlib import contextmanager

import duckdb
import pandas as pd
from dagster._utils.backoff import backoff
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings

WAREHOUSE_POOL = "duckdb_warehouse"


class WarehouseResource(DuckDBResource):
    """The warehouse of the settings in force when a step opens it, not when the definitions
    were built: Dagster keeps loaded definitions for the life of a process, so a process that
    runs refreshes for more than one MARMOT_HOME (the tests, a long-lived worker) must not
    write into the first one's file while dbt reads the current one. Closes on error too."""

    database: str = ""

    @contextmanager
    def get_connection(self):
        settings = get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        # A memory limit makes DuckDB spill large deliveries to disk instead of holding them:
        # the door stages a whole file in a temporary table before its one-transaction write.
        config = {
            "memory_limit": settings.duckdb_memory_limit,
            "temp_directory": str(settings.home / "duckdb_tmp"),
            **self.connection_config,
        }
        con = backoff(
            fn=duckdb.connect,
            retry_on=(RuntimeError, duckdb.IOException),
            kwargs={"database": str(settings.warehouse_path), "config": config},
            max_retries=10,
        )
        try:
            yield con
        finally:
            con.close()


def warehouse_resource() -> DuckDBResource:
    return WarehouseResource()


def replace_raw_table(
    warehouse: DuckDBResource, table: str, types: dict[str, str], frame: pd.DataFrame
) -> int:
    """Swap ``raw.<table>`` (columns and SQL types ``types``) for ``frame`` in one
    transaction: all of it or none of it. Tables are created from ``types``, not inferred
    from pandas, so an all-empty column still has its proper type."""
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
