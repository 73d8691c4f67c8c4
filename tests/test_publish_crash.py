"""SIGKILL at several moments of publication leaves the serving file a whole, valid release."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest
from publish_helpers import make_warehouse, publish, sql

from marmot_assets.publish import releases as rel
from marmot_assets.publish.build import publish_release, stage_release

# Publishes a staged release in its own process, announcing each moment and lingering there.
PUBLISHER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from marmot_assets.publish.build import publish_release
    home, release_id, stop_at = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
    linger = float(sys.argv[4])
    def pause(moment):
        print(moment, flush=True)
        time.sleep(60 if moment == stop_at else linger)
    publish_release(home, release_id, [], 5, pause=pause)
    print("done", flush=True)
    """
)
MOMENTS = ["finalised", "kept", "copied", "before_replace", "replaced"]


def stage(home, warehouse) -> str:
    sql(warehouse, "update publish.fct_indicator_values set value = value + 0.01")
    with duckdb.connect(str(warehouse)) as con:
        return stage_release(con, home)


def assert_whole_release_served(home, allowed: set[str]) -> str:
    path = home / "serving" / "marmot.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        (release_id, counts) = con.execute(
            "select release_id, row_counts from release_manifest"
        ).fetchone()
        for table, rows in json.loads(counts).items():
            assert con.execute(f'select count(*) from "{table}"').fetchone()[0] == rows
    assert release_id in allowed
    return release_id


def publisher(home, release_id, stop_at, linger=0.0):
    return subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(home), release_id, stop_at, str(linger)],
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("moment", MOMENTS)
def test_sigkill_at_each_moment_of_publication(marmot_home, moment):
    warehouse = make_warehouse(marmot_home / "warehouse.duckdb")
    assert publish(warehouse).success
    before = rel.served_release_id(marmot_home)
    release_id = stage(marmot_home, warehouse)
    proc = publisher(marmot_home, release_id, moment)
    for line in proc.stdout:
        if line.strip() == moment:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    served = assert_whole_release_served(marmot_home, {before, release_id})
    # before the rename the old release is served; after it, the new one
    assert served == (release_id if moment == "replaced" else before)
    # publishing again completes the interrupted release and clears what the kill left
    publish_release(marmot_home, release_id, [], 5)
    assert assert_whole_release_served(marmot_home, {release_id}) == release_id
    assert not list((marmot_home / "serving").glob(".marmot.duckdb.*.tmp"))


def test_sigkill_at_random_times_in_a_loop(marmot_home):
    warehouse = make_warehouse(marmot_home / "warehouse.duckdb")
    assert publish(warehouse).success
    known = {rel.served_release_id(marmot_home)}
    rng = random.Random(2013)
    for _ in range(5):
        release_id = stage(marmot_home, warehouse)
        known.add(release_id)
        proc = publisher(marmot_home, release_id, "never", linger=0.05)
        time.sleep(rng.uniform(0.5, 2.5))  # the interpreter starts, then publication runs
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert_whole_release_served(marmot_home, known)
    assert publish(warehouse).success
