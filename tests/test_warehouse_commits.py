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


def _log(warehouse):
    return warehouse.with_name(warehouse.name + ".wal")


def test_a_step_that_wrote_little_leaves_its_log_and_loses_nothing(marmot_home):
    """A close with a small log is not checkpointed (warehouse.close_leaving_small_log): the
    log stays, a reader and the next writer see every commit, and a close with a log past
    SMALL_LOG_BYTES checkpoints it all into the file."""
    from marmot_assets import warehouse as wh

    marmot_home.mkdir(parents=True)
    path = get_settings().warehouse_path
    with WarehouseResource().get_connection() as con:
        con.execute("create schema raw")
        con.execute("create table raw.kept as select range as i from range(1000)")
    assert _log(path).is_file() and 0 < _log(path).stat().st_size < wh.SMALL_LOG_BYTES
    assert _count(path) == (1000, 999, 0)  # a reader replays the log
    with WarehouseResource().get_connection() as con:
        con.execute("insert into raw.kept values (5000)")
    assert _log(path).is_file()
    assert _count(path) == (1001, 5000, 0)

    # past the threshold: checkpointed at close, as DuckDB does by default
    with WarehouseResource().get_connection() as con:
        con.execute(
            "create table raw.wide as select range as i, repeat('x', 100) || range as s "
            "from range(40000)"
        )
        assert _log(path).stat().st_size > wh.SMALL_LOG_BYTES
    assert not _log(path).exists() or _log(path).stat().st_size == 0
    size_checkpointed = path.stat().st_size
    assert _count(path) == (1001, 5000, 0)
    assert _count(path, "select count(*), max(i), min(i) from raw.wide") == (40000, 39999, 0)
    assert size_checkpointed > 1024 * 1024  # the rows are in the file itself now


def test_a_failed_transaction_still_closes(marmot_home):
    """The close's pragma on a connection whose transaction failed: the close still
    happens (the file is free for the next writer) and the failed write is not there."""
    marmot_home.mkdir(parents=True)
    path = get_settings().warehouse_path
    with WarehouseResource().get_connection() as con:
        con.execute("create schema raw")
        con.execute("create table raw.kept (i integer primary key)")
        con.execute("insert into raw.kept values (1)")
    try:
        with WarehouseResource().get_connection() as con:
            con.execute("begin")
            con.execute("insert into raw.kept values (2)")
            con.execute("insert into raw.kept values (1)")  # a constraint error
    except duckdb.ConstraintException:
        pass
    with duckdb.connect(str(path)) as con:  # the next writer: only what was committed
        assert con.execute("select count(*), max(i) from raw.kept").fetchone() == (1, 1)
