"""Partner datasets as Dagster assets: one per dataset contract in ``partners/contracts``.

Each asset empties its drop folder through the door, one delivery at a time: every entry
gets a verdict in ``raw.landing_manifest`` (a file still arriving waits for the next run);
its checks say whether every file was accepted and whether rows were quarantined, with the
file, row, column and reason in their metadata. A rejected file fails the check, not the
run: other partners' data and the marts still refresh. Adding a dataset is a contract file,
a staging model and demo data: no code here changes.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings
from marmot_assets.freshness import freshness_for
from marmot_assets.landing.manifest import ACCEPTED, Verdict, ensure_manifest, record_verdict
from marmot_assets.landing.store import clean_incoming
from marmot_assets.partners import inbox as drop
from marmot_assets.partners.contract import Contract, load_contracts
from marmot_assets.partners.door import NotReceived, place_codes, place_lookup, receive
from marmot_assets.partners.load import ensure_table
from marmot_assets.partners.partitions import (
    backfill_policy_for,
    partition_key,
    partition_keys_of,
    partitions_for,
)
from marmot_assets.partners.read_ahead import ReadAheadResource
from marmot_assets.resilience import API_RETRY_POLICY
from marmot_assets.ui_metadata import (
    column_schema_from_contract,
    contract_code_version,
    is_small_count,
    safe_preview,
)
from marmot_assets.warehouse import WAREHOUSE_POOL

LOOKUP_KEY = dg.AssetKey(["raw", "ons_lsoa_ward_lookup"])
# LSOA 2011 codes are converted with ONS's 2011 -> 2021 lookup, splits shared by population.
CONVERSION_KEYS = [
    dg.AssetKey(["raw", "ons_lsoa11_lsoa21_lookup"]),
    dg.AssetKey(["raw", "ons_population_estimates"]),
    dg.AssetKey(["raw", "mhclg_imd_lsoa"]),
]
FILES_ACCEPTED, NO_QUARANTINE = "every_file_accepted", "no_rows_quarantined"
EVERY_WARD = "every_ward_reported"  # returns with one row per ward and period only
SHOWN = 50  # quarantine rows shown in a check's metadata


def inbox(contract: Contract) -> Path:
    return get_settings().home / "inbox" / contract.partner / contract.dataset


def scan_inbox(contract: Contract, settle: float | None = None) -> list[drop.Entry]:
    settings = get_settings()
    return drop.scan(
        inbox(contract),
        settle=settings.inbox_settle_seconds if settle is None else settle,
        stale=settings.inbox_stale_hours * 3600,
        control_file=contract.control_file,
    )


def asset_key(contract: Contract) -> dg.AssetKey:
    return dg.AssetKey(["raw", contract.table])


def receive_all(
    contract: Contract, con, log, read_ahead=None, run_contracts: list[Contract] = ()
) -> tuple[list[Verdict], list[str]]:
    """Every entry of the drop folder through the door: (verdicts, entries left waiting).
    With ``read_ahead``, the deliveries of ``run_contracts`` (this run's partner assets, this
    one first) are read ahead while the door loads (partners/read_ahead.py)."""
    settings, place = get_settings(), get_settings().place_config
    clean_incoming(settings.home / "landing" / contract.partner / contract.dataset)
    ensure_manifest(con)
    ensure_table(con, contract)
    codes = place_codes(con, place.name, place.code, place.lists, place.geography.lsoa_year)
    if read_ahead is not None:
        read_ahead.start(codes, lambda: deliveries_waiting([contract, *run_contracts]))
    verdicts, waiting = [], []
    for entry in scan_inbox(contract):
        name = drop.display_name(entry.path)
        if entry.kind in ("arriving", "waiting_control"):
            waiting.append(f"{name}: {entry.reason}")
            continue
        if entry.kind in ("refused", "stale_transfer"):
            verdict = _refusal_verdict(contract, entry, name)
            record_verdict(con, verdict)
            drop.set_aside(entry, settings.home, contract.partner, contract.dataset)
        else:
            try:
                verdict = receive(
                    entry.path, contract, con, codes, settings.home, read_ahead=read_ahead
                )
            except NotReceived as exc:
                waiting.append(str(exc))
                log.warning(str(exc))
                if "no room" in str(exc):
                    break  # landing is full: the rest wait too
                continue
            if drop.unchanged(entry):  # kept in landing or restricted storage: empty the inbox
                drop.remove(entry)
        log.info(verdict.summary())
        verdicts.append(verdict)
    return verdicts, waiting


def contracts_in_run(context) -> list[Contract]:
    """The contracts of the partner assets this run executes, in the order of their steps
    (none known outside a run)."""
    try:
        steps = context.run.step_keys_to_execute
        nodes = steps if steps is not None else [n.name for n in context.job_def.graph.nodes]
    except Exception:  # an asset called directly (benchmarks, tests): no run around it
        return []
    ops = {asset_key(c).to_python_identifier(): c for c in load_contracts().values()}
    return [ops[name] for name in sorted(nodes) if name in ops]


def deliveries_waiting(contracts: list[Contract]) -> list[tuple[Contract, Path]]:
    """The files in these contracts' drop folders that look whole at a glance (a look that
    never waits for a file to settle: the door's own look decides what it receives)."""
    seen, found = set(), []
    for contract in contracts:
        if contract.name in seen:
            continue
        seen.add(contract.name)
        for entry in scan_inbox(contract, settle=0):
            if entry.kind == "ready":
                found.append((contract, entry.path))
    return found


