"""Processes: alive or not (a reused PID is not the process that ran), and stopping them."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from marmot_assets.instance.config import TOKEN_ENV, Say


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) from /proc/<pid>/stat, or None."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[19])  # fields 3 (state) and 22 (starttime) of proc(5)


def process_started(pid: int) -> str:
    """An opaque stamp of when process ``pid`` started ("" where /proc is not available):
    with the PID it names one process, even after the PID is reused."""
    stat = _proc_stat(pid)
    return str(stat[1]) if stat else ""


def _process_start_epoch(ticks: int) -> float | None:
    try:
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return int(line.split()[1]) + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    return None


def pid_alive(pid: int, started: str = "", not_after: float | None = None) -> bool:
    """Whether process ``pid`` exists and is the one meant: with ``started`` (from
    ``process_started``) the same start time; with ``not_after`` (a timestamp at which the
    process was known to run) started no later than that. Zombies are dead."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, another user's
    stat = _proc_stat(pid)
    if stat is None:
        return not Path("/proc/self/stat").exists()  # gone since, unless there is no /proc
    state, ticks = stat
    if state in ("Z", "X", "x"):
        return False
    if started and str(ticks) != started:
        return False
    if not_after is not None:
        epoch = _process_start_epoch(ticks)
        # A minute's slack: the start time is derived from the boot time, which moves when
        # the clock is stepped; a live run must never be taken for a dead one.
        if epoch is not None and epoch > not_after + 60:
            return False
    return True


def describe_process(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return f"PID {pid}"
    command = " ".join(raw.decode(errors="replace").replace("\0", " ").split())
    if len(command) > 120:
        command = command[:117] + "..."
    return f"PID {pid} ({command})" if command else f"PID {pid}"


def processes_with_token(token: str) -> list[int]:
    """Processes started by the run with this token (their environment carries it)."""
    if not token or not Path("/proc").is_dir():
        return []
    needle = f"{TOKEN_ENV}={token}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def is_helper(pid: int) -> bool:
    """A helper that ends with this process: Dagster's `tail -F` copying the compute logs to
    the terminal and its orphan watcher, or multiprocessing's resource tracker."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return (
        argv[0] == b"tail"
        or any(a.endswith(b"watch_orphans.py") for a in argv)
        or any(b"multiprocessing.resource_tracker" in a for a in argv)
    )


def stop_children(token: str, say: Say) -> None:
    """Stop what this process's run started and left running (a dbt that did not stop)."""
    leftovers = [pid for pid in processes_with_token(token) if not is_helper(pid)]
    if leftovers:
        say(f"stopping {', '.join(map(describe_process, leftovers))}")
        stop_processes(leftovers)


def stop_processes(pids: list[int], timeout: float = 2.0) -> None:
    """SIGTERM, then SIGKILL what is still there after ``timeout`` seconds."""
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.1)
    for pid in pids:
        if pid_alive(pid):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def helper_pool(warm, *args):
    """A pool of one helper process (``concurrent.futures.ProcessPoolExecutor``), spawned
    now and set to ``warm(*args)`` (its imports) at once: (pool, the warm-up's future), or
    None when no process can be had here (the caller then does the work itself). Spawn, not
    fork: the run's process has threads of its own."""
    import concurrent.futures
    import multiprocessing

    try:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=1, mp_context=multiprocessing.get_context("spawn")
        )
        return pool, pool.submit(_warm_up, os.getpid(), warm, *args)
    except OSError:
        return None


def _warm_up(parent: int, warm, *args):
    """In the helper: ``warm(*args)``, and from now on, the helper's end soon after its run's
    process is gone (killed outright, its helpers waited, idle, for the next `marmot run`
    to stop them, forever if that never came for their home)."""
    from marmot_assets.parent_watch import end_with_parent

    end_with_parent(parent)
    return warm(*args)


def stop_pool(pool) -> None:
    """End a pool of helper processes (``concurrent.futures.ProcessPoolExecutor``) at once:
    its processes are stopped, not awaited. What they may still be doing (a warm-up, work no
    one will take) is of no use once their run's steps are done, so a short run does not wait
    for a warm-up it had no use for."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
