"""Who holds the warehouse (a run in the pool, another `marmot run`, DuckDB's file lock), and
a bounded wait for it."""

from __future__ import annotations

import errno
import os
import re
import sys
import time
from pathlib import Path

from marmot_assets.instance.config import PID_TAG, Say, say_to_stderr
from marmot_assets.instance.processes import describe_process
from marmot_assets.instance.recovery import (
    describe_run,
    recover_orphaned_runs,
    run_owner,
    unfinished_statuses,
)

WAREHOUSE_POOL = "duckdb_warehouse"  # as marmot_assets.warehouse, without importing DuckDB


_FLOCK = "hhqqi4x"  # struct flock on Linux: l_type, l_whence, l_start, l_len, l_pid


_DUCKDB_LOCK = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


def warehouse_lock_holder(path: Path) -> int | None:
    """The PID of another process holding DuckDB's lock on the file (asks with F_GETLK, which
    takes no lock; 0 if the holder is in another PID namespace), or None. Never call it while
    this process has the file open: closing any descriptor of a file drops the process's POSIX
    locks on it."""
    if not sys.platform.startswith("linux"):
        return None
    import fcntl
    import struct

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        query = struct.pack(_FLOCK, fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        lock_type, _, _, _, pid = struct.unpack(_FLOCK, fcntl.fcntl(fd, fcntl.F_GETLK, query))
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ENOLCK):
            return None
        raise
    finally:
        os.close(fd)
    return pid if lock_type != fcntl.F_UNLCK and pid != os.getpid() else None


def lock_holders_in(text: str) -> list[str]:
    """The holders DuckDB names in its "Could not set lock on file" errors."""
    return [f"PID {pid} ({exe})" for exe, pid in _DUCKDB_LOCK.findall(text)]


def warehouse_holders(instance, warehouse: Path, own_run_id: str | None = None) -> list[str]:
    """Who holds the warehouse now, besides this process: live runs holding its pool slot,
    other live `marmot run` runs, a process holding DuckDB's file lock."""
    import dagster as dg

    holders: dict[str, str] = {}
    pids: set[int] = set()
    candidates = []
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        info = storage.get_concurrency_info(WAREHOUSE_POOL)
        candidates += [slot.run_id for slot in info.claimed_slots if slot.run_id]
        candidates += [step.run_id for step in info.pending_steps if step.assigned_timestamp]
    in_progress = instance.get_runs(filters=dg.RunsFilter(statuses=unfinished_statuses()))
    candidates += [run.run_id for run in in_progress if PID_TAG in run.tags]
    for run_id in dict.fromkeys(candidates):
        run = instance.get_run_by_id(run_id)
        if run_id == own_run_id or run is None or run.is_finished:
            continue
        owner = run_owner(instance, run)
        if owner is not None and owner.alive() is False:
            continue  # orphaned: recover_orphaned_runs frees it
        if owner is not None and owner.pid == os.getpid():
            continue
        holders[run_id] = describe_run(instance, run_id)
        if owner is not None:
            pids.add(owner.pid)
    pid = warehouse_lock_holder(warehouse)
    if pid is not None and pid not in pids:
        who = describe_process(pid) if pid > 0 else "a process not visible here"
        holders[f"pid:{pid}"] = f"{who}, holding the DuckDB file lock"
    return list(holders.values())


class WarehouseBusy(Exception):
    """The warehouse stayed held for longer than the wait allowed."""


def wait_for_warehouse(
    instance, warehouse: Path, wait_seconds: float, say: Say = say_to_stderr
) -> None:
    """Return once nobody else holds the warehouse (failing dead runs on the way); raise
    ``WarehouseBusy`` naming the holders after ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    reported: list[str] = []
    while True:
        recover_orphaned_runs(instance, say)
        holders = warehouse_holders(instance, warehouse)
        if not holders:
            return
        if holders != reported:
            say(
                f"the warehouse is held by {'; '.join(holders)}: waiting up to "
                f"{wait_seconds:g} s (MARMOT_WAREHOUSE_WAIT_SECONDS)"
            )
            reported = holders
        left = deadline - time.monotonic()
        if left <= 0:
            raise WarehouseBusy(
                f"gave up after {wait_seconds:g} s: the warehouse is still held by "
                f"{'; '.join(holders)}. Run again when it is free (or stop the holder)."
            )
        time.sleep(min(1.0, left))


def warehouse_holders_of_pool(instance, own_run_id: str) -> list[str]:
    """The runs holding the warehouse pool's slot, other than ``own_run_id``."""
    storage = instance.event_log_storage
    info = storage.get_concurrency_info(WAREHOUSE_POOL)
    run_ids = [slot.run_id for slot in info.claimed_slots if slot.run_id]
    run_ids += [step.run_id for step in info.pending_steps if step.assigned_timestamp]
    return [describe_run(instance, r) for r in dict.fromkeys(run_ids) if r != own_run_id]


EXIT_BUSY = 75  # EX_TEMPFAIL: the warehouse was held; try again later