def _refusal_verdict(contract: Contract, entry: drop.Entry, name: str) -> Verdict:
    import hashlib

    digest = hashlib.sha256(name.encode("utf-8", "replace")).hexdigest()
    return Verdict(
        contract.partner, contract.dataset, name, digest, 0, status="rejected",
        error=f"{name}: {entry.reason}",
    )  # fmt: skip


def _outcome(verdicts: list[Verdict]) -> pd.DataFrame:
    columns = ["file", "status", "rows_read", "accepted", "quarantined", "replaced",
               "lsoa_codes", "error"]  # fmt: skip
    return pd.DataFrame(
        [
            [v.original_name, v.status, v.rows_read, v.rows_accepted, v.rows_quarantined,
             v.rows_replaced, v.lsoa_vintage or "",
             (v.error or "") + "".join(f" Note: {n}" for n in v.notes)]
            for v in verdicts
        ],
        columns=columns,
    )  # fmt: skip


def _checks(contract: Contract, verdicts: list[Verdict]) -> list[dg.AssetCheckResult]:
    rejected = [v for v in verdicts if v.status == "rejected"]
    quarantine = pd.DataFrame(
        [{"file": v.original_name, **q} for v in verdicts for q in v.quarantine],
        columns=["file", "row_number", "column_name", "reason", "value"],
    ).drop(columns="value")
    return [
        dg.AssetCheckResult(
            check_name=FILES_ACCEPTED,
            passed=not rejected,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "files_received": len(verdicts),
                "files_rejected": len(rejected),
                "rejected": dg.MetadataValue.md(
                    "\n".join(f"- {v.error}" for v in rejected) or "none"
                ),
            },
        ),
        dg.AssetCheckResult(
            check_name=NO_QUARANTINE,
            passed=quarantine.empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_quarantined": sum(v.rows_quarantined for v in verdicts),
                "quarantined_rows": dg.MetadataValue.md(
                    quarantine.head(SHOWN).to_markdown(index=False) if len(quarantine) else "none"
                ),
            },
        ),
    ]


def ward_column(contract: Contract) -> str | None:
    """The ward column of a return with one row per ward and period (its key is the ward and
    the period: NEET, free school meals, temporary accommodation), else None. A ward missing
    from such a return's period is data missing, not a ward with nothing to count."""
    wards = [c.name for c in contract.columns if c.area == "ward"]
    if contract.period and len(wards) == 1 and set(contract.key) == {wards[0], contract.period}:
        return wards[0]
    return None


