"""The warehouse: one DuckDB file, written by one process at a time.

DuckDB allows one writer process or many readers, never both, so every asset or check that
opens the warehouse runs in the Dagster concurrency pool ``WAREHOUSE_POOL`` (limit 1, set in
the instance's dagster.yaml by ``marmot_assets.instance``).
"""

from __future__ import annotations

import contextlib
import os
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
from dagster._utils.backoff import backoff
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings

WAREHOUSE_POOL = "duckdb_warehouse"
# Below this much write-ahead log a step's close leaves it to be checkpointed later (see
# close_leaving_small_log); above it, the close checkpoints as DuckDB's does by default.
SMALL_LOG_BYTES = 1024 * 1024


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
            close_leaving_small_log(con, settings.warehouse_path)


def close_leaving_small_log(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Close ``con``, a read-write connection to the DuckDB file ``path``, without the
    checkpoint DuckDB makes at close while the file's write-ahead log is small.

    That checkpoint costs ~70-90 ms on the warehouse however little a step wrote (DuckDB
    writes every table's metadata again: ~1 ms a table), ~1.5 s of a refresh's ~20 steps
    that each load one source or partner. What a step commits is durable in the log (synced
    at each commit) whether or not it is checkpointed; the next writer that opens the file
    replays the log (~13-30 ms below the threshold) and checkpoints it at its own close, and DuckDB
    checkpoints by itself at a commit that takes the log past 16 MiB. A large log (a
    publisher's whole table) is checkpointed here, as before: every later open would replay
    it (skipping every checkpoint, as tried on 2026-12-07, made the refresh ~1 s slower)."""
    with contextlib.suppress(duckdb.Error, OSError):
        log = Path(f"{path}.wal")
        if not log.exists() or os.path.getsize(log) < SMALL_LOG_BYTES:
            con.execute("PRAGMA disable_checkpoint_on_shutdown")
    con.close()


def warehouse_resource() -> DuckDBResource:
    return WarehouseResource()


def replace_raw_table(
    warehouse: DuckDBResource, table: str, types: dict[str, str], frame: pd.DataFrame
) -> int:
    """Swap ``raw.<table>`` (columns and SQL types ``types``) for ``frame`` in one
    transaction: all of it or none of it (see ``replace_in``)."""
    with warehouse.get_connection() as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        with transaction(con):
            return replace_in(con, table, types, frame)


@contextmanager
def transaction(con):
    """What runs inside is one transaction on ``con``: committed if it ends, else rolled
    back (and the error raised)."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def replace_in(con, table: str, types: dict[str, str], frame: pd.DataFrame) -> int:
    """``raw.<table>`` made anew from ``frame`` on ``con``, inside the caller's transaction
    (schema ``raw`` made beforehand); its row count. Tables are created from ``types``, not
    inferred from pandas, so an all-empty column still has its proper type."""
    # In their own dtypes: DuckDB reads a missing value of every kind (None, NaN, pd.NA, NaT)
    # as SQL NULL, and each column is cast to its SQL type below (tests/test_raw_tables.py).
    data = frame.reindex(columns=list(types))
    columns = ", ".join(f'"{c}" {t}' for c, t in types.items())
    select = ", ".join(f'CAST("{c}" AS {t}) AS "{c}"' for c, t in types.items())
    con.execute(f"CREATE OR REPLACE TABLE raw.{table} ({columns})")
    con.register("incoming", data)
    try:
        con.execute(f"INSERT INTO raw.{table} SELECT {select} FROM incoming")
    finally:
        con.unregister("incoming")
    return con.execute(f"SELECT count(*) FROM raw.{table}").fetchone()[0]
