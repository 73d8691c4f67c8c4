"""The Dagster instance: DAGSTER_HOME (default $MARMOT_HOME/dagster) with our dagster.yaml, and
what keeps a dead run from blocking the next one.

A `marmot run` killed outright (SIGKILL, the OOM killer, a full disk) leaves its run STARTED
and its step's slot in the warehouse pool claimed, and every later run would wait for that
slot for ever. So:

- each run records who runs it (host, PID and the PID's start time, in run tags) and hands a
  token to the processes it starts (dbt), through the environment;
- ``recover_orphaned_runs`` fails every unfinished run whose process is gone (a PID reused by
  another process counts as gone), kills what that run left running, and frees the pool slots
  of runs that are over, through Dagster's own API (``report_run_failed``,
  ``free_concurrency_slots_for_run``);
- ``wait_for_warehouse`` names whoever holds the warehouse (a live run in the pool, another
  `marmot run`, or another process holding DuckDB's file lock) and gives up after a bound;
- ``RunGuard`` stops a run on SIGTERM or Ctrl-C within seconds, and a run blocked on the
  pool past the bound, marking it canceled or failed and freeing its slots.
"""

from marmot_assets.instance.config import (
    CONFIG_TEMPLATE,
    HOST_TAG,
    PID_STARTED_TAG,
    PID_TAG,
    TOKEN_ENV,
    TOKEN_TAG,
    Say,
    ensure_dagster_home,
    say_to_stderr,
    upgrade_instance_config,
)
from marmot_assets.instance.guard import (
    RunGuard,
    RunInterrupted,
    run_with_token,
)
from marmot_assets.instance.holders import (
    EXIT_BUSY,
    WAREHOUSE_POOL,
    WarehouseBusy,
    lock_holders_in,
    wait_for_warehouse,
    warehouse_holders,
    warehouse_holders_of_pool,
    warehouse_lock_holder,
)
from marmot_assets.instance.processes import (
    describe_process,
    is_helper,
    pid_alive,
    process_started,
    processes_with_token,
    stop_children,
    stop_processes,
)
from marmot_assets.instance.recovery import (
    RunOwner,
    describe_run,
    end_run,
    free_run_slots,
    new_run_token,
    owner_tags,
    recover_orphaned_runs,
    run_owner,
    unfinished_statuses,
)
