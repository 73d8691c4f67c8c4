"""A step's commits through the warehouse resource survive its process killed before it
closes the warehouse (a run killed mid-step): DuckDB's write-ahead log holds them, and
whoever opens the file next replays it; what was not committed is not there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import duckdb

from marmot_assets.config import get_settings
from marmot_assets.warehouse import WarehouseResource

# A writer that commits through the resource, says so, and is killed before it closes.
WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from marmot_assets.warehouse import WarehouseResource
    with WarehouseResource().get_connection() as con:
        con.execute("create schema if not exists raw")
        con.execute("create table raw.kept as select range as i from range(1000)")
        con.execute("begin")
        con.execute("insert into raw.kept select 5000")
        con.execute("commit")
        con.execute("begin")
        con.execute("insert into raw.kept select -1")  # never committed
        print("committed", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _count(path, sql="select count(*), max(i), min(i) from raw.kept"):
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchone()


def test_a_writer_killed_before_it_closes_loses_no_commit(marmot_home):
    marmot_home.mkdir(parents=True)
    done = subprocess.run(
        [sys.executable, "-c", WRITER], env=os.environ, capture_output=True, text=True
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    assert "committed" in done.stdout
    warehouse = get_settings().warehouse_path
    log = warehouse.with_name(warehouse.name + ".wal")
    assert log.is_file() and log.stat().st_size > 0  # the commits are in the log only
    assert _count(warehouse) == (1001, 5000, 0)  # replayed: both commits, not the open one
    with WarehouseResource().get_connection() as con:  # and a writer goes on from there
        con.execute("insert into raw.kept values (6000)")
    assert _count(warehouse) == (1002, 6000, 0)
