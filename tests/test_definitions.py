"""The code location: loads from the prepared manifest, wires sources to dbt, describes assets."""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from marmot_assets.definitions import build_definitions
from marmot_assets.freshness import WINDOWS
from marmot_assets.partners.contract import get_contract
from marmot_assets.schedules import FINGERTIPS_SCHEDULE
from marmot_assets.transform.project import dbt_project

LONDON = ZoneInfo("Europe/London")

RAW = ["place_areas", "ons_lsoa_ward_lookup", "mhclg_imd_lsoa", "fingertips_indicator_values"]


@pytest.fixture(scope="module")
def defs():
    return build_definitions()


def test_loading_runs_no_subprocess(monkeypatch, marmot_home):
    """Loading must not run `dbt parse` (nor anything else): it reads the prepared manifest."""
    dbt_project.cache_clear()

    def forbidden(*args, **kwargs):
        raise AssertionError(f"subprocess started while loading: {args[0]!r}")

    monkeypatch.setattr(subprocess.Popen, "__init__", forbidden)
    monkeypatch.delenv("DAGSTER_IS_DEV_CLI", raising=False)
    try:
        loaded = build_definitions()
    finally:
        dbt_project.cache_clear()
    # the refresh holds every asset and check, whatever partitions their sources have
    refresh, graph = loaded.resolve_job_def("marmot_refresh"), loaded.resolve_asset_graph()
    materialisable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    assert set(refresh.asset_layer.executable_asset_keys) == materialisable
    assert refresh.asset_layer.asset_graph.asset_check_keys == graph.asset_check_keys
    partitioned = {graph.get(k).partitions_def for k in materialisable} - {None}
    assert len(partitioned) > 1 and refresh.partitions_def is None


def test_staging_models_depend_on_the_python_source_assets(defs):
    graph = defs.resolve_asset_graph()
    for table in RAW:
        key = dg.AssetKey(["raw", table])
        assert graph.has(key) and graph.get(key).is_materializable
        children = graph.get(key).child_keys
        assert any(c.path[0] == "staging" for c in children), (table, children)


def test_source_assets_are_described_and_owned(defs):
    graph = defs.resolve_asset_graph()
    publishers = {
        "ons_lsoa_ward_lookup": "ons",
        "mhclg_imd_lsoa": "mhclg",
        "fingertips_indicator_values": "ohid_fingertips",
    }
    for table, group in publishers.items():
        node = graph.get(dg.AssetKey(["raw", table]))
        assert node.group_name == group
        assert node.description and len(node.description) > 40
        assert node.owners
        assert node.pools == {"duckdb_warehouse"}


def test_every_asset_has_description_owner_and_kinds(defs):
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key
        assert node.owners, key
        assert node.kinds, key
        layer = key.path[0]
        if layer in ("intermediate", "marts", "publish", "publication"):
            assert node.owners == ["team:platform"], key
        if layer in ("raw", "staging", "intermediate", "marts", "publish") and key.path[1] not in (
            "place_areas",
            "partner_datasets",  # configuration, versioned with the place and contract files
        ):
            assert node.code_version, key


# Publishing copies the audited release file into serving/: it never opens the warehouse, so
# it need not wait for the warehouse's one writer slot.
OUTSIDE_THE_POOL = {dg.AssetKey(["publication", "release"])}


def test_every_warehouse_step_is_in_the_pool(defs):
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            expected = set() if key in OUTSIDE_THE_POOL else {"duckdb_warehouse"}
            assert node.pools == expected, key


def test_fingertips_gate_is_blocking():
    from marmot_assets.quality.fingertips_checks import fingertips_values_valid

    [spec] = list(fingertips_values_valid.check_specs)
    assert spec.blocking
    assert spec.asset_key == dg.AssetKey(["raw", "fingertips_indicator_values"])


@pytest.mark.parametrize(
    ("moment", "runs"),
    [
        (datetime(2026, 12, 1, 9, tzinfo=LONDON), True),  # the first Tuesday of December
        (datetime(2026, 12, 8, 9, tzinfo=LONDON), False),
        (datetime(2027, 1, 5, 9, tzinfo=LONDON), True),
        (datetime(2027, 1, 26, 9, tzinfo=LONDON), False),
    ],
)
def test_fingertips_runs_on_the_first_tuesday_of_each_month_only(defs, moment, runs):
    schedule = defs.resolve_schedule_def(FINGERTIPS_SCHEDULE)
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.cron_schedule == "0 9 * * 2"  # it ticks on Tuesdays ...
    with dg.build_schedule_context(scheduled_execution_time=moment) as context:
        result = schedule.evaluate_tick(context)
    # ... and runs on the first of the month only, once per month
    if runs:
        assert [r.run_key for r in result.run_requests] == [f"fingertips-{moment:%Y-%m}"]
    else:
        assert not result.run_requests and "not the first Tuesday" in result.skip_message


