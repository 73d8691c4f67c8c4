"""A file dropped while the real dagster-daemon runs: its sensor launches exactly that
dataset's asset and what depends on it, recorded in a real instance (temporary DAGSTER_HOME)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from marmot_assets.config import PACKAGE_DIR

PROJECT = Path(__file__).resolve().parents[1]
SENSOR = "council_housing__temporary_accommodation__inbox"
TIMEOUT_S = 240


@pytest.fixture
def daemon(tmp_path):
    home = tmp_path / "marmot"
    dagster_home = home / "dagster"
    dagster_home.mkdir(parents=True)
    shutil.copyfile(PACKAGE_DIR / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "MARMOT_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    env.pop("MARMOT_SOURCE_MODE", None)
    # As in operation: the warehouse is built (demo data, one refresh) before partners drop
    # new files, so the models downstream of a delivery have their other inputs.
    marmot = str(Path(sys.prefix) / "bin" / "marmot")
    for command in (["demo"], ["run"]):
        done = subprocess.run(
            [marmot, *command], cwd=PROJECT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    log = (tmp_path / "daemon.log").open("w")
    process = subprocess.Popen(
        [str(Path(sys.prefix) / "bin" / "dagster-daemon"), "run", "-w", "workspace.yaml"],
        cwd=PROJECT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield home, dagster_home, tmp_path / "daemon.log"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def test_dropped_file_launches_its_assets(daemon):
    home, dagster_home, log = daemon
    inbox = home / "inbox" / "council_housing" / "temporary_accommodation"
    inbox.mkdir(parents=True, exist_ok=True)
    # A whole quarter, every ward of the place: publication audits that no ward is missing.
    wards = [f"E0500{code}" for code in range(1218, 1236)]
    (inbox / "ta_2025-26_Q1.csv").write_text(
        "Ward code,Quarter,Households in TA,Households with children\n"
        + "".join(f"{ward},2025-26 Q1,{40 + i},{20 + i}\n" for i, ward in enumerate(wards))
    )
    deadline = time.monotonic() + TIMEOUT_S
    run = None
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        while time.monotonic() < deadline:
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": SENSOR}))
            if runs and runs[0].status in (
                dg.DagsterRunStatus.SUCCESS,
                dg.DagsterRunStatus.FAILURE,
            ):
                run = runs[0]
                break
            time.sleep(3)
        assert run is not None, (
            f"no finished sensor run in {TIMEOUT_S}s:\n{log.read_text()[-3000:]}"
        )
        assert run.status == dg.DagsterRunStatus.SUCCESS, log.read_text()[-3000:]
        selected = {tuple(k.path) for k in run.asset_selection}
        assert selected == {
            ("raw", "council_housing__temporary_accommodation"),
            ("staging", "stg_council_housing__temporary_accommodation"),
        } | {s for s in selected if s[0] in ("intermediate", "marts", "history", "publish")} | {
            ("publication", "staged_release"),
            ("publication", "release"),
            ("publication", "report"),
        }
        assert ("raw", "fingertips_indicator_values") not in selected
        event = instance.get_latest_materialization_event(
            dg.AssetKey(["raw", "council_housing__temporary_accommodation"])
        )
        assert event.run_id == run.run_id
        untouched = instance.get_latest_materialization_event(
            dg.AssetKey(["raw", "fingertips_indicator_values"])
        )
        assert untouched.run_id != run.run_id  # only what depends on the delivery ran
    assert not any(inbox.iterdir())  # picked up, landed, removed from the drop folder
    assert len(list((home / "landing").rglob("*ta_2025-26_Q1.csv"))) == 1
