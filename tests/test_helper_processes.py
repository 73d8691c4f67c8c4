"""The run's helper processes (instance.processes.helper_pool: great-expectations, the reading
ahead) end soon after their run's process when it is killed outright, instead of waiting idle
for a next `marmot run` of the same home to stop them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PARENT = textwrap.dedent(
    """
    import os, time
    from marmot_assets.instance.processes import helper_pool

    if __name__ == "__main__":
        pool, warmed = helper_pool(os.getpid)  # warm-up: the helper says who it is
        print(warmed.result(timeout=120), flush=True)
        time.sleep(600)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split()[2] != "Z"


def test_a_helper_ends_with_its_run_killed_outright():
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    try:
        helper = int(parent.stdout.readline())
        assert helper != parent.pid and _alive(helper)
        time.sleep(1.5)
        assert _alive(helper)  # a live run keeps its helper
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    deadline = time.monotonic() + 10
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(helper):
        os.kill(helper, signal.SIGKILL)
        raise AssertionError("the helper outlived its run's process")


def test_a_helper_started_early_is_the_one_its_resource_takes_and_the_rest_are_stopped():
    import dagster as dg

    from marmot_assets.instance import processes
    from marmot_assets.partners import read_ahead
    from marmot_assets.quality import expectations

    read_ahead.start_early()
    expectations.start_early()
    processes.start_early("nobody's", lambda: processes.helper_pool(os.getpid))
    started = dict(processes._early)
    reader = read_ahead.ReadAheadResource()
    gx = expectations.ExpectationsResource(suite_modules=list(expectations.SUITE_MODULES))
    try:
        with dg.build_init_resource_context() as context:
            reader.setup_for_execution(context)
            gx.setup_for_execution(context)
        assert reader._pool is started[read_ahead.EARLY_KEY][0]
        assert gx._pool is started[expectations.early_key(expectations.SUITE_MODULES)][0]
        # taken once: a second resource (another run in this process) starts its own
        again = read_ahead.ReadAheadResource()
        with dg.build_init_resource_context() as context:
            again.setup_for_execution(context)
        assert again._pool is not None and again._pool is not reader._pool
        again.teardown_after_execution(None)
        # the one no resource took is stopped at the run's end
        left = started["nobody's"][0]
        pids = list(left._processes)
        assert list(processes._early) == ["nobody's"] and pids
        processes.stop_early()
        assert processes._early == {}
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in pids if _alive(pid)]
    finally:
        processes.stop_early()
        reader.teardown_after_execution(None)
        gx.teardown_after_execution(None)


def test_the_gx_process_started_early_warms_the_modules_the_definitions_name():
    from marmot_assets.publish import audit
    from marmot_assets.quality.expectations import SUITE_MODULES
    from marmot_assets.quality.fingertips_checks import fingertips_expectations

    assert set(SUITE_MODULES) == {fingertips_expectations.__module__, audit.__name__}