def test_api_sources_are_scheduled_at_their_cadence_and_running(defs):
    schedules = {s.name: s for s in defs.schedules}
    nomis = schedules["dwp_nomis__claimant_count__schedule"]
    assert nomis.default_status == dg.DefaultScheduleStatus.RUNNING
    assert nomis.cron_schedule == "0 6 20 * *"  # the contract's api_schedule: monthly
    # the weekly whole refresh is there on demand, not running by itself
    weekly = schedules["marmot_refresh_weekly"]
    assert weekly.default_status == dg.DefaultScheduleStatus.STOPPED


def _freshness(defs, key: list[str]):
    return defs.resolve_assets_def(dg.AssetKey(key)).specs_by_key[dg.AssetKey(key)].freshness_policy


def _windows(policy) -> tuple[timedelta, timedelta]:
    """(warn, fail) of a time-window freshness policy, as plain timedeltas."""
    return tuple(
        timedelta(days=w.days, seconds=w.seconds, microseconds=w.microseconds)
        for w in (policy.warn_window, policy.fail_window)
    )


def test_sources_and_marts_have_freshness_policies_from_their_cadence(defs):
    assert _windows(_freshness(defs, ["raw", "fingertips_indicator_values"])) == WINDOWS["monthly"]
    # a partner dataset's window follows its contract's publication cadence
    housing = get_contract("council_housing/temporary_accommodation")
    policy = _freshness(defs, ["raw", housing.table])
    assert _windows(policy) == WINDOWS[housing.publication_cadence]
    # on-demand sources (lookups, IoD releases) have none; the marts follow monthly sources
    assert _freshness(defs, ["raw", "ons_lsoa_ward_lookup"]) is None
    assert _windows(_freshness(defs, ["marts", "fct_indicator_values"])) == WINDOWS["monthly"]
    assert _freshness(defs, ["staging", "stg_ons__lsoa_ward_lookup"]) is None


def _all_checks(defs) -> list[dg.AssetCheckSpec]:
    specs = [s for a in defs.assets if hasattr(a, "check_specs") for s in a.check_specs]
    return specs + [s for c in defs.asset_checks or [] for s in c.check_specs]


def test_every_check_says_what_it_asserts(defs):
    checks = _all_checks(defs)
    assert len(checks) > 250
    assert [c.key for c in checks if not (c.description or "").strip()] == []
    by_key = {(c.asset_key.to_user_string(), c.name): c.description for c in checks}
    assert (
        by_key[("staging/stg_police__street_crime", "unique_stg_police__street_crime_crime_id")]
        == "No two rows share a value of crime_id."
    )
    # a staging or intermediate model's columns are checked for NULLs in one test
    assert by_key[
        ("staging/stg_police__street_crime", "not_null_columns_stg_police__street_crime")
    ].startswith("Every row has a value in each of month, reported_by, falls_within, lsoa_code,")
    # a singular test is described by the comment its SQL opens with
    reach = by_key[
        ("intermediate/int_local_indicator_values", "assert_reach_within_eligible_population")
    ]
    assert reach.startswith("Reach counts distinct people")
    # every singular test is a check of one asset (none arrives as a bare observation)
    singular = {path.stem for path in (dbt_project().project_dir / "tests").glob("*.sql")}
    assert singular <= {name for _, name in by_key}


def test_the_dbt_resource_knows_the_dbt_version_without_starting_dbt():
    """The resource reads dbt's version from the installed dbt-core (no `dbt --version` per
    step): the same version dbt itself reports."""
    from dagster_dbt import DbtCliResource

    from marmot_assets.transform.assets import dbt_resource

    ours = dbt_resource()
    asked = DbtCliResource(project_dir=ours.project_dir, dbt_executable=ours.dbt_executable)
    assert ours._cli_version == asked._cli_version  # the latter runs `dbt --version`
    assert ours._cli_version.major == 1


def test_the_console_counts_every_check_of_the_door_as_the_partner_files(defs):
    from marmot_assets.console import check_kind
    from marmot_assets.partners.contract import load_contracts

    partner_raw = {("raw", c.table) for c in load_contracts().values()}
    kinds = {}
    for check in _all_checks(defs):
        if tuple(check.asset_key.path) in partner_raw:
            kinds[check.name] = check_kind(check.key)
    assert kinds == {
        "every_file_accepted": "partner files",
        "no_rows_quarantined": "partner files",
        "every_ward_reported": "partner files",
    }
