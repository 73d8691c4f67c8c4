"""The warehouse's connections leave their commits in DuckDB's write-ahead log instead of
checkpointing at every close (warehouse.WarehouseResource). Nothing committed may be lost to
that: not by a process killed before it closed, and not by who copies the file alone after
a run (the run's end checkpoints)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import dagster as dg
import duckdb

from marmot_assets.config import get_settings
from marmot_assets.warehouse import WarehouseResource, checkpoint

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
    assert checkpoint(warehouse)
    assert not log.exists()
    alone = marmot_home / "copy.duckdb"
    shutil.copyfile(warehouse, alone)  # the file alone now holds every commit
    assert _count(alone) == (1001, 5000, 0)


def test_a_run_leaves_every_commit_in_the_file_itself(marmot_home):
    @dg.asset
    def written(warehouse: WarehouseResource) -> None:
        with warehouse.get_connection() as con:
            con.execute("create schema if not exists raw")
            con.execute("create or replace table raw.kept as select range as i from range(7)")

    @dg.asset(deps=[written])
    def written_again(warehouse: WarehouseResource) -> None:
        with warehouse.get_connection() as con:
            con.execute("insert into raw.kept values (100)")
            log = get_settings().warehouse_path.with_name("warehouse.duckdb.wal")
            assert log.is_file()  # the first step's commit, not yet checkpointed

    assert dg.materialize(
        [written, written_again], resources={"warehouse": WarehouseResource()}
    ).success
    warehouse = get_settings().warehouse_path
    assert not warehouse.with_name(warehouse.name + ".wal").exists()
    alone = marmot_home / "copy.duckdb"
    shutil.copyfile(warehouse, alone)
    assert _count(alone) == (8, 100, 0)


def test_the_runs_checkpoint_gives_way_to_a_writer_holding_the_file(marmot_home):
    marmot_home.mkdir(parents=True)
    warehouse = get_settings().warehouse_path
    assert not checkpoint(warehouse)  # no warehouse yet: nothing to do
    duckdb.connect(str(warehouse)).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time\n"
         f"con = duckdb.connect({str(warehouse)!r}); print('holding', flush=True); "
         "sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "holding"
        assert not checkpoint(warehouse)  # one attempt, no wait, no error
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    assert checkpoint(warehouse)
