"""The serving file as BI tools read it: read-only, external access off, configuration locked."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pytest
from publish_helpers import READER, make_warehouse, publish, sql

from marmot_assets.publish import releases as rel

READER_CONFIG = {"enable_external_access": False, "lock_configuration": True}


@pytest.fixture
def warehouse(marmot_home):
    return make_warehouse(marmot_home / "warehouse.duckdb")


def test_a_reader_process_keeps_its_release_until_it_reconnects(marmot_home, warehouse):
    assert publish(warehouse).success
    first = rel.served_release_id(marmot_home)
    path = marmot_home / "serving" / "marmot.duckdb"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def ask(line="ask"):
            reader.stdin.write(line + "\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        assert ask() == first
        # the warehouse is written while the reader holds the serving file open
        sql(warehouse, "update publish.fct_indicator_values set value = value + 0.1")
        assert publish(warehouse).success
        second = rel.served_release_id(marmot_home)
        assert second != first
        assert ask() == first
        assert ask("reconnect") == second
    finally:
        reader.stdin.close()
        reader.wait(timeout=30)
    assert reader.returncode == 0


def test_the_bi_connection_settings_hold_with_this_duckdb(marmot_home, warehouse):
    assert publish(warehouse).success
    path = str(marmot_home / "serving" / "marmot.duckdb")
    with duckdb.connect(path, read_only=True, config=READER_CONFIG) as con:
        assert con.execute("select count(*) from fct_indicator_values").fetchone()[0] > 0
        for statement in (
            "select * from read_csv('/etc/passwd')",
            "set enable_external_access = true",
            f"attach '{marmot_home / 'other.duckdb'}' as other",
            "create table t (x int)",
        ):
            with pytest.raises(duckdb.Error):
                con.execute(statement)
