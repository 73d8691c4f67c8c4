"""The instance's event log (marmot_assets/instance/event_log.py): Dagster's SQLite event log
with its engines kept. Same files, same place, same answers as Dagster's own class, on a real
instance made from our dagster.yaml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from marmot_assets.instance.config import upgrade_instance_config
from marmot_assets.instance.event_log import KEPT_ENGINES, KeptEngineSqliteEventLogStorage


@dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="measured")])
def measured() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"rows": 3},
        check_results=[dg.AssetCheckResult(check_name="has_rows", passed=True)],
    )


@dg.asset_check(asset=measured)
def not_empty_check() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=False, metadata={"reason": "checked"})


def _instance_dir(tmp_path: Path) -> Path:
    home = tmp_path / "dagster"
    home.mkdir()
    upgrade_instance_config(home / "dagster.yaml")
    return home


def test_a_new_instance_writes_its_events_through_kept_engines(tmp_path):
    home = _instance_dir(tmp_path)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    assert config["event_log_storage"]["config"]["base_dir"] == str(home / "history" / "runs")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, KeptEngineSqliteEventLogStorage)
        for _ in range(2):
            result = dg.materialize([measured, not_empty_check], instance=instance)
            assert result.success
        run_id = result.run_id
        ours = [e.dagster_event_type for e in instance.all_logs(run_id) if e.is_dagster_event]
        latest = instance.get_latest_materialization_event(dg.AssetKey("measured"))
        assert latest.run_id == run_id
        assert latest.asset_materialization.metadata["rows"].value == 3
        assert len(storage._engines) <= KEPT_ENGINES

    # Dagster's own class reads the same files in the same folder, event for event
    plain = SqliteEventLogStorage(str(home / "history" / "runs"))
    theirs = [e.dagster_event_type for e in plain.get_logs_for_run(run_id) if e.is_dagster_event]
    assert theirs == ours
    assert dg.DagsterEventType.ASSET_MATERIALIZATION in theirs
    assert dg.DagsterEventType.ASSET_CHECK_EVALUATION in theirs
    checks = plain.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("measured"), "has_rows"),
         dg.AssetCheckKey(dg.AssetKey("measured"), "not_empty_check")]
    )  # fmt: skip
    assert {k.name: v.run_id for k, v in checks.items()} == {
        "has_rows": run_id, "not_empty_check": run_id
    }  # fmt: skip


def test_another_process_sees_each_event_as_it_is_written(tmp_path):
    """The webserver and the daemon read what a run worker writes: nothing is held open."""
    home = _instance_dir(tmp_path)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert dg.materialize([measured, not_empty_check], instance=instance).success
        script = (
            "import sys, dagster as dg\n"
            "with dg.DagsterInstance.from_config(sys.argv[1]) as i:\n"
            "    e = i.get_latest_materialization_event(dg.AssetKey('measured'))\n"
            "    print(type(i.event_log_storage).__name__, e.run_id)\n"
        )
        for _ in range(2):  # a second run, while this process keeps its engines
            run_id = dg.materialize([measured], instance=instance).run_id
            out = subprocess.run(
                [sys.executable, "-c", script, str(home)],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            assert out.stdout.split() == ["KeptEngineSqliteEventLogStorage", run_id]


def test_engines_are_bounded_and_a_wiped_log_is_made_again(tmp_path):
    storage = KeptEngineSqliteEventLogStorage(str(tmp_path / "runs"))
    for shard in range(KEPT_ENGINES + 10):
        with storage.run_connection(f"run{shard}") as conn:
            conn.exec_driver_sql("select 1")
    assert len(storage._engines) == KEPT_ENGINES
    assert "run0" not in storage._engines  # the least recently used went first
    storage.wipe()
    with storage.run_connection("run1") as conn:  # kept engine, file made again
        assert conn.exec_driver_sql("select count(*) from event_logs").scalar() == 0
    storage.dispose()
    assert not storage._engines


def test_an_instance_that_chose_its_storage_keeps_it(tmp_path):
    for own in (
        {"storage": {"sqlite": {"base_dir": str(tmp_path / "elsewhere")}}},
        {"run_storage": {"module": "dagster.core.storage.runs", "class": "SqliteRunStorage",
                         "config": {"base_dir": str(tmp_path / "runs-only")}}},
    ):  # fmt: skip
        config = tmp_path / "dagster.yaml"
        config.write_text(yaml.safe_dump(own))
        upgrade_instance_config(config)
        upgraded = yaml.safe_load(config.read_text())
        assert "event_log_storage" not in upgraded
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:  # Dagster accepts it
            assert not isinstance(instance.event_log_storage, KeptEngineSqliteEventLogStorage)
        config.unlink()
