"""A killed `marmot run` never blocks the next one, and `marmot run` never waits for ever.

Real processes throughout: `marmot run` subprocesses on a temporary MARMOT_HOME (demo data
written by `marmot demo`), killed with SIGKILL at several moments (seen in the instance's
events and the run's output), stopped with SIGTERM, and started against a process holding
DuckDB's lock on the warehouse and against a live run holding the warehouse pool.

The end-to-end tests share one MARMOT_HOME to keep the file's time modest (one full run in
all): the kills leave their wreckage for the next test's run to clean up, and the last test's
run must succeed without help. Each test also passes on its own.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from marmot_assets.instance import (
    HOST_TAG,
    PID_TAG,
    TOKEN_TAG,
    WAREHOUSE_POOL,
    pid_alive,
    process_started,
    processes_with_token,
    recover_orphaned_runs,
    unfinished_statuses,
    upgrade_instance_config,
)

PROJECT = Path(__file__).resolve().parents[1]
MARMOT = [sys.executable, "-m", "marmot_assets.cli"]
EXIT_BUSY = 75
STARTUP_S = 180  # at most this long for a `marmot run` to reach its first step (2 busy cores)
RUN_S = 900  # ... and to finish
SPAWNED: list[subprocess.Popen] = []  # every process a test starts, killed when it ends


def marmot_env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "MARMOT_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    for name in ("MARMOT_SOURCE_MODE", "MARMOT_SOURCE_DIR", "MARMOT_RUN_TOKEN"):
        env.pop(name, None)
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


class Run:
    """One `marmot run` subprocess, its output in a file."""

    def __init__(self, home: Path, name: str, **env: str):
        self.home = home
        self.log = home.parent / f"{name}.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [*MARMOT, "run"],
                cwd=PROJECT,
                env=marmot_env(home, **env),
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        SPAWNED.append(self.proc)
        self.started = time.monotonic()

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for_output(self, pattern: str, timeout: float = STARTUP_S) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.output):
            assert self.proc.poll() is None, f"ended ({self.proc.returncode}):\n{self.tail()}"
            assert time.monotonic() < deadline, f"no {pattern!r} in {timeout} s:\n{self.tail()}"
            time.sleep(0.2)

    def wait_for_step(self, prefix: str = "", timeout: float = STARTUP_S) -> str:
        """Wait until the run has started a step whose key starts with ``prefix``; its run id."""
        deadline = time.monotonic() + timeout
        with instance_of(self.home) as instance:
            while True:
                assert self.proc.poll() is None, f"ended ({self.proc.returncode}):\n{self.tail()}"
                assert time.monotonic() < deadline, f"no step {prefix!r}:\n{self.tail()}"
                run = own_run(instance, self.proc.pid)
                if run is not None:
                    records = instance.get_records_for_run(
                        run.run_id, of_type=dg.DagsterEventType.STEP_START
                    ).records
                    if any(r.event_log_entry.step_key.startswith(prefix) for r in records):
                        return run.run_id
                time.sleep(0.2)

    def wait_for_dbt(self, timeout: float = RUN_S) -> None:
        """Wait until `dbt build` runs: its step started and a dbt process carries the token."""
        run_id = self.wait_for_step("marmot_dbt_models", timeout=timeout)
        deadline = time.monotonic() + timeout
        with instance_of(self.home) as instance:
            token = instance.get_run_by_id(run_id).tags[TOKEN_TAG]
        while not processes_with_token(token):  # (in one process: only dbt is a child)
            assert self.proc.poll() is None, f"ended ({self.proc.returncode}):\n{self.tail()}"
            assert time.monotonic() < deadline, f"no dbt process:\n{self.tail()}"
            time.sleep(0.2)

    def kill(self, signum: int = signal.SIGKILL) -> float:
        """Send ``signum``; the seconds until the process ended."""
        sent = time.monotonic()
        self.proc.send_signal(signum)
        self.proc.wait(timeout=60)
        return time.monotonic() - sent

    def finish(self, timeout: float = RUN_S) -> int:
        return self.proc.wait(timeout=timeout)

    def tail(self, n: int = 4000) -> str:
        return self.output[-n:]


def instance_of(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home / "dagster"))


def own_run(instance, pid: int):
    runs = instance.get_runs(limit=5)
    return next((r for r in runs if r.tags.get(PID_TAG) == str(pid)), None)


def unfinished_runs(home: Path) -> list:
    with instance_of(home) as instance:
        return list(instance.get_runs(filters=dg.RunsFilter(statuses=unfinished_statuses())))


def pool_users(home: Path) -> set[str]:
    """Runs holding or waiting for a slot of the warehouse pool."""
    with instance_of(home) as instance:
        info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
        return {s.run_id for s in info.claimed_slots if s.run_id} | {
            p.run_id for p in info.pending_steps
        }


def run_status(home: Path, run_id: str):
    with instance_of(home) as instance:
        return instance.get_run_by_id(run_id).status


def run_tokens(home: Path) -> list[str]:
    with instance_of(home) as instance:
        return [r.tags[TOKEN_TAG] for r in instance.get_runs() if TOKEN_TAG in r.tags]


@pytest.fixture(autouse=True)
def no_process_left():
    """A test that fails half way leaves no `marmot run` behind to disturb the next."""
    yield
    while SPAWNED:
        proc = SPAWNED.pop()
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("resilience") / "marmot"
    done = subprocess.run(
        [*MARMOT, "demo"], cwd=PROJECT, env=marmot_env(home), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (PROJECT / "dbt_project" / "target" / "manifest.json").is_file(), "make prepare"
    # The instance made once here, so the test's own reads never race a run creating it.
    (home / "dagster").mkdir()
    upgrade_instance_config(home / "dagster" / "dagster.yaml")
    with instance_of(home):
        pass
    return home


@pytest.fixture
def holder(home):
    """Another process holding a DuckDB write connection on the warehouse."""
    script = (
        "import duckdb, sys, time\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('create schema if not exists raw')\n"
        "print('holding', flush=True)\n"
        "time.sleep(600)\n"
    )
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(home / "warehouse.duckdb")],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    proc.kill()
    proc.wait()


# -- fast: the pieces, on real processes and a real instance ------------------------------------


def test_an_old_instance_gets_the_new_settings_and_keeps_its_own(tmp_path):
    config = tmp_path / "dagster.yaml"
    old = {
        "telemetry": {"enabled": False},
        "concurrency": {"pools": {"default_limit": 1}},
        "retention": {"schedule": {"purge_after_days": 30}},
        "run_monitoring": {"poll_interval_seconds": 60},
    }
    config.write_text(yaml.safe_dump(old))
    assert upgrade_instance_config(config)
    upgraded = yaml.safe_load(config.read_text())
    assert upgraded["retention"] == old["retention"]
    assert upgraded["run_monitoring"]["poll_interval_seconds"] == 60  # the user's, kept
    assert upgraded["run_monitoring"]["enabled"] is True
    assert upgraded["run_monitoring"]["free_slots_after_run_end_seconds"] > 0
    assert yaml.safe_load((tmp_path / "dagster.yaml.bak").read_text()) == old
    assert not upgrade_instance_config(config)  # nothing more to add
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:  # Dagster accepts it
        assert instance.run_monitoring_enabled
        assert instance.global_op_concurrency_default_limit == 1


def test_a_reused_pid_is_not_the_process_that_ran(tmp_path):
    me = os.getpid()
    assert pid_alive(me, process_started(me))
    assert not pid_alive(me, str(int(process_started(me) or 0) + 1))
    assert not pid_alive(me, not_after=time.time() - 3600)  # started after it was seen running
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not pid_alive(child.pid)


def test_orphaned_runs_are_failed_and_their_slots_freed(tmp_path):
    from dagster._core.storage.dagster_run import DagsterRun

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        upgrade_instance_config(tmp_path / "dagster.yaml")
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            runs = {}
            for name, pid in (("dead", dead.pid), ("alive", alive.pid)):
                run_id = str(uuid.uuid4())
                tags = {PID_TAG: str(pid), HOST_TAG: socket.gethostname()}
                status = dg.DagsterRunStatus.STARTED
                instance.add_run(DagsterRun(job_name=name, run_id=run_id, status=status, tags=tags))
                runs[name] = run_id
            storage = instance.event_log_storage
            storage.initialize_concurrency_limit_to_default(WAREHOUSE_POOL)  # limit 1, as in a run
            assert storage.claim_concurrency_slot(WAREHOUSE_POOL, runs["dead"], "a").is_claimed
            assert not storage.claim_concurrency_slot(WAREHOUSE_POOL, runs["alive"], "b").is_claimed
            said = []
            assert recover_orphaned_runs(instance, said.append) == [runs["dead"]]
            assert instance.get_run_by_id(runs["dead"]).status == dg.DagsterRunStatus.FAILURE
            assert instance.get_run_by_id(runs["alive"]).status == dg.DagsterRunStatus.STARTED
            assert any(f"PID {dead.pid}" in line for line in said), said
            # The dead run's slot is free, so the live run's waiting step gets it.
            assert storage.claim_concurrency_slot(WAREHOUSE_POOL, runs["alive"], "b").is_claimed
    finally:
        alive.kill()
        alive.wait()


def test_a_process_holding_the_warehouse_file_is_named_and_waited_for_boundedly(home, holder):
    run = Run(home, "busy-file", MARMOT_WAREHOUSE_WAIT_SECONDS="2")
    code = run.finish(timeout=120)
    assert code == EXIT_BUSY, run.tail()
    assert f"PID {holder.pid}" in run.output and "gave up after 2 s" in run.output, run.tail()
    assert time.monotonic() - run.started < 90  # imports, then the 2 s wait

    # Ctrl-C while it waits ends it at once.
    run = Run(home, "busy-file-sigint", MARMOT_WAREHOUSE_WAIT_SECONDS="300")
    run.wait_for_output("the warehouse is held by")
    assert run.kill(signal.SIGINT) < 10
    assert run.proc.returncode == 128 + signal.SIGINT, run.tail()
    assert not unfinished_runs(home)


# A live run of another job (a real process, using Dagster's own pool API as a run worker does)
# that, once the `marmot run` of PID argv[1] has started a step, queues for the warehouse
# pool's slot and then holds it: that run's next step waits for the slot.
POOL_HOLDER = """
import os, socket, sys, time, uuid
import dagster as dg
from dagster._core.storage.dagster_run import DagsterRun
from marmot_assets.instance import HOST_TAG, PID_TAG, WAREHOUSE_POOL

