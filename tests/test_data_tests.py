"""The dbt step's data tests (marmot_assets/transform/data_tests.py): the SQL dbt compiled
ahead, run by the step, gives what dbt's own `dbt test` gives, test by test, on a warehouse
where some tests pass and some fail; and dbt runs its own tests whenever that SQL cannot be
trusted."""

from __future__ import annotations

import json
import subprocess

import dagster as dg
import duckdb
import pytest

from marmot_assets.config import DBT_PROJECT_DIR
from marmot_assets.transform import data_tests
from marmot_assets.transform.assets import MarmotDbtTranslator
from marmot_assets.transform.project import dbt_executable, dbt_project


def prepared_manifest() -> dict:
    return json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())


def all_check_keys(manifest: dict) -> set[dg.AssetCheckKey]:
    from dagster_dbt.asset_utils import get_asset_check_key_for_test

    translator = MarmotDbtTranslator()
    return {
        key
        for uid in manifest["nodes"]
        if (key := get_asset_check_key_for_test(manifest, translator, uid, None)) is not None
    }


def test_the_prepared_manifest_holds_every_tests_sql_for_this_project():
    manifest = prepared_manifest()
    plan = data_tests.tests_to_run(
        manifest, all_check_keys(manifest), MarmotDbtTranslator(), dbt_project()
    )
    assert plan.why == "" and plan.ours, plan.why
    model_tests = [
        n for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and not any(p.startswith("source.") for p in n["depends_on"]["nodes"])
    ]  # fmt: skip
    # every test on a model, seed or snapshot: the step's, each with the SQL dbt compiled for
    # it, or dbt's when its SQL is made from the warehouse's tables as dbt compiles it (the
    # disclosure audit reads the published tables' columns: from an empty warehouse it would
    # assert nothing)
    ours = {t.node["name"] for t in plan.ours}
    assert ours | set(plan.by_dbt) == {n["name"] for n in model_tests}
    assert plan.by_dbt == ["assert_publish_counts_disclosure_safe"]
    assert all('"warehouse".' in t.node["compiled_code"] for t in plan.ours)
    # dbt is told to leave out every generic test and the step's singular ones
    singular = {t.node["name"] for t in plan.ours if not t.node.get("test_metadata")}
    assert plan.dbt_args() == ["--exclude", " ".join(["test_type:generic", *sorted(singular)])]
    assert len(singular) == 4


def test_dbt_runs_its_own_tests_when_the_sql_cannot_be_trusted(monkeypatch, tmp_path):
    manifest = prepared_manifest()
    keys, translator = all_check_keys(manifest), MarmotDbtTranslator()
    monkeypatch.setenv("MARMOT_DBT_TESTS", "dbt")
    plan = data_tests.tests_to_run(manifest, keys, translator, None)
    assert (plan.ours, plan.by_dbt, plan.dbt_args()) == ([], None, [])
    monkeypatch.delenv("MARMOT_DBT_TESTS")
    # a project file changed since `marmot prepare`
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "m.sql").write_text("select 1 as x")
    before = data_tests.project_digest(project)
    (project / "models" / "m.sql").write_text("select 2 as x")
    assert data_tests.project_digest(project) != before
    monkeypatch.setattr(data_tests, "project_digest", lambda: "another project")
    plan = data_tests.tests_to_run(manifest, keys, translator, None)
    assert plan.by_dbt is None and "changed" in plan.why
    monkeypatch.undo()
    # a manifest from `dbt parse` alone (as `dagster dev` re-prepares it)
    for node in manifest["nodes"].values():
        node.pop("compiled_code", None)
    plan = data_tests.tests_to_run(manifest, keys, translator, None)
    assert plan.by_dbt is None and "no compiled SQL" in plan.why


def node(name: str, sql: str, **config) -> dict:
    return {"unique_id": f"test.marmot.{name}", "name": name, "compiled_code": sql,
            "config": {"severity": "ERROR", **config}}  # fmt: skip


