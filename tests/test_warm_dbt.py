"""dbt started ahead (transform/warm.py): a dbt command given to the client runs in the process
that imported dbt and parsed the project beforehand, with the same output, exit code and
effect as dbt's own command line; anything that does not fit runs the real dbt instead."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from marmot_assets.config import DBT_PROJECT_DIR, get_settings
from marmot_assets.transform.project import (
    DBT_QUIET_FLAGS,
    dbt_environment,
    dbt_executable,
    run_target_path,
)
from marmot_assets.transform.warm import LOG_FILE, WarmDbt, is_client


@pytest.fixture
def warm(marmot_home):
    dbt_environment()
    warm = WarmDbt.start(dbt_executable(), DBT_PROJECT_DIR, run_target_path("warm-test"))
    yield warm
    warm.stop()
    assert not warm.folder.exists() and warm.process.poll() is not None


def _dbt(executable, target: Path, *args: str) -> tuple[int, list[dict]]:
    """A dbt command as dagster-dbt starts one: JSON lines on stdout, its own target folder."""
    env = {**os.environ, "DBT_LOG_FORMAT": "json", "DBT_TARGET_PATH": str(target),
           "DBT_LOG_PATH": str(target), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}  # fmt: skip
    done = subprocess.run(
        [str(executable), *DBT_QUIET_FLAGS, *args], env=env, cwd=DBT_PROJECT_DIR,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300,
    )  # fmt: skip
    lines = [json.loads(x) for x in done.stdout.splitlines() if x.startswith("{")]
    return done.returncode, lines


def _pids(lines: list[dict]) -> set[int]:
    return {line["info"]["pid"] for line in lines}


def _seed_rows(name: str) -> int:
    with open(DBT_PROJECT_DIR / "seeds" / f"{name}.csv", newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def test_a_command_runs_in_the_process_started_ahead_as_dbt_would_run_it(warm):
    assert is_client(str(warm.client))
    code, lines = _dbt(warm.client, warm.target, "seed", "--select", "principles")
    assert code == 0
    assert _pids(lines) == {warm.process.pid}  # not a dbt of its own
    assert any(line["info"]["name"] == "LogSeedResult" for line in lines)
    # the client ended: dbt's process is gone and the warehouse free for the next writer
    with duckdb.connect(str(get_settings().warehouse_path)) as con:
        count = con.execute("select count(*) from reference.principles").fetchone()[0]
    assert count == _seed_rows("principles")
    assert warm.process.wait(timeout=0.2) == 0  # one command, and gone before its client
    assert not warm.folder.exists()  # its socket and client removed by the process itself
    assert "dbt runs here: " in (warm.target / LOG_FILE).read_text()


def test_a_failing_command_gives_the_exit_code_of_dbts_command_line(warm, marmot_home):
    # a staging view over a raw table that does not exist: the model errs (exit code 1)
    args = ("run", "--select", "stg_police__street_crime")
    code, lines = _dbt(warm.client, warm.target, *args)
    assert _pids(lines) == {warm.process.pid}
    real_code, real_lines = _dbt(dbt_executable(), marmot_home / "real", *args)
    assert (code, real_code) == (1, 1)
    failed = [line["data"]["status"] for line in lines if line["info"]["name"] == "LogModelResult"]
    assert failed == [line["data"]["status"] for line in real_lines
                      if line["info"]["name"] == "LogModelResult"] == ["error"]  # fmt: skip


def test_what_does_not_fit_the_parse_runs_the_real_dbt(warm, marmot_home):
    other = marmot_home / "another-target"
    code, lines = _dbt(warm.client, other, "seed", "--select", "principles")
    assert code == 0
    assert warm.process.pid not in _pids(lines)  # the real dbt ran it, and it worked
    assert "another target" in (warm.target / LOG_FILE).read_text()


def test_a_process_gone_before_the_step_leaves_the_step_to_the_real_dbt(warm):
    warm.process.send_signal(signal.SIGKILL)
    warm.process.wait(timeout=30)
    code, lines = _dbt(warm.client, warm.target, "seed", "--select", "principles")
    assert code == 0 and lines and warm.process.pid not in _pids(lines)


def test_the_process_ends_with_the_run_that_started_it(marmot_home):
    """Started by a process that then dies (a run killed), it does not wait on forever."""
    dbt_environment()
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from marmot_assets.transform.warm import WarmDbt\n"
        f"w = WarmDbt.start({dbt_executable()!r}, Path({str(DBT_PROJECT_DIR)!r}), "
        f"Path({str(marmot_home / 'target')!r}))\n"
        "print(w.process.pid, w.folder, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                              env=os.environ)  # fmt: skip
    pid, folder = parent.stdout.readline().split()
    pid = int(pid)
    parent.kill()
    parent.wait()
    for _ in range(600):  # it notices within a second of being ready to serve
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z":
            break  # ended, not yet reaped
        __import__("time").sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
        pytest.fail("the process started ahead outlived its run")
    assert not Path(folder).exists()  # and its socket's folder went with it


def test_the_refresh_ran_dbt_in_the_process_started_ahead(demo_refresh):
    logs = list((demo_refresh["home"] / "dbt" / "target").glob(f"*/{LOG_FILE}"))
    assert logs, "no dbt started ahead for the refresh"
    ran = [log for log in logs if "dbt runs here: " in log.read_text()]
    assert ran and all("build" in log.read_text() for log in ran)


def test_a_folder_left_by_a_process_killed_outright_is_swept_at_the_next_start(marmot_home):
    dbt_environment()
    gone = WarmDbt.start(dbt_executable(), DBT_PROJECT_DIR, marmot_home / "t1")
    gone.process.send_signal(signal.SIGKILL)  # before any client came: its folder stays
    gone.process.wait(timeout=30)
    assert gone.folder.is_dir()
    alive = WarmDbt.start(dbt_executable(), DBT_PROJECT_DIR, marmot_home / "t2")
    try:
        assert not gone.folder.exists()  # swept: its process is gone
        again = WarmDbt.start(dbt_executable(), DBT_PROJECT_DIR, marmot_home / "t3")
        again.stop()
        assert alive.folder.is_dir() and alive.process.poll() is None  # a live one is kept
    finally:
        alive.stop()
