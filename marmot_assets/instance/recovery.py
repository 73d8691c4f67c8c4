"""Who runs a run, and failing the runs whose process is gone, freeing their pool slots."""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass

from marmot_assets.instance.config import (
    HOST_TAG,
    PID_STARTED_TAG,
    PID_TAG,
    TOKEN_TAG,
    Say,
    say_to_stderr,
)
from marmot_assets.instance.processes import (
    describe_process,
    pid_alive,
    process_started,
    processes_with_token,
    stop_processes,
)


@dataclass(frozen=True)
class RunOwner:
    """The process that runs a run: from our tags, or (runs launched by the UI, a sensor or a
    schedule) from the run worker's first engine event naming its PID."""

    pid: int
    host: str | None = None
    started: str = ""
    seen_at: float | None = None

    def alive(self) -> bool | None:
        """True or False; None when it runs on another host (it cannot be checked here)."""
        if self.host and self.host != socket.gethostname():
            return None
        return pid_alive(self.pid, self.started, self.seen_at)

    def __str__(self) -> str:
        here = not self.host or self.host == socket.gethostname()
        return f"PID {self.pid}" + ("" if here else f" on {self.host}")


def owner_tags(token: str) -> dict[str, str]:
    """The tags of a run this process runs."""
    pid = os.getpid()
    return {
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(pid),
        PID_STARTED_TAG: process_started(pid),
        TOKEN_TAG: token,
    }


def new_run_token() -> str:
    return uuid.uuid4().hex


def run_owner(instance, run) -> RunOwner | None:
    import dagster as dg

    tags = run.tags
    if tags.get(PID_TAG, "").isdigit():
        return RunOwner(int(tags[PID_TAG]), tags.get(HOST_TAG), tags.get(PID_STARTED_TAG, ""))
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return None  # its run workers may be anywhere (containers, other hosts)
    records = instance.get_records_for_run(
        run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT, limit=20
    ).records
    for record in records:
        data = record.event_log_entry.dagster_event.event_specific_data
        pid = (getattr(data, "metadata", None) or {}).get("pid")
        if pid is not None and str(pid.value).isdigit():
            return RunOwner(int(pid.value), seen_at=record.event_log_entry.timestamp)
    return None


def describe_run(instance, run_id: str) -> str:
    run = instance.get_run_by_id(run_id)
    if run is None:
        return f"run {run_id}"
    owner = run_owner(instance, run)
    by = f", {owner}" if owner else ""
    return f"run {run_id} ({run.job_name}, {run.status.value}{by})"


def unfinished_statuses():
    import dagster as dg

    s = dg.DagsterRunStatus
    return [s.NOT_STARTED, s.QUEUED, s.STARTING, s.STARTED, s.CANCELING]


def _pool_run_ids(instance) -> set[str]:
    """Runs that hold or wait for a slot in any pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return set()
    run_ids = set(storage.get_concurrency_run_ids())
    keys = sorted(storage.get_concurrency_keys())
    for info in storage.get_concurrency_infos(keys).values():
        run_ids.update(slot.run_id for slot in info.claimed_slots if slot.run_id)
    return run_ids


def free_run_slots(instance, run_id: str) -> None:
    if instance.event_log_storage.supports_global_concurrency_limits:
        instance.event_log_storage.free_concurrency_slots_for_run(run_id)


def end_run(instance, run_id: str, message: str, *, canceled: bool = False) -> None:
    """Mark the run canceled or failed unless it is over already, and free its slots.

    ``canceled``: a signal stopped it. Dagster records an interrupted run as canceled only if
    it finds the run CANCELING when the interrupt reaches the top of the run; the run guard
    marks it so from its thread, which can come a moment too late (the step fails at once).
    Dagster then says "interrupted unexpectedly ... treating as failure", or, when the
    interrupt reached dbt first, that the dbt step failed (``STEP_FAILURE``): either way that
    run was canceled, and is recorded so."""
    run = instance.get_run_by_id(run_id)
    if run is not None and not run.is_finished:
        if canceled or run.status.value == "CANCELING":
            instance.report_run_canceled(run, message)
        else:
            instance.report_run_failed(run, message)
    elif (
        canceled
        and run is not None
        and run.status.value == "FAILURE"
        and run.tags.get("dagster/failure_reason") in ("UNEXPECTED_TERMINATION", "STEP_FAILURE")
    ):
        instance.report_run_canceled(run, message)
    free_run_slots(instance, run_id)


def recover_orphaned_runs(instance, say: Say = say_to_stderr) -> list[str]:
    """Fail every unfinished run whose process is gone, stop what it left running, and free
    the pool slots of every run that is over. Returns the runs failed."""
    import dagster as dg

    recovered = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=unfinished_statuses())):
        owner = run_owner(instance, run)
        if owner is None or owner.alive() is not False:
            continue  # live, elsewhere, or never started by a process (queued)
        leftovers = processes_with_token(run.tags.get(TOKEN_TAG, ""))
        if leftovers:
            say(f"stopping {', '.join(map(describe_process, leftovers))}, left by run {run.run_id}")
            stop_processes(leftovers)
        end_run(
            instance,
            run.run_id,
            f"The process that ran this run ({owner}) is gone: marked failed and its pool "
            f"slots freed by marmot (PID {os.getpid()}).",
        )
        say(f"run {run.run_id} ({run.status.value}) lost its process ({owner}): marked failed")
        recovered.append(run.run_id)
    for run_id in _pool_run_ids(instance):
        run = instance.get_run_by_id(run_id)
        if run is None or run.is_finished:
            free_run_slots(instance, run_id)
            say(f"freed the pool slots still held by finished run {run_id}")
    return recovered
