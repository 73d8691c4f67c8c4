"""`marmot`: the platform's command line.

marmot demo      write the bundled demo partner data (seeded, byte-stable)
marmot prepare   prepare the dbt manifest ahead of loading the code location
marmot run       materialise every asset through Dagster, then print a summary
marmot summary   print the summary of what the warehouse holds
marmot check-file PARTNER/DATASET FILE
                 the door's verdict on a file, before sending it (loads nothing)
marmot pseudonymise --columns A,B IN OUT
                 replace identifier columns with a keyed HMAC-SHA-256 (partner side)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from marmot_assets.config import DBT_PROJECT_DIR, get_settings, read_indicator_catalogue


def _export_home() -> None:
    # Step processes and dbt inherit the environment: give them the resolved MARMOT_HOME.
    settings = get_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    os.environ["MARMOT_HOME"] = str(settings.home)


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
    """Run `dbt parse` once so the code location loads from a ready manifest."""
    _export_home()
    dbt = Path(sys.prefix) / "bin" / "dbt"
    subprocess.run(
        [
            str(dbt),
            "parse",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--quiet",
        ],
        check=True,
        cwd=DBT_PROJECT_DIR,
    )
    return DBT_PROJECT_DIR / "target" / "manifest.json"


def cmd_prepare(args: argparse.Namespace) -> int:
    print(f"dbt manifest prepared: {prepare_manifest()}")
    return 0


def run_refresh():
    """Materialise every asset with the refresh job, recorded in the Dagster instance."""
    import dagster as dg

    from marmot_assets.definitions import refresh_job
    from marmot_assets.instance import ensure_dagster_home

    _export_home()
    ensure_dagster_home()
    if not (DBT_PROJECT_DIR / "target" / "manifest.json").is_file():
        prepare_manifest()
    with dg.DagsterInstance.get() as instance:
        result = dg.execute_job(
            dg.reconstructable(refresh_job),
            instance=instance,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
        checks = check_outcomes(instance, result.run_id)
        return result.success, result.run_id, checks


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


def cmd_run(args: argparse.Namespace) -> int:
    success, run_id, checks = run_refresh()
    print(f"Dagster run {run_id}: {'succeeded' if success else 'FAILED'}")
    if not success:
        print("See the run in the Dagster UI (`make dev`) for the failing step.", file=sys.stderr)
        return 1
    print_summary(warehouse_summary(), checks)
    return 0 if all(checks.values()) else 1


def cmd_summary(args: argparse.Namespace) -> int:
    print_summary(warehouse_summary())
    return 0


def _place_codes_for_checking():
    """The place's codes from the warehouse if it can be read now, else patterns only."""
    import duckdb

    from marmot_assets.partners.door import place_codes
    from marmot_assets.partners.validate import PlaceCodes

    settings = get_settings()
    place = settings.place_config
    try:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            return place_codes(con, place.name, place.code, place.lists)
    except duckdb.Error:
        print(
            "note: the warehouse is not readable now, so area codes are checked by pattern "
            "only, not against the place's list",
            file=sys.stderr,
        )
        return PlaceCodes(name=place.name, local_authority={place.code}, lists=place.lists)


def cmd_check_file(args: argparse.Namespace) -> int:
    from marmot_assets.partners.contract import get_contract
    from marmot_assets.partners.door import check_file

    try:
        contract = get_contract(args.dataset)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    verdict = check_file(path, contract, _place_codes_for_checking())
    if verdict.status == "loaded":
        verdict.status = "would load"
    elif verdict.status == "loaded_with_quarantine":
        verdict.status = "would load with quarantine"
    print(verdict.summary())
    shown = verdict.quarantine[: args.show]
    for q in shown:
        where = f"row {q['row_number']}" + (
            f", column '{q['column_name']}'" if q["column_name"] else ""
        )
        value = f" (value {q['value']!r})" if q.get("value") is not None else ""
        print(f"  {where}: {q['reason']}{value}")
    if len(verdict.quarantine) > len(shown):
        print(f"  ... and {len(verdict.quarantine) - len(shown)} more problems")
    return {"would load": 0, "would load with quarantine": 1}.get(verdict.status, 2)


def cmd_pseudonymise(args: argparse.Namespace) -> int:
    from marmot_assets.partners.identifiers import key_from_environment, pseudonymise_csv

    key = key_from_environment(args.key_env)
    count = pseudonymise_csv(
        Path(args.source),
        Path(args.target),
        [c.strip() for c in args.columns.split(",") if c.strip()],
        key,
    )
    print(f"{count} rows written to {args.target}; columns {args.columns} pseudonymised")
    return 0


def main(argv: list[str] | None = None) -> int:
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
    check = sub.add_parser("check-file", help="the door's verdict on a file, loading nothing")
    check.add_argument(
        "dataset", help="partner/dataset, e.g. council_housing/temporary_accommodation"
    )
    check.add_argument("file")
    check.add_argument("--show", type=int, default=50, help="problems to list (default 50)")
    check.set_defaults(func=cmd_check_file)
    pseudo = sub.add_parser("pseudonymise", help="keyed HMAC-SHA-256 of identifier columns")
    pseudo.add_argument("--columns", required=True, help="comma-separated identifier columns")
    pseudo.add_argument(
        "--key-env",
        default="MARMOT_PSEUDONYMISATION_KEY",
        help="environment variable holding the key (default %(default)s)",
    )
    pseudo.add_argument("source")
    pseudo.add_argument("target")
    pseudo.set_defaults(func=cmd_pseudonymise)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
