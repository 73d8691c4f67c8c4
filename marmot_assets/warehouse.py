"""The warehouse: one DuckDB file, written by one process at a time.

DuckDB allows one writer process or many readers, never both, so every asset or check that
opens the warehouse runs in the Dagster concurrency pool ``WAREHOUSE_POOL`` (limit 1, set in
the instance's dagster.yaml by ``marmot_assets.instance``).
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import dagster as dg
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
        # Each commit is already durable in the write-ahead log; a checkpoint at every close
        # (~80 ms, ~20 steps a refresh) only moved it into the file sooner. The log is
        # replayed by whoever opens the file next (dbt, the next step, or after a crash, as
        # it would be anyway) and checkpointed once at the run's end (teardown, below).
        con.execute("PRAGMA disable_checkpoint_on_shutdown")
        try:
            yield con
        finally:
            con.close()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        checkpoint(get_settings().warehouse_path)


def checkpoint(path: Path) -> bool:
    """Move the write-ahead log into the warehouse file, so that the file alone (a copy, a
    backup) holds every commit. One attempt: a run ending while another run's step holds
    the file leaves the log to that step's process, and loses nothing either way."""
    if not path.is_file():
        return False
    try:
        with duckdb.connect(str(path)) as con:
            con.execute("checkpoint")
    except duckdb.Error:
        return False
    return True


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
