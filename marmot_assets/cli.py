"""`marmot`: the platform's command line.

marmot demo      write the bundled demo partner data (seeded, byte-stable)
marmot prepare   prepare the dbt manifest ahead of loading the code location
marmot run       materialise every asset through Dagster, then print a summary
marmot summary   print the summary of what the warehouse holds
marmot dev       the Dagster UI and daemon on 127.0.0.1:3000 (Ctrl-C ends all of it)
marmot check-file PARTNER/DATASET FILE
                 the door's verdict on a file, before sending it (loads nothing)
marmot pseudonymise --columns A,B IN OUT
                 replace identifier columns with a keyed HMAC-SHA-256 (partner side)
marmot withdraw SHA256 --reason TEXT [--by NAME]
                 take a delivery's rows out of the warehouse (its landed bytes stay)
marmot releases  list the kept releases of the serving warehouse, marking the served one
marmot rollback [RELEASE]
                 serve an earlier release again, atomically (default: the previous one)
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

from marmot_assets.config import DBT_PROJECT_DIR, get_settings, read_indicator_catalogue


def _export_home() -> None:
    # Step processes and dbt inherit the environment: the resolved MARMOT_HOME, set up in
    # the one place that prepares dbt's environment.
    from marmot_assets.transform.project import dbt_environment

    dbt_environment()


def cmd_demo(args: argparse.Namespace) -> int:
    from marmot_assets.demo.generator import generate_demo_data

    settings = get_settings()
    out = Path(args.out) if args.out else settings.demo_dir
    inbox = Path(args.inbox) if args.inbox else settings.home / "inbox"
    files = generate_demo_data(out, settings.place_config, read_indicator_catalogue(), inbox)
    dropped = sum(1 for f in files if Path(f).is_relative_to(inbox))
    print(
        f"Demo data for {settings.place_config.name}: {len(files) - dropped} publisher files "
        f"in {out}, {dropped} partner deliveries dropped in {inbox}"
    )
    return 0


def prepare_manifest() -> Path:
    """Prepare the dbt manifest so the code location loads from a ready one."""
    from marmot_assets.transform.project import prepare_manifest as prepare

    return prepare()


def cmd_prepare(args: argparse.Namespace) -> int:
    print(f"dbt manifest prepared: {prepare_manifest()}")
    return 0


def run_refresh(*, supervise: bool = False):
    """Materialise every asset with the refresh job, recorded in the Dagster instance.

    First the runs whose process is gone are failed and their pool slots freed; then, while
    another live run or process holds the warehouse, it waits at most
    MARMOT_WAREHOUSE_WAIT_SECONDS and raises ``WarehouseBusy`` naming the holder. With
    ``supervise`` (the `marmot run` command) a ``RunGuard`` ends the run within seconds of a
    SIGTERM or Ctrl-C (raising ``RunInterrupted``) and bounds the wait for the pool mid-run.
    Whatever happens, the run ends recorded as over and holding no pool slot."""
    import contextlib

    # On an interrupt dagster-dbt forwards SIGINT to dbt and waits this long for it (25 s by
    # default) before the run can end; a `marmot run` must end within 10 s.
    os.environ.setdefault("DAGSTER_DBT_TERMINATION_TIMEOUT_SECONDS", "4")
    import dagster as dg

    from marmot_assets.instance import (
        TOKEN_ENV,
        RunGuard,
        RunInterrupted,
        WarehouseBusy,
        end_run,
        ensure_dagster_home,
        new_run_token,
        owner_tags,
        run_with_token,
        say_to_stderr,
        stop_children,
        wait_for_warehouse,
    )

    _export_home()
    ensure_dagster_home()
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").is_file():
        prepare_manifest()
    settings = get_settings()
    token = new_run_token()
    previous_token = os.environ.get(TOKEN_ENV)
    # dbt and any other process the run starts carry the token: if this process dies, the
    # next `marmot run` finds and stops them (a dbt left running holds the DuckDB lock).
    os.environ[TOKEN_ENV] = token
    guard = RunGuard(token, settings.warehouse_wait_seconds) if supervise else None
    run_id, interrupted, canceled = None, False, False
    try:
        with dg.DagsterInstance.get() as instance, guard or contextlib.nullcontext():
            try:
                wait = settings.warehouse_wait_seconds
                wait_for_warehouse(instance, settings.warehouse_path, wait)
                from marmot_assets.console import StepProgress, output_to
                from marmot_assets.definitions import refresh_job

                # One line per step here; every message of the run is in the event log (the
                # UI's run view) and in the log file `marmot run` names at its end.
                quiet = output_to(printed_file(token)) if supervise else contextlib.nullcontext()
                with quiet as say:
                    progress = StepProgress(
                        instance, lambda: run_with_token(instance, token), say or print
                    )
                    progress.start()
                    try:
                        result = dg.execute_job(
                            dg.reconstructable(refresh_job),
                            instance=instance,
                            run_config={"loggers": {"console": {"config": {"log_level": CONSOLE}}}},
                            tags=owner_tags(token),
                        )
                    finally:
                        progress.finish()
                run_id = result.run_id
                if guard is not None:
                    guard.outcome(run_id)  # raises if the guard stopped the run
                checks = check_outcomes(instance, run_id)
                return result.success, run_id, checks
            except (KeyboardInterrupt, WarehouseBusy) as exc:
                interrupted, canceled = True, isinstance(exc, KeyboardInterrupt)
                run_id = run_id or run_with_token(instance, token)
                if isinstance(exc, RunInterrupted):
                    exc.run_id = run_id
                raise
            finally:
                # An interrupted step keeps its slot claimed: free it, end the run if not over.
                try:
                    if interrupted:
                        stop_children(token, say_to_stderr)
                    run_id = run_id or run_with_token(instance, token)
                    if run_id is not None:
                        message = "marmot run ended before the run did"
                        end_run(instance, run_id, message, canceled=canceled)
                except Exception as exc:  # a full disk: the next `marmot run` does it
                    say_to_stderr(f"could not record the end of run {run_id}: {exc}")
    finally:
        if previous_token is None:
            os.environ.pop(TOKEN_ENV, None)
        else:
            os.environ[TOKEN_ENV] = previous_token


# What Dagster itself prints while `marmot run` goes: errors only (MARMOT_CONSOLE_LEVEL=INFO
# brings back every message, dbt's node by node).
CONSOLE = os.environ.get("MARMOT_CONSOLE_LEVEL", "ERROR")


def printed_file(token: str) -> Path:
    """Where a `marmot run` puts what its run prints, until the run's log file takes it."""
    return get_settings().home / "logs" / f".printed-{token}.out"


