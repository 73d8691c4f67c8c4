"""dbt's tests on the publishers' raw tables run as real checks of the source assets (and dbt's
build leaves them out, so none arrives as an observation)."""

from __future__ import annotations

import json

import dagster as dg
import duckdb

from marmot_assets.definitions import build_definitions
from marmot_assets.transform.source_tests import check_name, manifest_path, run_source_tests


def _source_tests_in_manifest() -> dict[str, str]:
    manifest = json.loads(manifest_path().read_text())
    found = {}
    for node in manifest["nodes"].values():
        parents = node.get("depends_on", {}).get("nodes", [])
        if (
            node["resource_type"] == "test"
            and parents
            and all(p.startswith("source.") for p in parents)
        ):
            found[check_name(node)] = manifest["sources"][parents[0]]["identifier"]
    return found


def test_every_source_test_is_a_check_of_its_source_asset():
    expected = _source_tests_in_manifest()
    assert len(expected) >= 20
    graph = build_definitions().get_repository_def().asset_graph
    checks = {(c.asset_key, c.name) for c in graph.asset_check_keys}
    for name, table in expected.items():
        assert (dg.AssetKey(["raw", table]), name) in checks, name
    # and none of them is a check of the dbt models' step
    dbt_checks = {c.name for c in graph.asset_check_keys if c.asset_key.path[0] != "raw"}
    assert not dbt_checks & set(expected)


def test_source_tests_find_the_rows_that_break_them(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        "create schema raw; create table raw.place_areas (area_code varchar, area_name varchar, "
        "area_type varchar, is_place boolean)"
    )
    con.execute(
        "insert into raw.place_areas values ('E08000026', 'Coventry', 'local_authority', true),"
        "('E92000001', 'England', 'country', false), ('E92000001', 'England', 'nation', false),"
        "(null, 'Nowhere', 'region', false)"
    )
    results = {r.check_name: r for r in run_source_tests(con, "place_areas")}
    assert results, "place_areas has dbt source tests"
    by_kind = {name.split("_raw_")[0]: r for name, r in results.items()}
    assert not by_kind["source_unique"].passed
    assert by_kind["source_unique"].metadata["values"].value == "E92000001"
    assert not by_kind["source_accepted_values"].passed
    assert by_kind["source_accepted_values"].metadata["values"].value == "nation"
    nulls = [r for n, r in results.items() if n == "source_not_null_raw_place_areas_area_code"]
    assert nulls and not nulls[0].passed and nulls[0].metadata["failing_rows"].value == 1
    con.execute("delete from raw.place_areas where area_type = 'nation' or area_code is null")
    assert all(r.passed for r in run_source_tests(con, "place_areas"))
