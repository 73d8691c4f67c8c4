"""dbt's unit tests (the models' code on fixed inputs) run here, in the test suite, not on
every refresh: on a copy of the demo refresh's warehouse (dbt reads the parents' column types
from it), with dbt's own runner."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from marmot_assets.config import DBT_PROJECT_DIR


def test_every_dbt_unit_test_passes(demo_refresh, tmp_path):
    home = tmp_path / "marmot"
    home.mkdir()
    shutil.copyfile(demo_refresh["home"] / "warehouse.duckdb", home / "warehouse.duckdb")
    env = {**os.environ, "MARMOT_HOME": str(home), "DBT_TARGET_PATH": str(tmp_path / "target"),
           "DBT_LOG_PATH": str(tmp_path / "logs")}  # fmt: skip
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dbt")), "test", "--select", "test_type:unit",
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
    results = json.loads((tmp_path / "target" / "run_results.json").read_text())["results"]
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    declared = set(manifest.get("unit_tests", {}))
    assert len(declared) >= 20
    assert {r["unique_id"] for r in results} == declared
    assert all(r["status"] == "pass" for r in results)