with dg.DagsterInstance.get() as instance:
    while True:
        runs = [r for r in instance.get_runs(limit=5) if r.tags.get(PID_TAG) == sys.argv[1]]
        if runs and instance.get_records_for_run(
            runs[0].run_id, of_type=dg.DagsterEventType.STEP_START, limit=1
        ).records:
            break
        time.sleep(0.1)
    run_id = str(uuid.uuid4())
    tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    status = dg.DagsterRunStatus.STARTED
    instance.add_run(DagsterRun(job_name="other_job", run_id=run_id, status=status, tags=tags))
    storage = instance.event_log_storage
    while not storage.claim_concurrency_slot(WAREHOUSE_POOL, run_id, "hold", 0).is_claimed:
        time.sleep(0.1)
    print(run_id, flush=True)
    time.sleep(600)
"""


def blocked_on_the_pool(home: Path, pid: int, timeout: float = STARTUP_S + 60) -> str:
    """Wait until the `marmot run` of ``pid`` has a step waiting for the pool; its run id."""
    deadline = time.monotonic() + timeout
    with instance_of(home) as instance:
        while time.monotonic() < deadline:
            run = own_run(instance, pid)
            if run is not None:
                info = instance.event_log_storage.get_concurrency_info(WAREHOUSE_POOL)
                if any(
                    p.run_id == run.run_id and p.assigned_timestamp is None
                    for p in info.pending_steps
                ):
                    return run.run_id
            time.sleep(0.2)
    raise AssertionError(f"PID {pid} never waited for the pool")


@pytest.mark.e2e
def test_a_run_blocked_on_the_pool_mid_run_gives_up_or_stops_on_sigterm(home):
    for wait, signum in (("5", None), ("300", signal.SIGTERM)):
        run = Run(home, f"blocked-{wait}", MARMOT_WAREHOUSE_WAIT_SECONDS=wait)
        other = subprocess.Popen(
            [sys.executable, "-c", POOL_HOLDER, str(run.proc.pid)],
            cwd=PROJECT,
            env=marmot_env(home),
            stdout=subprocess.PIPE,
            text=True,
        )
        SPAWNED.append(other)
        try:
            blocked_run = blocked_on_the_pool(home, run.proc.pid)
            other_run = other.stdout.readline().strip()
            if signum is None:
                # It gives up after the wait, naming the run that holds the slot.
                assert run.finish(timeout=120) == EXIT_BUSY, run.tail()
                assert other_run in run.output and "gave up after 5 s" in run.output, run.tail()
                assert run_status(home, blocked_run) == dg.DagsterRunStatus.FAILURE
            else:
                # Dagster alone ignores a signal while a step waits for a slot: not here.
                took = run.kill(signum)
                assert took < 10, f"{took:.1f} s\n{run.tail()}"
                assert run.proc.returncode == 128 + signum, run.tail()
                assert run_status(home, blocked_run) == dg.DagsterRunStatus.CANCELED
            assert blocked_run not in pool_users(home)
        finally:
            other.kill()
            other.wait()


# -- end to end: real runs, killed --------------------------------------------------------------


@pytest.mark.e2e
def test_runs_killed_at_any_moment_leave_nothing_the_next_run_cannot_clear(home):
    # 1. Killed 3 s in: still starting, nothing recorded yet or a run that never started.
    run = Run(home, "kill-3s")
    time.sleep(3)
    run.kill()

    # 2. Killed in a partner asset (the door's first delivery), with the pool slot held.
    run = Run(home, "kill-partner")
    partner_run = run.wait_for_step("raw__")
    run.kill()
    assert run_status(home, partner_run) == dg.DagsterRunStatus.STARTED  # as the kill left it

    # 3. Killed in the middle of `dbt build`; dbt itself is left running, holding DuckDB.
    run = Run(home, "kill-dbt")
    run.wait_for_dbt()
    with instance_of(home) as instance:
        dbt_run = own_run(instance, run.proc.pid).run_id
    # That run found and failed the one killed before it, and freed its slot.
    assert re.search(rf"run {partner_run} .*marked failed", run.output), run.tail()
    assert run_status(home, partner_run) == dg.DagsterRunStatus.FAILURE
    time.sleep(2)
    run.kill()
    assert run_status(home, dbt_run) == dg.DagsterRunStatus.STARTED
    assert dbt_run in pool_users(home)  # the dead run's slot: every next run would wait
    # dbt usually outlives the killed run, holding DuckDB, but not always: its output pipe broke
    # with its reader, and it ends at its next write. The next test clears it either way; a
    # holder that surely outlives its run is test_orphaned_runs_are_failed_and_their_slots_freed.


@pytest.mark.e2e
def test_a_live_run_holds_the_warehouse_and_sigterm_ends_it(home):
    first = Run(home, "live")
    live_run = first.wait_for_step()
    # Wreckage of earlier kills (if any) is gone: failed runs, freed slots, stopped dbt.
    assert [r.run_id for r in unfinished_runs(home)] == [live_run]
    assert pool_users(home) <= {live_run}
    earlier = [t for t in run_tokens(home) if t != token_of(home, live_run)]
    assert not any(processes_with_token(t) for t in earlier)

    second = Run(home, "busy-run", MARMOT_WAREHOUSE_WAIT_SECONDS="3")
    code = second.finish(timeout=180)
    assert code == EXIT_BUSY, second.tail()
    assert live_run in second.output and f"PID {first.proc.pid}" in second.output, second.tail()
    assert first.proc.poll() is None, "the live run goes on"

    first.wait_for_dbt()
    time.sleep(2)
    took = first.kill(signal.SIGTERM)
    assert took < 10, f"{took:.1f} s\n{first.tail()}"
    assert first.proc.returncode == 128 + signal.SIGTERM, first.tail()
    assert run_status(home, live_run) == dg.DagsterRunStatus.CANCELED
    assert live_run not in pool_users(home)
    assert not unfinished_runs(home)
    deadline = time.monotonic() + 5
    while processes_with_token(token_of(home, live_run)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_with_token(token_of(home, live_run)), "dbt stopped with its run"


def all_check_keys() -> set:
    from marmot_assets.definitions import build_definitions

    return set(build_definitions().resolve_asset_graph().asset_check_keys)


def token_of(home: Path, run_id: str) -> str:
    with instance_of(home) as instance:
        return instance.get_run_by_id(run_id).tags[TOKEN_TAG]


@pytest.mark.e2e
def test_after_all_that_a_run_succeeds_without_help(home):
    run = Run(home, "final")
    code = run.finish()
    assert code == 0, run.tail()
    summary = re.search(r"checks: (\d+) passed, (\d+) failed, (\d+) warned, of (\d+)", run.output)
    assert summary and summary[1] == summary[4], run.tail()
    assert int(summary[4]) == len(all_check_keys()), run.tail()  # every check ran, and passed
    assert re.search(r"Full log of the run: (\S+\.log)", run.output), run.tail()

    assert not unfinished_runs(home)
    assert not pool_users(home)
    assert not any(processes_with_token(t) for t in run_tokens(home))
    with instance_of(home) as instance:
        for record in instance.get_run_records():
            assert record.dagster_run.is_finished

    # The warehouse is whole: every partner delivery received once, loaded once, the marts built.
    assert not [p for p in (home / "inbox").rglob("*") if p.is_file()]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        twice = con.execute(
            "select sha256 from raw.landing_manifest where status like 'loaded%' "
            "group by sha256 having count(*) > 1"
        ).fetchall()
        assert not twice
        assert con.execute("select count(*) from marts.fct_indicator_values").fetchone()[0] > 0
        assert con.execute(
            "select count(*) from marts.dim_area where area_type = 'ward'"
        ).fetchone()[0]