def check_outcomes(instance, run_id: str) -> dict[str, bool]:
    """Whether each check of the run passed (a check that warned did not)."""
    return {name: passed for name, (passed, _) in check_evaluations(instance, run_id).items()}


def check_evaluations(instance, run_id: str) -> dict[str, tuple[bool, bool]]:
    """(passed, only a warning) of each check of the run, by its name."""
    import dagster as dg

    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    outcomes = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        warning = evaluation.severity == dg.AssetCheckSeverity.WARN
        outcomes[evaluation.asset_check_key.to_user_string()] = (evaluation.passed, warning)
    return outcomes


def exit_status(evaluations: dict[str, tuple[bool, bool]]) -> int:
    """`marmot run`'s exit status once its run succeeded: 1 if a check failed at error
    severity (a rejected partner file, a failed audit), 0 if every check passed or only
    warned (tolerated quarantine: the summary lists them)."""
    return 1 if any(not passed and not warning for passed, warning in evaluations.values()) else 0


def warehouse_summary() -> dict:
    import duckdb

    path = get_settings().warehouse_path
    with duckdb.connect(str(path), read_only=True) as con:
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "warehouse": str(path),
            "principles_covered": one(
                "select count(distinct i.principle_id) from marts.fct_indicator_values f "
                "join marts.dim_indicator i using (indicator_id)"
            ),
            "indicators": one(
                "select count(distinct indicator_id) from marts.fct_indicator_values"
            ),
            "areas": dict(
                con.execute(
                    "select area_type, count(*) from marts.dim_area group by 1 order by 1"
                ).fetchall()
            ),
            "periods": one("select count(distinct period) from marts.fct_indicator_values"),
            "indicator_values": one("select count(*) from marts.fct_indicator_values"),
        }