def test_each_result_follows_the_tests_config():
    con = duckdb.connect()
    con.execute("create table t as select * from (values (1), (2), (2), (null)) v(x)")
    key = dg.AssetCheckKey(dg.AssetKey("t"), "c")
    cases = [
        node("no_nulls", "select * from t where x is null"),
        node("no_threes", "select * from t where x = 3"),
        node("unique_warn", "select x from t group by x having count(*) > 1", severity="warn"),
        node("tolerated", "select * from t where x = 2", error_if="> 5", warn_if="> 1"),
        node("broken", "select * from missing_table"),
    ]
    results, failed = data_tests.run_tests(con, [data_tests.DataTest(key, n) for n in cases])
    got = {r.metadata["unique_id"].value.split(".")[-1]: r for r in results}
    assert failed == ["no_nulls", "broken"]
    assert not got["no_nulls"].passed
    assert got["no_nulls"].severity == dg.AssetCheckSeverity.ERROR
    assert got["no_nulls"].metadata["dagster_dbt/failed_row_count"].value == 1
    assert got["no_threes"].passed
    assert got["no_threes"].metadata["dagster_dbt/failed_row_count"].value == 0
    assert not got["unique_warn"].passed
    assert got["unique_warn"].severity == dg.AssetCheckSeverity.WARN
    assert got["tolerated"].metadata["status"].value == "warn"  # 2 rows: > 1, not > 5
    assert got["broken"].metadata["status"].value == "error"
    assert "missing_table" in got["broken"].metadata["error"].value


@pytest.fixture(scope="module")
def broken_home(tmp_path_factory, demo_refresh):
    """A copy of the refreshed demo home, with data that some of the tests must refuse."""
    from helpers import copied_home

    assert demo_refresh["success"]
    with copied_home(tmp_path_factory, "data_tests", demo_refresh) as run:
        with duckdb.connect(str(run["home"] / "warehouse.duckdb")) as con:
            # a ward twice (unique), a sex no test accepts (accepted_values)
            ward, population = "intermediate.int_ward_deprivation", "intermediate.int_population"
            con.execute(f"insert into {ward} select * from {ward} limit 1")
            # LSOAs in a ward the lookup does not know (relationships)
            con.execute(
                "update intermediate.int_lsoa_deprivation set ward_code = 'E05999999' where "
                "rowid in (select rowid from intermediate.int_lsoa_deprivation limit 2)"
            )
            con.execute(
                f"update {population} set sex = 'Unknown' "
                f"where rowid in (select rowid from {population} limit 3)"
            )
        yield run


def test_the_steps_results_are_dbts_own_test_by_test(broken_home, tmp_path):
    home = broken_home["home"]
    manifest = prepared_manifest()
    plan = data_tests.tests_to_run(manifest, all_check_keys(manifest), MarmotDbtTranslator(), None)
    tests = plan.ours
    assert tests, plan.why
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        results, failed = data_tests.run_tests(con, tests)
    ours = {r.metadata["unique_id"].value: r.metadata["status"].value for r in results}
    counts = {
        r.metadata["unique_id"].value: getattr(
            r.metadata.get("dagster_dbt/failed_row_count"), "value", None
        )
        for r in results
    }
    # dbt's own `dbt test` of the same tests on the same warehouse
    target = tmp_path / "target"
    subprocess.run(
        [dbt_executable(), "test", "--quiet", "--exclude", "source:*",
         "--exclude-resource-type", "unit_test", "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target)],
        check=False, capture_output=True,  # the home's environment: MARMOT_HOME is its
    )  # fmt: skip
    theirs = [
        r for r in json.loads((target / "run_results.json").read_text())["results"]
        if r["unique_id"].split(".")[2] not in plan.by_dbt
    ]  # fmt: skip
    assert {r["unique_id"]: r["status"] for r in theirs} == ours
    assert {r["unique_id"]: r["failures"] for r in theirs} == counts
    assert 3 <= len(failed) < len(tests)  # some failed, most passed
    assert sorted(failed) == sorted(
        r["unique_id"].split(".")[2] for r in theirs if r["status"] in ("fail", "error")
    )


def test_under_dagster_dev_the_manifest_is_prepared_again_only_when_the_project_changed(
    monkeypatch,
):
    """dagster-dbt's preparer would `dbt parse` at every load under `dagster dev` (dropping the
    tests' compiled SQL); ours prepares again, whole, only when the files changed."""
    from marmot_assets.transform import project

    prepared = []
    monkeypatch.setattr(project, "prepare_manifest", lambda: prepared.append(1))
    monkeypatch.setenv("DAGSTER_IS_DEV_CLI", "1")
    project.dbt_project.cache_clear()
    try:
        project.dbt_project()
        assert prepared == []  # the files are those the manifest was prepared from
        project.dbt_project.cache_clear()
        monkeypatch.setattr(data_tests, "project_digest", lambda: "a changed project")
        project.dbt_project()
        assert prepared == [1]
    finally:
        project.dbt_project.cache_clear()
