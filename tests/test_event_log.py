"""The event log's kept engines (marmot_assets/instance/event_log.py): Dagster's SQLite event
log, same files at the same place, with one engine per file kept in the process. On real
instances made from our dagster.yaml; read back by Dagster's own class in another process."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from marmot_assets.instance import event_log
from marmot_assets.instance.config import upgrade_instance_config

# Dagster's own class, in a process that never applied keep_engines
READ_BACK = """
import json, sys
import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
assert SqliteEventLogStorage._connect.__module__.startswith("dagster"), "patched"
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    runs = [r.run_id for r in instance.get_runs()]
    events = {r: [e.dagster_event_type for e in instance.all_logs(r) if e.is_dagster_event]
              for r in runs}
    latest = instance.get_latest_materialization_event(dg.AssetKey("measured"))
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("measured"), "has_rows")])
print(json.dumps({"runs": runs, "events": {r: [str(t) for t in e] for r, e in events.items()},
                  "latest": latest.run_id,
                  "check": [v.run_id for v in check.values()]}))
"""


@dg.asset(check_specs=[dg.AssetCheckSpec("has_rows", asset="measured")])
def measured() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={"rows": 3},
        check_results=[dg.AssetCheckResult(check_name="has_rows", passed=True)],
    )


def _instance_dir(path: Path) -> Path:
    path.mkdir(parents=True)
    upgrade_instance_config(path / "dagster.yaml")
    return path


def _read_back(home: Path) -> dict:
    import json

    out = subprocess.run(
        [sys.executable, "-c", READ_BACK, str(home)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout)


def test_events_go_through_kept_engines_into_dagsters_own_files(tmp_path):
    assert event_log.keep_engines()
    assert SqliteEventLogStorage._connect is event_log._connect
    home = _instance_dir(tmp_path / "dagster")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run_ids = [dg.materialize([measured], instance=instance).run_id for _ in range(2)]
        ours = {r: [str(e.dagster_event_type) for e in instance.all_logs(r) if e.is_dagster_event]
                for r in run_ids}  # fmt: skip
    kept = [key for key in event_log._engines if str(home) in key]
    assert any(key.endswith("/index.db") for key in kept)
    assert any(key.endswith(f"/{run_ids[-1]}.db") for key in kept)
    theirs = _read_back(home)  # what the webserver and the daemon read
    assert sorted(theirs["runs"]) == sorted(run_ids)
    assert theirs["events"] == ours
    assert "DagsterEventType.ASSET_MATERIALIZATION" in ours[run_ids[-1]]
    assert "DagsterEventType.ASSET_CHECK_EVALUATION" in ours[run_ids[-1]]
    assert theirs["latest"] == run_ids[-1]
    assert theirs["check"] == [run_ids[-1]]
    # the kept connections sync at checkpoints, not every commit, in WAL mode (see the module)
    with event_log._engine(kept[0]).connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL


def test_a_copied_instance_writes_into_its_own_files(tmp_path):
    """The test suite copies whole homes: each copy's events stay in the copy."""
    event_log.keep_engines()
    original = _instance_dir(tmp_path / "original")
    with dg.DagsterInstance.from_config(str(original)) as instance:
        first = dg.materialize([measured], instance=instance).run_id
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    with dg.DagsterInstance.from_config(str(copy)) as instance:
        second = dg.materialize([measured], instance=instance).run_id
    assert _read_back(original)["runs"] == [first]
    assert sorted(_read_back(copy)["runs"]) == sorted([first, second])
    assert (copy / "history" / "runs" / f"{second}.db").is_file()
    assert not (original / "history" / "runs" / f"{second}.db").exists()


def test_engines_are_bounded_and_a_wiped_log_is_made_again(tmp_path):
    event_log.keep_engines()
    event_log.dispose_kept_engines()
    storage = SqliteEventLogStorage(str(tmp_path / "runs"))
    for shard in range(event_log.KEPT_ENGINES + 10):
        with storage.run_connection(f"run{shard}") as conn:
            conn.exec_driver_sql("select 1")
    assert len(event_log._engines) == event_log.KEPT_ENGINES
    assert not any(key.endswith("/run0.db") for key in event_log._engines)  # oldest went
    storage.wipe()
    with storage.run_connection("run70") as conn:  # a kept engine, its file made again
        assert conn.exec_driver_sql("select count(*) from event_logs").scalar() == 0
    event_log.dispose_kept_engines()
    assert not event_log._engines


def test_a_file_keeps_one_connection_and_a_deleted_file_is_not_written_through_it(tmp_path):
    """The kept connection is reused; when the folder is deleted and made again by someone
    else, a new storage on it lets the old connection go: its events land in the new file,
    not in the deleted one that the old connection still holds open."""
    import sqlite3

    event_log.keep_engines()
    event_log.dispose_kept_engines()
    folder = tmp_path / "runs"
    storage = SqliteEventLogStorage(str(folder))
    seen = set()
    for _ in range(3):
        with storage.run_connection("r1") as conn:
            seen.add(id(conn.connection.dbapi_connection))
            conn.exec_driver_sql(
                "insert into event_logs (run_id, event, dagster_event_type, timestamp) "
                "values ('r1', '{}', 'x', '2026-12-07 06:00:00')"
            )
    assert len(seen) == 1
    shutil.rmtree(folder)  # a reset of the instance by hand, say
    storage = SqliteEventLogStorage(str(folder))
    with storage.run_connection("r1") as conn:
        conn.exec_driver_sql(
            "insert into event_logs (run_id, event, dagster_event_type, timestamp) "
            "values ('r1', '{}', 'y', '2026-12-07 06:00:01')"
        )
    with sqlite3.connect(folder / "r1.db") as plain:
        rows = plain.execute("select dagster_event_type from event_logs").fetchall()
    assert rows == [("y",)]
    event_log.dispose_kept_engines()


def test_the_index_tables_found_are_remembered_until_the_log_is_wiped(tmp_path, monkeypatch):
    event_log.keep_engines()
    storage = SqliteEventLogStorage(str(tmp_path / "runs"))
    with storage.index_connection() as conn:
        conn.exec_driver_sql("select 1")
    asked = []
    real = event_log._dagster_has_table
    monkeypatch.setattr(
        event_log, "_dagster_has_table", lambda s, name: asked.append(name) or real(s, name)
    )
    assert storage.supports_asset_checks and storage.supports_asset_checks
    assert storage.has_table("asset_event_tags") and storage.has_table("asset_event_tags")
    assert asked == ["asset_check_executions", "asset_event_tags"]  # each asked once
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert asked[2:] == ["no_such_table"] * 2  # not found: asked again
    before = len(asked)
    storage.wipe()  # Dagster's wipe (or upgrade) starts its files again: asked again
    assert storage.supports_asset_checks
    assert "asset_check_executions" in asked[before:]
    # a new storage on the same files asks for itself
    again = SqliteEventLogStorage(str(tmp_path / "runs"))
    assert again.has_table("asset_event_tags") and asked[-1] == "asset_event_tags"


def test_on_another_dagster_version_dagsters_own_method_stays(monkeypatch):
    monkeypatch.setattr(SqliteEventLogStorage, "_connect", event_log._dagster_connect)
    monkeypatch.setattr(SqliteEventLogStorage, "has_table", event_log._dagster_has_table)
    monkeypatch.setattr(event_log.dg, "__version__", "1.14.0")
    assert not event_log.keep_engines()
    assert SqliteEventLogStorage._connect is event_log._dagster_connect
    assert SqliteEventLogStorage.has_table is event_log._dagster_has_table
