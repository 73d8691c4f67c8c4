"""The partner-facing commands of ``marmot``: check a file before sending it, pseudonymise an
extract at source, and withdraw a delivery."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from marmot_assets.config import get_settings

if TYPE_CHECKING:
    from marmot_assets.partners.contract import Contract
    from marmot_assets.partners.validate import PlaceCodes


# Exit code of check-file when the file passed every check that could be made but its area
# codes were checked by pattern only (no list of the place's codes was found): the door's own
# verdict may differ, so a script must not read it as "would load".
EXIT_PATTERNS_ONLY = 4


def reference_codes(contract: Contract | None = None) -> tuple[PlaceCodes, str | None]:
    """(PlaceCodes, where they came from): the codes the door checks area columns against.

    Never opens the warehouse (a reader there would make a refresh fail on DuckDB's lock, and
    a refresh holding it would make the reader fall back): the codes come from, in order,

    1. the served release (``serving/marmot.duckdb``, a published file readers may open): the
       LSOAs and wards of its ``dim_area``, when it is a release of the configured place;
    2. else the newest landed ONS lookup (``landing/ons/geography``) that parses, as the ONS
       asset parses it (what the warehouse loaded);
    3. else, with demo or local source files, the reference lookup the ONS asset would load
       (``<demo dir>/ons/geography/lsoa_ward_lad_lookup.csv``).

    On LSOA 2021, the conversion of LSOA 2011 codes is built as the door builds it
    (``load_conversion``) from ONS's LSOA 2011 -> 2021 lookup (newest landed, else the
    reference file), split shares from the landed ONS population estimates and the release's
    IoD population denominators; only for a ``contract`` with an LSOA column (the door
    converts nothing else). ``None`` as the source: none of these exists, patterns only.
    """
    from marmot_assets.partners.validate import PlaceCodes

    settings = get_settings()
    place = settings.place_config
    lsoa_year = place.geography.lsoa_year
    codes = PlaceCodes(
        name=place.name, local_authority={place.code}, lists=place.lists, lsoa_year=lsoa_year
    )
    release = _release_areas(settings.home, place.code)
    if release is not None:
        codes.lsoa, codes.ward = release["lsoa"], release["ward"]
        source = f"release {release['id']} ({release['path']})"
    elif found := _lookup_codes(settings, place):
        (codes.lsoa, codes.ward), source = found
    else:
        return codes, None
    has_lsoa = contract is None or any(c.area == "lsoa" for c in contract.columns)
    if lsoa_year == 2021 and has_lsoa:
        imd = release["population"] if release else {}
        codes.conversion, conversion_source = _conversion(settings, place, codes.lsoa, imd)
        if conversion_source:
            source += f"; LSOA 2011 codes converted by {conversion_source}"
    return codes, source


def _release_areas(home: Path, place_code: str) -> dict | None:
    """The served release's LSOA and ward codes (and LSOA populations), read-only; None when
    nothing is served, it has no areas, or it is another place's."""
    import duckdb

    from marmot_assets.publish.releases import serving_path

    path = serving_path(home)
    if not path.is_file():
        return None
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            release_id = con.execute("select release_id from release_manifest").fetchone()[0]
            rows = con.execute(
                "select area_code, area_type, is_place, population_total from dim_area "
                "where area_type in ('lsoa', 'ward') or is_place"
            ).fetchall()
    except (duckdb.Error, TypeError):  # not a whole release (no manifest, no dim_area)
        return None
    places = {code for code, _, is_place, _ in rows if is_place}
    lsoa = {code for code, kind, _, _ in rows if kind == "lsoa"}
    if place_code not in places or not lsoa:
        return None
    return {
        "id": release_id,
        "path": path,
        "lsoa": lsoa,
        "ward": {code for code, kind, _, _ in rows if kind == "ward"},
        "population": {code: n for code, kind, _, n in rows if kind == "lsoa" and n},
    }


def _reference_allowed(settings) -> bool:
    """The demo folder's files are the place's reference only when the assets read them."""
    return settings.source_mode == "demo" or settings.source_dir is not None


