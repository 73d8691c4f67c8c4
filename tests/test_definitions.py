"""The code location: loads from the prepared manifest, wires sources to dbt, describes assets."""

from __future__ import annotations

import subprocess

import dagster as dg
import pytest

from marmot_assets.definitions import build_definitions
from marmot_assets.transform.project import dbt_project

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
    assert loaded.resolve_job_def("marmot_refresh") is not None


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
