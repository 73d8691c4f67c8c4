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
