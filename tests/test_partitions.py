"""Partitions and backfills, the way each source's data comes.

The Nomis claimant count (an API source) is partitioned by month: a backfill of 3 months runs
as one run that asks Nomis for exactly those months, and running it again changes nothing (the
same bytes are a duplicate delivery), so the marts are the same. Police street crime (a drop
folder) is partitioned by month too: a backfill of 3 months replays them from the files
received, in one run, repairing raw rows that were damaged, and running it again changes
nothing. A delivery taken without a partition records each period it brought as a partition.

On copies of the shared demo refresh, with Nomis on a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import shutil

import dagster as dg
import duckdb
import pytest
from helpers import copied_home, inbox_files, warehouse_rows

from marmot_assets.config import get_settings
from marmot_assets.definitions import REFRESH_JOB, build_definitions
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.partitions import (
    partition_key,
    partitions_for,
    period_label,
    recent_range,
)

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
    # drop-folder sources with periods are partitioned by them, keyed by their first month
    housing = graph.get(dg.AssetKey(["raw", "council_housing__temporary_accommodation"]))
    assert housing.partitions_def.get_partition_keys()[:5] == [
        "2022-04", "2022-07", "2022-10", "2023-01", "2023-04"]  # fmt: skip
    assert housing.backfill_policy == dg.BackfillPolicy.single_run()
    eyfs = graph.get(dg.AssetKey(["raw", "council_education__eyfs_results"]))
    assert eyfs.partitions_def.get_partition_keys()[:2] == ["2021-09", "2022-09"]
    assert graph.get(dg.AssetKey(["raw", "vcs__stories"])).partitions_def is None


@pytest.mark.parametrize(
    ("kind", "period", "key"),
    [
        ("monthly", "2024-02", "2024-02"),
        ("financial_quarter", "2024-25 Q1", "2024-04"),
        ("financial_quarter", "2024-25 Q3", "2024-10"),
        ("financial_quarter", "2024-25 Q4", "2025-01"),
        ("academic_year", "2022/23", "2022-09"),
        ("academic_year", "1999/00", "1999-09"),
    ],
)
def test_a_period_is_keyed_by_its_first_month(kind, period, key):
    assert partition_key(kind, period) == key
    assert period_label(kind, key) == period


@pytest.mark.parametrize(
    ("kind", "period"),
    [("monthly", "2024-13"), ("monthly", "2024-1"), ("financial_quarter", "2024-25 Q5"),
     ("financial_quarter", "2024 Q1"), ("academic_year", "2022-23")],
)  # fmt: skip
def test_what_is_not_a_period_has_no_partition(kind, period):
    assert partition_key(kind, period) is None


def test_a_partition_start_must_begin_a_period():
    from marmot_assets.partners.contract import Contract

    fields = get_contract("council_housing/temporary_accommodation").model_dump()
    with pytest.raises(ValueError, match="not the first month of a financial quarter"):
        Contract.model_validate({**fields, "partitions_start": "2022-05"})


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


@pytest.fixture
def demo_copy(demo_refresh, tmp_path_factory):
    """A copy of the demo refresh's home (warehouse, landing, instance), files as demo mode
    reads them."""
    with copied_home(tmp_path_factory, "partitions", demo_refresh) as run:
        yield run["home"]


POLICE = get_contract("police/street_crime")
POLICE_RAW = dg.AssetKey(["raw", POLICE.table])


def _police_rows(home) -> list[tuple]:
    return warehouse_rows(
        home,
        f"select * from raw.{POLICE.table} where month in ('2024-01', '2024-02', '2024-03') "
        "order by all",
    )


def test_a_backfill_of_three_months_of_a_drop_folder_replays_them(demo_copy):
    home = demo_copy
    rows, (marts, _) = _police_rows(home), _marts(home)
    assert {r[1] for r in rows} == set(MONTHS)
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:  # raw rows damaged
        con.execute(f"update raw.{POLICE.table} set crime_type = 'Drugs' where month = '2024-02'")
        con.execute(
            f"delete from raw.{POLICE.table} where month = '2024-03' and _row_number % 2 = 0"
        )
    assert _police_rows(home) != rows
    defs = build_definitions()
    graph = defs.get_repository_def().asset_graph
    selection = list(
        (
            dg.AssetSelection.assets(POLICE_RAW).downstream()
            - dg.AssetSelection.groups("publication")
        ).resolve(graph)
    )
    job = defs.resolve_job_def(REFRESH_JOB)
    with dg.DagsterInstance.get() as instance:
        for _ in range(2):  # the same backfill, twice
            result = job.execute_in_process(
                instance=instance, asset_selection=selection, tags=RANGE
            )
            assert result.success
            events = [e for e in result.get_asset_materialization_events()
                      if e.asset_key == POLICE_RAW]  # fmt: skip
            assert sorted(e.partition for e in events) == MONTHS  # one run, three partitions
            replayed = events[0].materialization.metadata["replayed"].value
            assert replayed.count("| replayed") == 3, replayed  # one delivery per month
            assert _police_rows(home) == rows  # rebuilt from the bytes received, as they were
            assert _marts(home)[0] == marts
            checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()
                      if c.asset_key == POLICE_RAW}  # fmt: skip
            assert checks == {"every_file_accepted": True, "no_rows_quarantined": True}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        replays = con.execute(
            "select count(*) from raw.landing_manifest where partner = 'police' "
            "and received_at > (select max(received_at) from raw.landing_manifest "
            "where partner = 'police' and status = 'loaded')"
        ).fetchone()[0]
    assert replays == 0  # a replay is not a receipt: the manifest is unchanged


def test_a_month_whose_landed_copy_was_altered_is_not_replayed(demo_copy):
    home = demo_copy
    rows = _police_rows(home)
    landed = sorted((home / "landing" / "police" / "street_crime").glob("*2024-02-west*"))[0]
    landed.chmod(0o600)
    landed.write_bytes(landed.read_bytes().replace(b"Burglary", b"Robbery"))
    defs = build_definitions()
    job = defs.resolve_job_def(REFRESH_JOB)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=[POLICE_RAW], tags=RANGE)
    assert result.success  # the check fails, not the run
    (check,) = [c for c in result.get_asset_check_evaluations()
                if c.check_name == "every_file_accepted"]  # fmt: skip
    assert not check.passed
    assert "not the bytes received" in check.metadata["files_not_replayed"].value
    assert check.metadata["files_replayed"].value == 2
    assert _police_rows(home) == rows  # the month kept its rows


def test_a_delivery_records_the_periods_it_brought_as_partitions(demo_copy, demo_root):
    home = demo_copy
    source = inbox_files(demo_root, POLICE)[1]  # 2024-02, its outcomes updated
    inbox = home / "inbox" / "police" / "street_crime"
    inbox.mkdir(parents=True, exist_ok=True)
    revised = source.read_bytes().replace(b"Under investigation", b"Unable to prosecute suspect")
    assert revised != source.read_bytes()
    (inbox / source.name).write_bytes(revised)
    (inbox / f"{source.name}.done").touch()
    defs = build_definitions()
    job = defs.resolve_job_def(REFRESH_JOB)
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(instance=instance, asset_selection=[POLICE_RAW])
        assert result.success
        events = [e for e in result.get_asset_materialization_events()
                  if e.asset_key == POLICE_RAW]  # fmt: skip
        assert sorted(str(e.partition) for e in events) == ["2024-02", "None"]
        (month,) = [e for e in events if e.partition]
        assert month.materialization.metadata["file"].value == source.name
        assert month.materialization.metadata["rows"].value > 0
        # the partitions view: the month now has this run's materialisation as its latest
        latest = instance.get_latest_materialization_event(POLICE_RAW)
        assert latest.run_id == result.run_id
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=POLICE_RAW, asset_partitions=["2024-02"]), limit=1
        ).records
        assert records[0].run_id == result.run_id
