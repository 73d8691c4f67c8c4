"""Partner datasets: one asset, one drop-folder sensor (and for API sources a schedule) per
dataset contract in ``marmot_assets/partners/contracts``. Adding a dataset is a contract file, a
staging model, and demo data: no code here changes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets.config import get_settings
from marmot_assets.landing.manifest import MANIFEST_DDL
from marmot_assets.partners.contract import Contract, load_contracts
from marmot_assets.partners.door import ensure_table, place_codes, receive, table_ddl
from marmot_assets.warehouse import WAREHOUSE_POOL

LOOKUP_KEY = dg.AssetKey(["raw", "ons_lsoa_ward_lookup"])


def inbox(contract: Contract) -> Path:
    return get_settings().home / "inbox" / contract.partner / contract.dataset


def waiting_files(contract: Contract) -> list[Path]:
    """Files in the drop folder, oldest first; names starting '.' or ending '.part' are
    still being written by the partner's transfer and are left for the next look."""
    folder = inbox(contract)
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and not p.name.endswith(".part")
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def asset_key(contract: Contract) -> dg.AssetKey:
    return dg.AssetKey(["raw", contract.table])


def build_partner_asset(contract: Contract) -> dg.AssetsDefinition:
    place = get_settings().place_config
    partner = place.partners.get(contract.partner)
    owners = [partner.owner] if partner else []
    agency = partner.name if partner else contract.partner

    @dg.asset(
        key=asset_key(contract),
        name=None,
        group_name=contract.partner,
        owners=owners,
        description=(
            f"{contract.title} from {agency}. {contract.description.strip()} Files dropped in "
            f"inbox/{contract.partner}/{contract.dataset}/ are landed byte-for-byte, checked "
            "against the dataset contract, and loaded; bad rows go to raw.quarantine."
        ),
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        deps=[LOOKUP_KEY],
        metadata={
            "contract": f"marmot_assets/partners/contracts/{contract.name}.yaml",
            "record_level": contract.record_level,
        },
    )
    def _partner_asset(context, warehouse: DuckDBResource):
        settings = get_settings()
        if settings.source_mode == "live" and contract.fetcher:
            fetch_into_inbox(contract)
        verdicts = []
        with warehouse.get_connection() as con:
            con.execute(MANIFEST_DDL)
            ensure_table(con, contract, table_ddl(contract))
            codes = place_codes(con, place.name, place.code, place.lists)
            for path in waiting_files(contract):
                verdict = receive(path, contract, con, codes, settings.home)
                path.unlink()  # kept in landing (or restricted storage): the inbox is emptied
                context.log.info(verdict.summary())
                verdicts.append(verdict)
            rows = con.execute(f"select count(*) from raw.{contract.table}").fetchone()[0]
        outcome = pd.DataFrame(
            [
                {
                    "file": v.original_name,
                    "status": v.status,
                    "rows_read": v.rows_read,
                    "accepted": v.rows_accepted,
                    "quarantined": v.rows_quarantined,
                    "error": v.error or "",
                }
                for v in verdicts
            ],
            columns=["file", "status", "rows_read", "accepted", "quarantined", "error"],
        )
        metadata = {
            "dagster/row_count": dg.MetadataValue.int(int(rows)),
            "dagster/table_name": f"raw.{contract.table}",
            "files_received": dg.MetadataValue.md(
                outcome.to_markdown(index=False) if len(outcome) else "no new files"
            ),
            "files_loaded": dg.MetadataValue.int(
                int(outcome["status"].str.startswith("loaded").sum())
            ),
            "rows_quarantined": dg.MetadataValue.int(int(outcome["quarantined"].sum())),
        }
        rejected = [v for v in verdicts if v.status == "rejected"]
        if rejected:
            raise dg.Failure(
                description="Rejected: " + "; ".join(v.summary() for v in rejected),
                metadata=metadata,
            )
        return dg.MaterializeResult(metadata=metadata)

    return _partner_asset


def fetch_into_inbox(contract: Contract) -> list[Path]:
    """Live API sources: each payload is written to the drop folder and goes through the door
    like any delivered file (so it is landed, checked and recorded the same way)."""
    import importlib

    from marmot_assets.sources.http import make_session

    module_name, function_name = contract.fetcher.split(":")
    fetch = getattr(importlib.import_module(module_name), function_name)
    folder = inbox(contract)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, body in fetch(make_session(), get_settings().place_config, contract):
        partial = folder / f".{name}.part"
        partial.write_bytes(body)
        partial.rename(folder / name)
        written.append(folder / name)
    return written


def build_inbox_sensor(contract: Contract) -> dg.SensorDefinition:
    selection = dg.AssetSelection.assets(asset_key(contract)).downstream()

    @dg.sensor(
        name=f"{contract.table}__inbox",
        description=f"Runs raw/{contract.table} and what depends on it when a file arrives in "
        f"inbox/{contract.partner}/{contract.dataset}/.",
        asset_selection=selection,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context):
        files = waiting_files(contract)
        if not files:
            return dg.SkipReason("no files waiting")
        fingerprint = hashlib.sha256(
            repr([(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files]).encode()
        ).hexdigest()
        if fingerprint == context.cursor:
            return dg.SkipReason("these files already have a run")
        context.update_cursor(fingerprint)
        return dg.RunRequest(run_key=fingerprint, tags={"marmot/files": str(len(files))})

    return _sensor


def build_partner_definitions() -> tuple[list, list, list]:
    contracts = load_contracts().values()
    assets = [build_partner_asset(c) for c in contracts]
    sensors = [build_inbox_sensor(c) for c in contracts]
    schedules = [
        dg.ScheduleDefinition(
            name=f"{c.table}__schedule",
            target=dg.AssetSelection.assets(asset_key(c)).downstream(),
            cron_schedule=c.api_schedule,
            execution_timezone="Europe/London",
            description=f"Fetch {c.title} at its publication cadence ({c.publication_cadence}).",
        )
        for c in contracts
        if c.api_schedule
    ]
    return assets, sensors, schedules