def place_wards(con) -> set[str]:
    """The place's wards, as the door knows them (door.place_codes); empty before the lookup
    is loaded."""
    return {ward for _, ward in place_lookup(con) if ward}


def wards_not_reported(con, contract: Contract, verdicts: list[Verdict], place_wards: set[str]):
    """For each period an accepted delivery brought, the place's wards it has no row for (the
    row quarantined, or not sent): file, period, wards reported and the wards missing."""
    column, short = ward_column(contract), []
    for verdict in verdicts if column and place_wards else []:
        if verdict.status not in ACCEPTED:
            continue
        reported = con.execute(
            f'select "{contract.period}", list(distinct "{column}") from raw.{contract.table} '
            "where _sha256 = ? group by 1 order by 1",
            [verdict.sha256],
        ).fetchall()
        for period, wards in reported:
            missing = sorted(place_wards - set(wards))
            if missing:
                short.append({
                    "file": verdict.original_name, "period": str(period),
                    "wards_reported": f"{len(place_wards) - len(missing)} of {len(place_wards)}",
                    "wards_missing": ", ".join(missing),
                })  # fmt: skip
    return pd.DataFrame(short, columns=["file", "period", "wards_reported", "wards_missing"])


def _ward_check(short: pd.DataFrame | None) -> dg.AssetCheckResult:
    metadata = {
        "periods_short": dg.MetadataValue.md(
            short.head(SHOWN).to_markdown(index=False)
            if short is not None and len(short)
            else "none"
        ),  # fmt: skip
    }
    if short is None:
        metadata["note"] = "not judged: the place's wards are not loaded yet"
    elif len(short):
        metadata["what_follows"] = (
            "each missing ward is published for its period with no value and the reason, and "
            "the place's total and quintiles of the period are withheld, until the period is "
            "sent again with every ward"
        )
    return dg.AssetCheckResult(
        check_name=EVERY_WARD,
        passed=short is None or short.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def _ward_specs(contract: Contract, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    if not ward_column(contract):
        return []
    return [
        dg.AssetCheckSpec(
            EVERY_WARD,
            asset=key,
            description="Every period a file received brought has a row for each of the "
            "place's wards (warning: a ward missing, its row quarantined or not sent, is "
            "published with no value, and the place's total of the period is withheld); the "
            "periods and wards in the metadata.",
        )
    ]


def _has_lsoa(contract: Contract) -> bool:
    return any(c.area == "lsoa" for c in contract.columns)


def upstream_references(contract: Contract) -> list[dg.AssetKey]:
    """The reference assets the door reads for this contract: the place's codes, and for
    files with LSOAs what converts LSOA 2011 codes."""
    return [LOOKUP_KEY, *(CONVERSION_KEYS if _has_lsoa(contract) else [])]


def build_partner_asset(contract: Contract) -> dg.AssetsDefinition:
    place = get_settings().place_config
    partner = place.partners.get(contract.partner)
    owners = [partner.owner] if partner else []
    agency = partner.name if partner else contract.partner
    key = asset_key(contract)
    by_ward = ward_column(contract) is not None  # a return of one row per ward and period

    @dg.asset(
        key=key,
        group_name=contract.partner,
        owners=owners,
        description=(
            f"{contract.title} from {agency}. {contract.description.strip()} Files dropped in "
            f"inbox/{contract.partner}/{contract.dataset}/ are landed byte-for-byte, screened "
            "for personal identifiers, checked against the dataset contract, and loaded; bad "
            "rows go to raw.quarantine."
        ),
        kinds={"python", "duckdb"},
        code_version=contract_code_version(contract),
        pool=WAREHOUSE_POOL,
        deps=upstream_references(contract),
        freshness_policy=freshness_for(contract.publication_cadence),
        retry_policy=API_RETRY_POLICY if contract.fetcher else None,
        partitions_def=partitions_for(contract),
        backfill_policy=backfill_policy_for(contract),
        metadata={
            "contract": f"marmot_assets/partners/contracts/{contract.name}.yaml",
            "record_level": contract.record_level,
            "dagster/column_schema": column_schema_from_contract(contract),
        },
        check_specs=[
            dg.AssetCheckSpec(
                FILES_ACCEPTED,
                asset=key,
                description="Every file received in this run was accepted by the door; a "
                "rejected file is named with the reason (its bytes are kept, nothing of it "
                "loaded; the data already loaded stays as it was).",
            ),
            dg.AssetCheckSpec(
                NO_QUARANTINE,
                asset=key,
                description="No row of the files received broke the contract (warning: the "
                "rest of the file loaded); rows, columns and reasons in the metadata.",
            ),
            *_ward_specs(contract, key),
        ],  # fmt: skip
    )
    def _partner_asset(context, warehouse: DuckDBResource, read_ahead: ReadAheadResource):
        keys = partition_keys_of(context)
        if keys and not contract.fetcher:  # a backfill of a drop-folder source: a replay
            return replay_partitions(context, contract, warehouse, keys)
        if get_settings().source_mode == "live" and contract.fetcher:
            fetch_into_inbox(contract, keys)
        with warehouse.get_connection() as con:
            verdicts, waiting = receive_all(
                contract, con, context.log, read_ahead, contracts_in_run(context)
            )
            if keys is None and contract.partitions:
                record_partitions(context, contract, con, verdicts)
            short = None
            if by_ward:
                wards = place_wards(con)
                short = wards_not_reported(con, contract, verdicts, wards) if wards else None
            rows = con.execute(f"select count(*) from raw.{contract.table}").fetchone()[0]
            preview = safe_preview(con, f"raw.{contract.table}", record_level=contract.record_level)
        outcome = _outcome(verdicts)
        metadata = {
            "dagster/row_count": dg.MetadataValue.int(int(rows)),
            "dagster/table_name": f"raw.{contract.table}",
            "files_received": dg.MetadataValue.md(
                outcome.to_markdown(index=False) if len(outcome) else "no new files"
            ),
            "files_loaded": dg.MetadataValue.int(int(outcome["status"].isin(ACCEPTED).sum())),
            "rows_quarantined": dg.MetadataValue.int(int(outcome["quarantined"].sum())),
            "files_waiting": dg.MetadataValue.md("\n".join(f"- {w}" for w in waiting) or "none"),
        }
        metadata["dagster/column_schema"] = column_schema_from_contract(contract)
        metadata["preview"] = dg.MetadataValue.md(preview)
        if contract.record_level and is_small_count(rows):  # 1-7 people: no count leaves
            del metadata["dagster/row_count"]
        vintages = sorted({v.lsoa_vintage for v in verdicts if v.lsoa_vintage})
        if vintages:
            metadata["lsoa_vintages"] = dg.MetadataValue.text(", ".join(vintages))
        checks = _checks(contract, verdicts)
        if by_ward:
            checks.append(_ward_check(short))
        return dg.MaterializeResult(metadata=metadata, check_results=checks)

    return _partner_asset


def record_partitions(context, contract: Contract, con, verdicts: list[Verdict]) -> None:
    """A run without a partition takes deliveries whole: each period an accepted delivery
    brought is recorded as that partition's materialisation, so the partitions view shows
    which periods came, in which file, and when."""
    partitions = partitions_for(contract)
    period = f'"{contract.period}"'
    for verdict in verdicts:
        if verdict.status not in ACCEPTED:
            continue
        counts = con.execute(
            f"select {period}, count(*) from raw.{contract.table} where _sha256 = ? "
            "group by 1 order by 1",
            [verdict.sha256],
        ).fetchall()
        for label, rows in counts:
            key = partition_key(contract.partitions, str(label))
            if key is None or not partitions.has_partition_key(key):
                continue  # before partitions_start or not yet due: no partition to show
            metadata = {"file": verdict.original_name, "sha256": verdict.sha256[:12],
                        "period": str(label)}  # fmt: skip
            if not (contract.record_level and is_small_count(rows)):
                metadata["rows"] = int(rows)
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=asset_key(contract), partition=key, metadata=metadata
                )  # fmt: skip
            )