def print_summary(summary: dict, checks: dict[str, tuple[bool, bool]] | None = None) -> None:
    print(f"Warehouse: {summary['warehouse']}")
    print(f"  principles covered: {summary['principles_covered']} of 9 (0 = outcomes, 1-8)")
    print(f"  indicators: {summary['indicators']}, values: {summary['indicator_values']}")
    areas = ", ".join(f"{n} {t}" for t, n in summary["areas"].items())
    print(f"  areas: {areas}")
    print(f"  periods: {summary['periods']}")
    for name, (passed, warning) in sorted((checks or {}).items()):
        if not passed:
            print(f"    check {'warned' if warning else 'failed'}: {name}")


def _lock_holders_named_in_failures(run_id: str) -> list[str]:
    """Who held DuckDB's file lock when a step of the run failed to open the warehouse."""
    import dagster as dg

    from marmot_assets.instance import lock_holders_in

    with dg.DagsterInstance.get() as instance:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.STEP_FAILURE
        ).records
    holders = []
    for record in records:
        error = record.event_log_entry.dagster_event.step_failure_data.error
        while error is not None:
            holders += lock_holders_in(error.message)
            error = error.cause
    return list(dict.fromkeys(holders))


def cmd_run(args: argparse.Namespace) -> int:
    from marmot_assets.instance import EXIT_BUSY, RunInterrupted, WarehouseBusy

    try:
        success, run_id, _ = run_refresh(supervise=True)  # checks: with severity, below
    except WarehouseBusy as exc:
        print(f"marmot: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except RunInterrupted as exc:
        if exc.run_id:
            print(f"Dagster run {exc.run_id}: canceled ({exc}); its pool slots are free")
        else:
            print(f"marmot run stopped by {exc} before its run started", file=sys.stderr)
        return exc.exit_code
    print(f"Dagster run {run_id}: {'succeeded' if success else 'FAILED'}")
    log_file = _run_log(run_id)
    if not success:
        for holder in _lock_holders_named_in_failures(run_id):
            print(f"The warehouse file was locked by {holder}.", file=sys.stderr)
        print("See the run in the Dagster UI (`make dev`) for the failing step.", file=sys.stderr)
        print(f"Full log: {log_file}", file=sys.stderr)
        return 1
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        evaluations = check_evaluations(instance, run_id)
    print_summary(warehouse_summary(), evaluations)
    print_run_figures(run_id)
    print_publication()
    print(f"Full log of the run: {log_file}")
    return exit_status(evaluations)


def _run_log(run_id: str):
    import dagster as dg

    from marmot_assets.console import write_run_log
    from marmot_assets.instance import TOKEN_TAG

    with dg.DagsterInstance.get() as instance:
        run = instance.get_run_by_id(run_id)
        token = run.tags.get(TOKEN_TAG) if run else None
        printed = printed_file(token) if token else None
        return write_run_log(instance, run_id, get_settings().home / "logs", printed)


def print_run_figures(run_id: str) -> None:
    import dagster as dg

    from marmot_assets.console import figure_lines, run_figures

    with dg.DagsterInstance.get() as instance:
        figures = run_figures(instance, run_id)
    print(f"Run {run_id} (as the Dagster UI shows it):")
    print("\n".join(figure_lines(figures)))


def print_publication() -> None:
    from marmot_assets.publish.summary import publication_lines, served_summary

    print("\n".join(publication_lines(served_summary(get_settings().home))))


def cmd_dev(args: argparse.Namespace) -> int:
    from marmot_assets.dev import run_dev

    _export_home()
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").is_file():
        prepare_manifest()
    return run_dev(args.host, args.port, DBT_PROJECT_DIR.parent / "workspace.yaml")


def cmd_summary(args: argparse.Namespace) -> int:
    path = get_settings().warehouse_path
    if not path.is_file():
        print(
            f"No warehouse at {path} yet: `marmot run` (or `make run`) builds it.", file=sys.stderr
        )
        return 1
    print_summary(warehouse_summary())
    return 0


def cmd_releases(args: argparse.Namespace) -> int:
    from marmot_assets.publish.releases import list_releases, serving_path

    home = get_settings().home
    kept = list_releases(home)
    if not kept:
        print(f"No releases yet under {home / 'serving' / 'releases'}")
        return 0
    print(f"Serving file: {serving_path(home)}")
    for r in kept:
        mark = "*" if r["served"] else " "
        rows = r["row_counts"].get("fct_indicator_values", "?")
        commit = (r["git_commit"] or "unknown")[:12]
        print(f"{mark} {r['release_id']}  {r['released_at']}  {commit}  values: {rows}")
    print("(* = served)")
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from marmot_assets.publish.releases import rollback

    try:
        release_id = rollback(get_settings().home, args.release)
    except LookupError as exc:
        print(f"marmot: {exc}", file=sys.stderr)
        return 1
    print(f"Serving release {release_id}")
    return 0


def add_publication_commands(sub) -> None:
    sub.add_parser("releases", help="list the kept releases, marking the served one").set_defaults(
        func=cmd_releases
    )
    rollback = sub.add_parser("rollback", help="serve an earlier release again")
    rollback.add_argument("release", nargs="?", help="release id or prefix (default: previous)")
    rollback.set_defaults(func=cmd_rollback)


def main(argv: list[str] | None = None) -> int:
    import warnings

    from marmot_assets.partners.commands import add_partner_commands

    # Dagster's notes that an API is beta or preview are for who writes the code (the tests
    # and the UI still show them), not for who runs a refresh.
    warnings.filterwarnings("ignore", message=r".*is currently in (beta|preview)")

    parser = argparse.ArgumentParser(
        prog="marmot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="write the bundled demo partner data")
    demo.add_argument("--out", help="publisher files folder (default $MARMOT_HOME/demo)")
    demo.add_argument("--inbox", help="partner drop folders (default $MARMOT_HOME/inbox)")
    demo.set_defaults(func=cmd_demo)
    sub.add_parser("prepare", help="prepare the dbt manifest").set_defaults(func=cmd_prepare)
    sub.add_parser("run", help="materialise every asset, print a summary").set_defaults(
        func=cmd_run
    )
    sub.add_parser("summary", help="summarise the warehouse").set_defaults(func=cmd_summary)
    dev = sub.add_parser("dev", help="the Dagster UI and daemon (Ctrl-C stops all of it)")
    dev.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    dev.add_argument("--port", type=int, default=3000)
    dev.set_defaults(func=cmd_dev)
    add_partner_commands(sub)
    add_publication_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def entry() -> None:
    """The `marmot` command: ``main()``, then out at once. After a refresh this process holds
    dbt's, Dagster's, GX's and pandas' modules and a few million objects, and Python takes
    ~1.3 s to take them apart one by one at exit, after the summary is printed, with nothing
    left to write. The exit handlers still run first (the processes the run started are ended
    and their semaphores released, log handlers flushed); then the process ends."""
    import atexit

    code = main()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code if isinstance(code, int) else 1)


if __name__ == "__main__":
    entry()
