"""`marmot`: the platform's command line.

marmot demo      write the bundled demo partner data (seeded, byte-stable)
marmot prepare   prepare the dbt manifest ahead of loading the code location
marmot run       materialise every asset through Dagster, then print a summary
marmot summary   print the summary of what the warehouse holds
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
    print(f"Demo data for {settings.place_config.name} written to {out}:")
    for f in files:
        print(f"  {f}")
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
                from marmot_assets.definitions import refresh_job

                result = dg.execute_job(
                    dg.reconstructable(refresh_job),
                    instance=instance,
                    run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
                    tags=owner_tags(token),
                )
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


def check_outcomes(instance, run_id: str) -> dict[str, bool]:
    import dagster as dg

    records = instance.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    outcomes = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        outcomes[evaluation.asset_check_key.to_user_string()] = evaluation.passed
    return outcomes


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


def print_summary(summary: dict, checks: dict[str, bool] | None = None) -> None:
    print(f"Warehouse: {summary['warehouse']}")
    print(f"  principles covered: {summary['principles_covered']} of 9 (0 = outcomes, 1-8)")
    print(f"  indicators: {summary['indicators']}, values: {summary['indicator_values']}")
    areas = ", ".join(f"{n} {t}" for t, n in summary["areas"].items())
    print(f"  areas: {areas}")
    print(f"  periods: {summary['periods']}")
    if checks is not None:
        passed = sum(checks.values())
        print(f"  checks passed: {passed} of {len(checks)}")
        for name, ok in sorted(checks.items()):
            if not ok:
                print(f"    FAILED: {name}")


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
        success, run_id, checks = run_refresh(supervise=True)
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
    if not success:
        for holder in _lock_holders_named_in_failures(run_id):
            print(f"The warehouse file was locked by {holder}.", file=sys.stderr)
        print("See the run in the Dagster UI (`make dev`) for the failing step.", file=sys.stderr)
        return 1
    print_summary(warehouse_summary(), checks)
    print_publication()
    return 0 if all(checks.values()) else 1


def print_publication() -> None:
    from marmot_assets.publish.summary import publication_lines, served_summary

    print("\n".join(publication_lines(served_summary(get_settings().home))))


def cmd_summary(args: argparse.Namespace) -> int:
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
    from marmot_assets.partners.commands import add_partner_commands

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
    add_partner_commands(sub)
    add_publication_commands(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
