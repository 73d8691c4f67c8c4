"""RunGuard: a run stops on SIGTERM or Ctrl-C within seconds, and gives up when blocked
past the bound."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator

from marmot_assets.instance.config import TOKEN_TAG
from marmot_assets.instance.holders import (
    EXIT_BUSY,
    WAREHOUSE_POOL,
    WarehouseBusy,
    warehouse_holders_of_pool,
)
from marmot_assets.instance.processes import is_helper, processes_with_token, stop_processes
from marmot_assets.instance.recovery import end_run


class RunInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGINT stopped the run (``run_id``, once known)."""

    def __init__(self, signum: int, run_id: str | None = None):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.run_id = run_id

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise_interrupted(signum, frame):
    raise RunInterrupted(signum)


def run_with_token(instance, token: str) -> str | None:
    """The id of the run tagged with this token, if it has been created."""
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(tags={TOKEN_TAG: token}), limit=1)
    return runs[0].run_id if runs else None


class RunGuard:
    """Supervises the run this process executes (found by its token tag), from a thread.

    Dagster turns SIGTERM and SIGINT into an interrupt of the running step (a dbt build is
    sent SIGINT and waited for), and records the run canceled; but while a step waits for a
    pool slot it only notes the signal, and the wait has no end. So the guard watches:

    - on a signal, the run is marked CANCELING; if a step of it waits for the pool, the main
      thread is nudged (SIGUSR1) into raising ``RunInterrupted`` there, which Dagster records
      as the run canceled;
    - a step that has waited ``wait_seconds`` for the pool is nudged the same way into
      raising ``WarehouseBusy``, naming the run that holds the slot: the run fails;
    - if the process is still there ``grace_seconds`` after a signal, or 3 s after a nudge,
      or at a second signal, the guard stops the run's child processes, marks the run
      canceled (or failed), frees its slots and exits the process.

    Signals are seen through ``signal.set_wakeup_fd``, whatever handler Dagster has installed
    at the time. ``outcome`` raises, after the run, what the guard stopped it for."""

    NUDGE_SECONDS = 3.0

    def __init__(self, token: str, wait_seconds: float, grace_seconds: float = 5.0, say=None):
        self.token = token
        self.wait_seconds = wait_seconds
        self.grace_seconds = grace_seconds
        self.say = say or self._say
        self.signum: int | None = None
        self.exit_code: int | None = None
        self.gave_up: WarehouseBusy | None = None
        self._pending: BaseException | None = None
        self._nudged_at: float | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._done = False
        self._thread: threading.Thread | None = None

    def __enter__(self) -> RunGuard:
        if threading.current_thread() is not threading.main_thread():
            return self
        import dagster as dg

        signals = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
        self._handlers = {s: signal.getsignal(s) for s in signals}
        # Dagster sends the run's stdout and stderr to its compute logs, mirrored back by
        # `tail` processes; the guard writes to the stderr this process was given.
        self._stderr = os.dup(2)
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._old_wakeup = signal.set_wakeup_fd(self._wsock.fileno(), warn_on_full_buffer=False)
        # Outside Dagster's own handling (before and after the run's steps) both raise
        # RunInterrupted (a KeyboardInterrupt), so `marmot run` can clean up.
        signal.signal(signal.SIGTERM, _raise_interrupted)
        signal.signal(signal.SIGINT, _raise_interrupted)
        signal.signal(signal.SIGUSR1, self._raise_pending)
        # Its own instance, made here: two made at once on a new DAGSTER_HOME race to create
        # the storage's tables.
        self._instance = dg.DagsterInstance.get()
        self._thread = threading.Thread(target=self._watch, name="marmot-run-guard", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._done = True
        self._stop.set()
        if self._thread is None:
            return
        self._thread.join(timeout=5)
        self._instance.dispose()
        signal.set_wakeup_fd(self._old_wakeup)
        for signum, handler in self._handlers.items():
            signal.signal(signum, handler)
        self._rsock.close()
        self._wsock.close()
        os.close(self._stderr)

    def outcome(self, run_id: str | None) -> None:
        """Raise what the guard stopped the run for (``RunInterrupted``, ``WarehouseBusy``)."""
        if self.signum is not None:
            raise RunInterrupted(self.signum, run_id)
        if self.gave_up is not None:
            raise self.gave_up

    def _say(self, message: str) -> None:
        fd = getattr(self, "_stderr", 2)
        with contextlib.suppress(OSError):
            os.write(fd, f"marmot: {message}\n".encode())

    def _raise_pending(self, signum, frame) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            raise pending

    def _nudge(self, exc: BaseException) -> None:
        """Have the main thread raise ``exc`` where it is (it waits for a pool slot)."""
        if self._nudged_at is None:
            self._pending = exc
            self._nudged_at = time.monotonic()
            os.kill(os.getpid(), signal.SIGUSR1)

    def run_id(self, instance) -> str | None:
        return run_with_token(instance, self.token)

    def _signals(self, timeout: float) -> Iterator[int]:
        ready, _, _ = select.select([self._rsock], [], [], timeout)
        if ready:
            with contextlib.suppress(BlockingIOError):
                yield from self._rsock.recv(64)

    def _watch(self) -> None:
        instance = self._instance
        signalled_at = None
        blocked_since = None
        run_id = None
        next_check = time.monotonic()
        while not self._stop.is_set():
            for signum in self._signals(0.25):
                if signum not in (signal.SIGINT, signal.SIGTERM):
                    continue
                if self.signum is not None:
                    self._hard_stop(instance, "a second signal", canceled=True)
                self.signum = signum
                self.exit_code = 128 + signum
                signalled_at = time.monotonic()
                next_check = signalled_at
                self._on_signal(instance, signum, run_id)
            if self._stop.is_set():
                return
            now = time.monotonic()
            name = signal.Signals(self.signum).name if self.signum else ""
            if signalled_at is not None and now - signalled_at > self.grace_seconds:
                self._hard_stop(instance, name, canceled=True)
            if self._nudged_at is not None and now - self._nudged_at > self.NUDGE_SECONDS:
                self._hard_stop(instance, name or str(self.gave_up), canceled=bool(name))
            if now < next_check:
                continue
            next_check = now + (0.25 if signalled_at is not None else 1.0)
            try:
                run_id = run_id or self.run_id(instance)
                waiting = self._waiting_steps(instance, run_id) if run_id else []
            except Exception as exc:  # a busy SQLite: look again next time, never die
                self.say(f"run guard: {exc}")
                continue
            if not waiting:
                blocked_since = None
                continue
            if signalled_at is not None:
                self._nudge(RunInterrupted(self.signum, run_id))
                continue
            blocked_since = blocked_since or now
            if now - blocked_since >= self.wait_seconds and self.gave_up is None:
                holders = warehouse_holders_of_pool(instance, run_id)
                self.gave_up = WarehouseBusy(
                    f"gave up after {self.wait_seconds:g} s: step {waiting[0]} of run {run_id} "
                    f"waited that long for the warehouse, held by "
                    f"{'; '.join(holders) or 'another run'}. Run again when it is free."
                )
                self.exit_code = EXIT_BUSY
                self._nudge(self.gave_up)

    @staticmethod
    def _waiting_steps(instance, run_id: str) -> list[str]:
        storage = instance.event_log_storage
        if not storage.supports_global_concurrency_limits:
            return []
        info = storage.get_concurrency_info(WAREHOUSE_POOL)
        return [
            step.step_key
            for step in info.pending_steps
            if step.run_id == run_id and step.assigned_timestamp is None
        ]

    def _on_signal(self, instance, signum: int, run_id: str | None = None) -> None:
        name = signal.Signals(signum).name
        # First mark the run CANCELING (Dagster then records the interrupted run as canceled,
        # not failed), before anything else: the run's step is interrupted at this moment.
        # If Dagster looks before this lands, `end_run` puts it right at the end.
        with contextlib.suppress(Exception):
            run_id = run_id or self.run_id(instance)
            run = instance.get_run_by_id(run_id) if run_id else None
            if run is not None and not run.is_finished:
                instance.report_run_canceling(run, message=f"marmot run received {name}")
        self.say(
            f"{name} received: stopping run {run_id or '(not created yet)'} "
            f"(within {self.grace_seconds:g} s; again to stop at once)"
        )

    def _hard_stop(self, instance, why: str, *, canceled: bool) -> None:
        with self._lock:
            if self._done:
                return
            self._done = True
            run_id, mirrors, leftovers = None, [], []
            try:
                for pid in processes_with_token(self.token):
                    (mirrors if is_helper(pid) else leftovers).append(pid)
                if leftovers:
                    stop_processes(leftovers, timeout=1.5)
                run_id = self.run_id(instance)
                if run_id:
                    message = f"marmot run stopped the run: {why}."
                    end_run(instance, run_id, message, canceled=canceled)
            except Exception as exc:  # the next `marmot run` recovers the run
                self.say(f"could not record the end of run {run_id}: {exc}")
            if mirrors:
                time.sleep(1.0)  # `tail` polls each second: let it copy the run's last lines
            self.say(f"run {run_id or '(none)'} stopped: {why}")
            os._exit(self.exit_code if self.exit_code is not None else 1)
