"""Partitions and backfills: the Nomis claimant count (an API source) is partitioned by month;
a backfill of 3 months runs as one run that asks Nomis for exactly those months, and running it
again changes nothing (the same bytes are a duplicate delivery), so the marts are the same.

On a copy of the shared demo refresh, with Nomis on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil

import dagster as dg
import duckdb
import pytest
from helpers import inbox_files

from marmot_assets.config import get_settings
from marmot_assets.definitions import REFRESH_JOB, build_definitions
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.partitions import partitions_for, recent_range

PATH = "/api/v01/dataset/NM_162_1.data.csv"
CONTRACT = get_contract("dwp_nomis/claimant_count")
RAW = dg.AssetKey(["raw", CONTRACT.table])
MONTHS = ["2024-01", "2024-02", "2024-03"]
RANGE = {
    "dagster/asset_partition_range_start": MONTHS[0],
    "dagster/asset_partition_range_end": MONTHS[-1],
}


def _nomis_reply(demo_root):
    """What Nomis answers for the months asked (the demo's own rows, each count revised +5)."""
    files = {path.name[-11:-4]: path.read_bytes().decode() for path in
             inbox_files(demo_root, CONTRACT)}  # fmt: skip

    def reply(query) -> bytes:
        months = query["date"][0].split(",")
        header = next(iter(files.values())).splitlines()[0]
        rows = []
        for month in months:
            for line in files[month].splitlines()[1:]:
                cells = line.split(",")
                if '"Claimant count"' in line:
                    cells[-1] = f'"{int(cells[-1].strip(chr(34))) + 5}"'
                rows.append(",".join(cells))
        return ("\n".join([header, *rows]) + "\n").encode()

    return reply


@pytest.fixture
def live_copy(demo_refresh, demo_root, tmp_path, monkeypatch, http_server):
    home = tmp_path / "marmot"
    shutil.copytree(demo_refresh["home"], home, symlinks=True)
    monkeypatch.setenv("MARMOT_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("MARMOT_SOURCE_MODE", "live")
    monkeypatch.setenv("MARMOT_NOMIS_URL", http_server.base_url + PATH)
    monkeypatch.delenv("MARMOT_SOURCE_DIR", raising=False)
    get_settings.cache_clear()
    http_server.route(PATH, (200, {"Content-Type": "text/csv"}, _nomis_reply(demo_root)))
    yield home, http_server
    get_settings.cache_clear()


def _marts(home) -> tuple[str, list[tuple]]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select * exclude (value_key) from marts.fct_indicator_values order by all"
        ).fetchall()
        claimants = con.execute(
            "select area_code, period, numerator from marts.fct_indicator_values "
            "where indicator_id = 'claimant_rate' and area_type = 'lsoa' and period in "
            "('2024-01', '2024-02', '2024-03') order by all"
        ).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest(), claimants


def test_monthly_partitions_of_the_api_source():
    partitions = partitions_for(CONTRACT)
    assert partitions.get_partition_keys()[:2] == ["2023-01", "2023-02"]
    import datetime as dt

    assert recent_range(CONTRACT, dt.datetime(2026, 12, 20, 6)) == ("2025-12", "2026-11")
    graph = build_definitions().get_repository_def().asset_graph
    assert graph.get(RAW).partitions_def == partitions
    assert graph.get(RAW).backfill_policy == dg.BackfillPolicy.single_run()
    # the drop-folder sources are not partitioned: a delivery holds what the partner sent
    housing = dg.AssetKey(["raw", "council_housing__temporary_accommodation"])
    assert graph.get(housing).partitions_def is None


def test_a_backfill_of_three_months_is_one_run_and_idempotent(live_copy):
    home, server = live_copy
    defs = build_definitions()
    graph = defs.get_repository_def().asset_graph
    # the source and the dbt models built from it (publishing is tested elsewhere)
    selection = list(
        (
            dg.AssetSelection.assets(RAW).downstream() - dg.AssetSelection.groups("publication")
        ).resolve(graph)
    )
    job = defs.resolve_job_def(REFRESH_JOB)
    _, before = _marts(home)
    outcomes = []
    with dg.DagsterInstance.get() as instance:
        for _ in range(2):  # the same backfill, twice
            result = job.execute_in_process(
                instance=instance, asset_selection=selection, tags=RANGE
            )
            assert result.success
            partitions = sorted(
                e.partition for e in result.get_asset_materialization_events()
                if e.asset_key == RAW
            )  # fmt: skip
            assert partitions == MONTHS  # one run materialised the three partitions
            outcomes.append(_marts(home))
    asked = server.requests[PATH]
    assert [q["date"] for q in asked] == [[",".join(MONTHS)]] * 2  # exactly those months
    first, second = outcomes
    assert first == second  # run twice: the same marts
    assert first[1] != before  # and the backfill did bring the revised counts in
    assert [n for *_, n in first[1]] == [n + 5 for *_, n in before]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        statuses = con.execute(
            "select status from raw.landing_manifest where partner = 'dwp_nomis' "
            "order by received_at desc limit 2"
        ).fetchall()
    assert statuses == [("duplicate",), ("loaded",)]
