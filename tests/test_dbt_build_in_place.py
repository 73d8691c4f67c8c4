"""dbt builds every table under its own name in one transaction (dbt_project/macros/
build_in_place.sql): no renames or backups, the same rows, and a build that fails leaves the
table as it was. On a copy of a refreshed demo home, with the real dbt."""

from __future__ import annotations

import json
import subprocess

import duckdb
import pytest
from helpers import copied_home

from marmot_assets.config import DBT_PROJECT_DIR
from marmot_assets.transform.project import dbt_executable

MART = "mart_allocation"  # a table with an enforced contract, built from tables
PYTHON = "int_life_expectancy_local"  # a Python model: renamed into place, as dbt-duckdb does


@pytest.fixture(scope="module")
def home(tmp_path_factory, demo_refresh):
    with copied_home(tmp_path_factory, "build_in_place", demo_refresh) as run:
        yield run


def _dbt(home, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [dbt_executable(), "--log-level-file", "debug", "--log-path", str(tmp_path / "logs"),
         "run", "--select", MART, PYTHON, "--project-dir", str(DBT_PROJECT_DIR),
         "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
         *args],
        capture_output=True, text=True, check=False,  # the home's environment: its MARMOT_HOME
    )  # fmt: skip


def _table(home) -> tuple[list, list]:
    with duckdb.connect(str(home["home"] / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(f"select * from marts.{MART} order by ward_code").fetchall()
        leftovers = con.execute(
            "select table_name from duckdb_tables() where table_name like '%__dbt_%'"
        ).fetchall()
    return rows, leftovers


def test_no_model_declares_a_foreign_key():
    # the macro's premise: dbt-duckdb's path for tables with foreign keys is taken by all
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    types = [
        constraint["type"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        for constraint in [
            *node.get("constraints", []),
            *(c for col in node.get("columns", {}).values() for c in col.get("constraints", [])),
        ]
    ]
    assert types, "the marts' contracts declare constraints (not_null): the premise is tested"
    assert "foreign_key" not in types


def test_a_table_is_built_in_place_and_a_failed_build_leaves_it_as_it_was(home, tmp_path):
    before, _ = _table(home)
    assert before
    built = _dbt(home, tmp_path)
    assert built.returncode == 0, built.stdout[-2000:]
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert f"{MART}__dbt_tmp" not in log and f'"{MART}" rename' not in log  # no renames
    assert f'"{PYTHON}__dbt_tmp" rename to' in log.replace("\n", " ")  # a Python model's way
    assert _dropped_in_its_transaction(log)
    rebuilt, leftovers = _table(home)
    assert rebuilt == before and not leftovers

    # A build that fails as it runs, after the old table was dropped in its transaction
    broken = json.dumps(
        {"allocation": {"budget": "error('a failed build')", "universal_share": 0.5,
                        "need_indicator_id": "children_relative_low_income"}}
    )  # fmt: skip
    failed = _dbt(home, tmp_path / "failed", "--vars", broken)
    assert failed.returncode != 0 and "a failed build" in failed.stdout
    assert _dropped_in_its_transaction((tmp_path / "failed" / "logs" / "dbt.log").read_text())
    after, leftovers = _table(home)
    assert after == before and not leftovers  # the drop was rolled back with the build


def _dropped_in_its_transaction(log: str) -> bool:
    """The old table was dropped after the model's BEGIN and before its COMMIT (if any)."""
    begin = log.index(f"On model.marmot.{MART}: BEGIN")
    drop = log.index(f'drop table if exists "warehouse"."marts"."{MART}" cascade', begin)
    commit = log.find(f"On model.marmot.{MART}: COMMIT", begin)
    return commit == -1 or drop < commit
