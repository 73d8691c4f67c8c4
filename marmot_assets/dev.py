"""`marmot dev`: the Dagster UI and daemon on 127.0.0.1, ended whole by one Ctrl-C or SIGTERM.

``dagster dev`` starts a webserver, a daemon and code servers; on a signal it asks them to stop
and can wait on a busy daemon or a run worker far longer than anyone waits at a terminal (and
a SIGTERM sent to make alone reaches none of them). Here it runs in its own process group: a
signal is passed to that group, and whatever is still alive after ``GRACE_SECONDS`` is killed,
so every process it started has ended within 10 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

GRACE_SECONDS = 4.0
KILL_WAIT_SECONDS = 3.0


def dagster_dev_command(host: str, port: int, workspace: Path) -> list[str]:
    return [
        str(Path(sys.executable).with_name("dagster")),
        "dev",
        "-w",
        str(workspace),
        "-h",
        host,
        "-p",
        str(port),
    ]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop_group(process: subprocess.Popen, signum: int = signal.SIGTERM) -> None:
    """``signum`` to the whole group, then SIGKILL to what outlives the grace period."""
    pgid = process.pid
    try:
        os.killpg(pgid, signum)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        process.poll()
        if not _group_alive(pgid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + KILL_WAIT_SECONDS
    while _group_alive(pgid) and time.monotonic() < deadline:
        process.poll()
        time.sleep(0.05)


def run_dev(host: str, port: int, workspace: Path) -> int:
    from marmot_assets.instance import ensure_dagster_home

    ensure_dagster_home()
    process = subprocess.Popen(dagster_dev_command(host, port, workspace), start_new_session=True)
    received: list[int] = []

    def on_signal(signum, frame):
        received.append(signum)

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)
    try:
        while process.poll() is None and not received:
            time.sleep(0.2)
    finally:
        if process.poll() is None or _group_alive(process.pid):
            print("marmot dev: stopping the Dagster UI and daemon", file=sys.stderr)
            stop_group(process, signal.SIGTERM if not received else received[0])
    if received:
        return 128 + received[0]
    return process.returncode or 0
