"""What `marmot run` shows: one line per step as the run goes, a summary whose figures are the
ones the Dagster UI shows for the run (read from the same event log), and the full log in a
file named in the summary (``$MARMOT_HOME/logs/run-<run id>.log``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import dagster as dg

POLL_SECONDS = 0.5
STEP_EVENTS = (
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_SKIPPED,
)
# What a check is, from the asset it is on: the door's verdicts on partner files, dbt tests,
# the great-expectations audit of the staged release, the checks of publishers' data.
DBT_LAYERS = ("staging", "intermediate", "marts", "publish", "history", "reference")
# the door's checks on a partner's raw asset (partners/assets.py)
DOOR_CHECKS = ("every_file_accepted", "no_rows_quarantined", "every_ward_reported")


def check_kind(check_key: dg.AssetCheckKey) -> str:
    layer = check_key.asset_key.path[0]
    if layer in DBT_LAYERS:
        return "dbt tests"
    if layer == "publication":
        return "release audit"
    if check_key.name in DOOR_CHECKS:
        return "partner files"
    return "publisher data"


class StepProgress(threading.Thread):
    """Prints a line for each step of the run holding ``token`` as it ends."""

    def __init__(self, instance: dg.DagsterInstance, find_run, say=print):
        super().__init__(daemon=True, name="marmot-progress")
        self.instance, self.find_run, self.say = instance, find_run, say
        self.stop = threading.Event()
        self.run_id: str | None = None

    def run(self) -> None:
        try:
            self._follow()
        except Exception as exc:  # progress is a courtesy: never the run's failure
            self.say(f"  (progress lines stopped: {type(exc).__name__})")

    def _follow(self) -> None:
        while self.run_id is None and not self.stop.wait(POLL_SECONDS):
            self.run_id = self.find_run()
        if self.run_id is None:
            return
        total = self._step_count()
        cursor, done, started = None, 0, {}
        while True:
            stopping = self.stop.is_set()
            result = self.instance.get_records_for_run(
                self.run_id, cursor=cursor, of_type={dg.DagsterEventType.STEP_START, *STEP_EVENTS}
            )
            cursor = result.cursor
            for record in result.records:
                entry = record.event_log_entry
                event = entry.dagster_event
                if event.event_type == dg.DagsterEventType.STEP_START:
                    started[event.step_key] = entry.timestamp
                    continue
                done += 1
                seconds = entry.timestamp - started.get(event.step_key, entry.timestamp)
                self.say(step_line(done, total, event, seconds))
            if stopping and not result.has_more:
                return
            if not result.has_more:
                self.stop.wait(POLL_SECONDS)

    def _step_count(self) -> int | None:
        run = self.instance.get_run_by_id(self.run_id)
        snapshot_id = run.execution_plan_snapshot_id if run else None
        if not snapshot_id:
            return None
        return len(self.instance.get_execution_plan_snapshot(snapshot_id).steps)

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=10)


def step_line(done: int, total: int | None, event, seconds: float) -> str:
    outcome = {
        dg.DagsterEventType.STEP_SUCCESS: "done",
        dg.DagsterEventType.STEP_FAILURE: "FAILED",
        dg.DagsterEventType.STEP_SKIPPED: "skipped",
    }[event.event_type]
    width = len(str(total or done))
    where = f"[{done:>{width}}/{total}]" if total else f"[{done}]"
    line = f"  {where} {event.step_key}: {outcome} ({seconds:.1f} s)"
    if event.event_type == dg.DagsterEventType.STEP_FAILURE:
        error = event.step_failure_data.error
        if error is not None:
            line += f": {error.message.strip().splitlines()[0][:200]}"
    return line


def run_figures(instance: dg.DagsterInstance, run_id: str) -> dict:
    """The run's figures as the UI has them: assets materialised; checks passed, failed and
    warned by kind; partner files received, loaded and rejected and rows quarantined (the
    door's check metadata)."""
    records = instance.get_records_for_run(
        run_id,
        of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION,
            dg.DagsterEventType.ASSET_CHECK_EVALUATION,
        },
        limit=100_000,
    ).records
    materialised, checks = set(), {}
    for record in records:
        event = record.event_log_entry.dagster_event
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialised.add(event.asset_key)
        else:
            checks[event.event_specific_data.asset_check_key] = event.event_specific_data
    by_kind: dict[str, Counter] = {}
    files = Counter()
    for key, evaluation in checks.items():
        if evaluation.passed:
            outcome = "passed"
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            outcome = "warned"
        else:
            outcome = "failed"
        by_kind.setdefault(check_kind(key), Counter())[outcome] += 1
        metadata = {k: getattr(v, "value", v) for k, v in evaluation.metadata.items()}
        if key.name == "every_file_accepted":
            files["received"] += int(metadata.get("files_received", 0))
            files["rejected"] += int(metadata.get("files_rejected", 0))
        elif key.name == "no_rows_quarantined":
            files["rows quarantined"] += int(metadata.get("rows_quarantined", 0))
    return {"assets_materialised": len(materialised), "checks": by_kind, "files": files}


def figure_lines(figures: dict) -> list[str]:
    checks = figures["checks"]
    total = Counter()
    for counts in checks.values():
        total.update(counts)
    lines = [
        f"  assets materialised: {figures['assets_materialised']}",
        f"  checks: {total['passed']} passed, {total['failed']} failed, "
        f"{total['warned']} warned, of {sum(total.values())}",
    ]
    for kind in sorted(checks):
        c = checks[kind]
        lines.append(
            f"    {kind}: {c['passed']} passed, {c['failed']} failed, {c['warned']} warned"
        )
    f = figures["files"]
    lines.append(
        f"  partner files: {f['received']} received, {f['received'] - f['rejected']} accepted, "
        f"{f['rejected']} rejected; {f['rows quarantined']} rows quarantined"
    )
    return lines


@contextlib.contextmanager
def output_to(path: Path):
    """While the run goes, what anything prints on standard output (dbt's lines, re-emitted by
    dagster-dbt, one per node) goes to ``path``; yields a function that prints on the terminal.
    Standard error stays where it was: errors and the run guard's messages are seen."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    saved = os.dup(1)
    terminal = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    with path.open("ab") as f:
        os.dup2(f.fileno(), 1)

    def say(line: str) -> None:
        terminal.write(line + "\n")

    try:
        yield say
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
        terminal.close()


def write_run_log(
    instance: dg.DagsterInstance, run_id: str, folder: Path, output: Path | None = None
) -> Path:
    """Every event of the run, one line each, as the UI's run log lists them; then what the
    run printed (``output``, taken into this file)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"run-{run_id}.log"
    with path.open("w", encoding="utf-8") as out:
        for entry in instance.all_logs(run_id):
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(entry.timestamp))
            kind = entry.dagster_event.event_type_value if entry.dagster_event else "LOG"
            step = entry.step_key or "-"
            message = " ".join((entry.user_message or "").split())
            level = logging.getLevelName(entry.level)
            out.write(f"{when} {level:<7} {step} {kind} {message}\n")
        if output is not None and output.exists():
            out.write("\n--- what the run printed ---\n")
            with output.open(encoding="utf-8", errors="replace") as printed:
                for line in printed:
                    out.write(line)
            output.unlink()
    return path