def replay_partitions(context, contract: Contract, warehouse, keys: list[str]):
    """A backfill's periods rebuilt from the deliveries already received (partners/replay)."""
    from marmot_assets.partners.replay import replay

    settings, place = get_settings(), get_settings().place_config
    with warehouse.get_connection() as con:
        ensure_manifest(con)
        ensure_table(con, contract)
        codes = place_codes(con, place.name, place.code, place.lists, place.geography.lsoa_year)
        outcome = replay(con, contract, codes, settings.home, keys)
        rows = con.execute(f"select count(*) from raw.{contract.table}").fetchone()[0]
        preview = safe_preview(con, f"raw.{contract.table}", record_level=contract.record_level)
    for delivery in outcome.deliveries:
        context.log.info(f"{delivery['file']} ({delivery['periods']}): {delivery['outcome']}")
    if outcome.unheld:
        context.log.warning(
            f"no delivery holds {', '.join(outcome.unheld)}: nothing to replay for "
            "those periods (a backfill replays what partners sent; it cannot ask for a period)"
        )
    shown = pd.DataFrame(outcome.deliveries, columns=["file", "sha256", "periods", "rows",
                                                      "outcome"])  # fmt: skip
    if contract.record_level:
        shown["rows"] = [None if is_small_count(r or 0) else r for r in shown["rows"]]
    metadata = {
        "dagster/row_count": dg.MetadataValue.int(int(rows)),
        "dagster/table_name": f"raw.{contract.table}",
        "replayed": dg.MetadataValue.md(
            shown.to_markdown(index=False) if len(shown) else "no delivery holds these periods"
        ),
        "periods_without_a_delivery": dg.MetadataValue.text(", ".join(outcome.unheld) or "none"),
        "dagster/column_schema": column_schema_from_contract(contract),
        "preview": dg.MetadataValue.md(preview),
    }
    if contract.record_level and is_small_count(rows):
        del metadata["dagster/row_count"]
    failed = outcome.failed
    checks = [
        dg.AssetCheckResult(
            check_name=FILES_ACCEPTED,
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "files_replayed": len(outcome.deliveries) - len(failed),
                "files_not_replayed": dg.MetadataValue.md(
                    pd.DataFrame(failed).to_markdown(index=False) if failed else "none"
                ),
            },
        ),
        dg.AssetCheckResult(
            check_name=NO_QUARANTINE,
            passed=True,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "note": "a replay reads deliveries already judged; their quarantined "
                "rows stay recorded in raw.quarantine from when they came"
            },
        ),  # fmt: skip
    ]
    if ward_column(contract):
        checks.append(
            dg.AssetCheckResult(
                check_name=EVERY_WARD,
                passed=True,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "note": "a replay reads deliveries already judged: the wards each left "
                    "out were reported when it came"
                },
            )
        )
    return dg.MaterializeResult(metadata=metadata, check_results=checks)


def fetch_into_inbox(contract: Contract, months: list[str] | None = None) -> list[Path]:
    """Live API sources: each payload is written to the drop folder and goes through the door
    like any delivered file (so it is landed, checked and recorded the same way)."""
    import importlib

    from marmot_assets.sources.http import make_session

    module_name, function_name = contract.fetcher.split(":")
    fetch = getattr(importlib.import_module(module_name), function_name)
    folder = inbox(contract)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    extra = {"months": months} if months else {}  # a backfill's partitions
    for name, body in fetch(make_session(), get_settings().place_config, contract, **extra):
        partial = folder / f".{name}.part"
        partial.write_bytes(body)
        partial.rename(folder / name)
        (folder / f"{name}.done").touch()  # complete: no need to wait for it to settle
        written.append(folder / name)
    return written


def build_partner_definitions() -> tuple[list, list, list]:
    from marmot_assets.partners.sensors import build_inbox_sensor, build_schedule

    contracts = load_contracts().values()
    assets = [build_partner_asset(c) for c in contracts]
    sensors = [build_inbox_sensor(c) for c in contracts]
    schedules = [build_schedule(c) for c in contracts if c.api_schedule]
    return assets, sensors, schedules