def _parsed(settings, folder: tuple[str, ...], reference: tuple[str, ...], parse):
    """(frame, what it is) of the newest landed file of ``folder`` that parses (the one the
    warehouse holds: a later file that failed to parse was not loaded), else the reference
    file the asset would read; None when there is neither."""
    from marmot_assets.reading.errors import SourceFileError

    landed = sorted(settings.home.joinpath("landing", *folder).glob("*__*.csv"), reverse=True)
    for path in landed:
        try:
            return parse(path), f"the landed ONS lookup {path.name}"
        except (SourceFileError, OSError, ValueError):
            continue
    path = settings.demo_dir.joinpath(*reference)
    if _reference_allowed(settings) and path.is_file():
        try:
            return parse(path), f"the reference lookup {path}"
        except (SourceFileError, OSError, ValueError):
            return None
    return None


def _lookup_codes(settings, place):
    from marmot_assets.sources.ons import DEMO_LOOKUP, parse_lookup_csv

    found = _parsed(settings, ("ons", "geography"), DEMO_LOOKUP,
                    lambda p: parse_lookup_csv(p, place))  # fmt: skip
    if found is None:
        return None
    lookup, source = found
    return (set(lookup["lsoa_code"]), set(lookup["ward_code"])), source


def _conversion(settings, place, lsoa21: set[str], imd_population: dict[str, int]):
    """(LsoaConversion | None, its source): ``load_conversion`` over an in-memory copy of the
    tables it reads in the warehouse, filled from the landed files and the release."""
    import duckdb
    import pandas as pd

    from marmot_assets.partners.lsoa_conversion import LOOKUP_TABLE, load_conversion
    from marmot_assets.sources.ons import DEMO_CHANGES, parse_changes_csv

    found = _parsed(settings, ("ons", "lsoa_changes"), DEMO_CHANGES,
                    lambda p: parse_changes_csv(p, place))  # fmt: skip
    if found is None or not lsoa21:
        return None, None
    changes, source = found
    with duckdb.connect() as con:  # in memory: never the warehouse
        con.execute("create schema raw")
        con.register("_changes", changes)
        con.execute(f"create table raw.{LOOKUP_TABLE} as select * from _changes")
        ours = changes[changes["lsoa21_code"].isin(lsoa21)]
        if ours.groupby("lsoa11_code")["lsoa21_code"].count().gt(1).any():  # shares needed
            population = _population(settings)
            if population is not None:
                con.register("_population", population)
                con.execute(
                    "create table raw.ons_population_estimates as select * from _population"
                )
            if imd_population:
                imd = pd.DataFrame(  # noqa: F841 (read by DuckDB below)
                    {
                        "lsoa_code": list(imd_population),
                        "population_total": list(imd_population.values()),
                        "release": place.deprivation.release,
                    }
                )
                con.execute("create table raw.mhclg_imd_lsoa as select * from imd")
        return load_conversion(con, lsoa21), source


def _population(settings):
    """The population estimates the warehouse holds (the newest landed file that parses)."""
    from marmot_assets.sources.population import DEMO_FILE, parse_population_csv

    found = _parsed(settings, ("ons", "population"), DEMO_FILE, parse_population_csv)
    return found[0] if found else None


def cmd_check_file(args: argparse.Namespace) -> int:
    """``marmot check-file``: the door's verdict on a file, loading nothing.

    Prints the verdict and which list of the place's codes the area columns were checked
    against (``reference_codes``: the served release, else the landed or reference ONS
    lookup). Exit codes: 0 would load, 1 would load with quarantine, 2 rejected (or no such
    contract or file), 4 (``EXIT_PATTERNS_ONLY``) it passed but its area codes were checked
    by pattern only, not against the place's codes, so the door may still quarantine or
    reject rows: run the refresh once (or `marmot demo`) so a list of the place exists.
    """
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
    codes, source = reference_codes(contract)
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
            f"  area codes checked by pattern only, NOT against the codes of {codes.name}: no "
            "published release, landed ONS lookup or reference lookup of the place was found "
            "(run the refresh once); the door itself checks them against the place's list, "
            "so its verdict may differ"
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
    status = {"would load": 0, "would load with quarantine": 1}.get(verdict.status, 2)
    return EXIT_PATTERNS_ONLY if status < 2 and not source else status


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
