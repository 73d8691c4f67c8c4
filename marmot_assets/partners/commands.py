"""The partner-facing commands of ``marmot``: check a file before sending it, pseudonymise an
extract at source, and withdraw a delivery."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from marmot_assets.config import get_settings


def reference_codes():
    """(PlaceCodes, where they came from): the codes the door checks area columns against.

    The warehouse's lookup when it can be read now; while a refresh holds the warehouse, the
    newest landed ONS lookup file, parsed as the ONS asset parses it (the same list); only
    when neither exists, patterns alone, and the caller says so.
    """
    import duckdb

    from marmot_assets.partners.door import place_codes
    from marmot_assets.partners.validate import PlaceCodes

    settings = get_settings()
    place = settings.place_config
    codes = PlaceCodes(name=place.name, local_authority={place.code}, lists=place.lists)
    try:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
            found = place_codes(con, place.name, place.code, place.lists)
        if found.lsoa:
            return found, f"the warehouse's ONS lookup ({settings.warehouse_path})"
    except duckdb.Error:
        pass  # held by a refresh, or not built yet: read the landed lookup instead
    from marmot_assets.sources.ons import parse_lookup_csv

    landed = sorted((settings.home / "landing" / "ons" / "geography").glob("*__*.csv"))
    if landed:
        lookup = parse_lookup_csv(landed[-1], place)
        codes.lsoa, codes.ward = set(lookup["lsoa_code"]), set(lookup["ward_code"])
        return codes, f"the landed ONS lookup {landed[-1].name}"
    return codes, None


def cmd_check_file(args: argparse.Namespace) -> int:
    from marmot_assets.partners.contract import get_contract
    from marmot_assets.partners.door import check_file
    from marmot_assets.partners.inbox import IN_TRANSFER

    try:
        contract = get_contract(args.dataset)
    except KeyError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    path = Path(args.file)
    if not path.exists() and not path.is_symlink():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    codes, source = reference_codes()
    verdict = check_file(path, contract, codes)
    if verdict.status == "loaded":
        verdict.status = "would load"
    elif verdict.status == "loaded_with_quarantine":
        verdict.status = "would load with quarantine"
    print(verdict.summary())
    print(
        f"  rows read {verdict.rows_read}, accepted {verdict.rows_accepted}, quarantined "
        f"{verdict.rows_quarantined}, for other places {verdict.rows_other_places}"
    )
    if source:
        print(f"  area codes checked against {source}")
    else:
        print(
            "  area codes checked by pattern only: no lookup of the place is loaded yet (run "
            "the refresh once); the door itself checks them against the place's list"
        )
    if IN_TRANSFER.search(path.name):
        print(
            "  note: the door treats this name as a transfer in progress (a leading '.' or "
            "'.part'); it reads the file once it is renamed"
        )
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
    from marmot_assets.partners.pseudonymise import key_from_environment, pseudonymise_csv

    key = key_from_environment(args.key_env)
    columns = [c.strip() for c in args.columns.split(",") if c.strip()]
    count = pseudonymise_csv(Path(args.source), Path(args.target), columns, key)
    print(f"{count} rows written to {args.target}; columns {args.columns} pseudonymised")
    return 0


def cmd_withdraw(args: argparse.Namespace) -> int:
    import duckdb

    from marmot_assets.partners.load import withdraw

    settings = get_settings()
    try:
        with duckdb.connect(str(settings.warehouse_path)) as con:
            verdict = withdraw(con, args.landing_id, args.reason, args.by)
    except duckdb.IOException as exc:
        print(f"the warehouse is busy, try again when the refresh ends: {exc}", file=sys.stderr)
        return 3
    except (LookupError, ValueError) as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    print(
        f"withdrawn: {verdict.partner}/{verdict.dataset} {verdict.original_name} "
        f"({verdict.sha256[:12]}), {verdict.rows_replaced} rows out of raw, by {verdict.actor}: "
        f"{verdict.error}. The landed file stays for audit; the marts follow at the next refresh."
    )
    return 0


def add_partner_commands(sub) -> None:
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
    out = sub.add_parser("withdraw", help="take a delivery's rows out of the warehouse")
    out.add_argument("landing_id", help="the delivery's SHA-256 (its first 8+ characters)")
    out.add_argument("--reason", required=True, help="why (recorded in the manifest)")
    out.add_argument("--by", help="who asks (default: the user running the command)")
    out.set_defaults(func=cmd_withdraw)
