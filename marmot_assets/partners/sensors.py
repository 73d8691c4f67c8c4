"""What starts a partner's asset: a sensor per drop folder, a schedule per API source."""

from __future__ import annotations

import hashlib

import dagster as dg

from marmot_assets.partners import inbox as drop
from marmot_assets.partners.assets import asset_key, inbox, upstream_references
from marmot_assets.partners.contract import Contract
from marmot_assets.partners.partitions import RECENT_MONTHS, recent_range


def waiting_entries(contract: Contract) -> list:
    """What the asset would act on: candidates and entries to refuse or report (no waiting:
    the asset itself takes the second look that tells a finished file from a growing one)."""
    from marmot_assets.config import get_settings

    settings = get_settings()
    return [
        e
        for e in drop.scan(
            inbox(contract),
            settle=0,
            stale=settings.inbox_stale_hours * 3600,
            control_file=contract.control_file,
        )  # fmt: skip
        if e.kind in ("ready", "refused", "stale_transfer")
    ]


def already_received(contract: Contract, entries: list) -> str | None:
    """The (screened) names of the entries when every one is a file whose bytes are an
    accepted delivery already (the door would only record them as duplicates); else None.
    Read from the door's receipts, never from the warehouse: the sensor must not take the
    lock a refresh needs. Duplicates stay in the inbox until the next run of the asset
    records them."""
    from marmot_assets.config import get_settings
    from marmot_assets.landing.receipts import has_receipt
    from marmot_assets.landing.store import sha256_of

    home = get_settings().home
    names = []
    for entry in entries:
        if entry.kind != "ready":
            return None
        try:
            digest, _ = sha256_of(entry.path)
        except OSError:
            return None  # let the door say what is wrong with it
        if not has_receipt(home, contract.partner, contract.dataset, digest):
            return None
        names.append(drop.display_name(entry.path, digest))
    return ", ".join(names)


def never_materialised(instance, keys: list[dg.AssetKey]) -> list[dg.AssetKey]:
    return [k for k in keys if instance.get_latest_materialization_event(k) is None]


def build_inbox_sensor(contract: Contract) -> dg.SensorDefinition:
    # Only the partner's own asset: what is built from it follows by automation
    # (marmot_assets/automation.py), once the delivery is in. The place's geography comes
    # along only on a new instance where it was never loaded: without it the door could
    # check area codes by pattern alone and convert no LSOA 2011 code.
    key = asset_key(contract)
    references = upstream_references(contract)
    selection = dg.AssetSelection.assets(key, *references)

    @dg.sensor(
        name=f"{contract.table}__inbox",
        description=f"Runs raw/{contract.table} when a file arrives in "
        f"inbox/{contract.partner}/{contract.dataset}/ (what is built from it follows by "
        "automation; the place's geography first if it was never loaded); files already "
        "received (same SHA-256) launch nothing.",
        asset_selection=selection,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def _sensor(context):
        entries = waiting_entries(contract)
        if not entries:
            return dg.SkipReason("no files waiting")
        fingerprint = hashlib.sha256(repr([e.signature or e.name for e in entries]).encode())
        run_key = fingerprint.hexdigest()
        if run_key == context.cursor:
            return dg.SkipReason("these files already have a run")
        context.update_cursor(run_key)
        if received := already_received(contract, entries):
            return dg.SkipReason(
                f"only files already received (same SHA-256), nothing to load: {received}"
            )
        missing = never_materialised(context.instance, references)
        return dg.RunRequest(
            run_key=run_key,
            asset_selection=[*missing, key],
            tags={"marmot/files": str(len(entries))},
        )

    return _sensor


def build_schedule(contract: Contract) -> dg.ScheduleDefinition:
    description = (
        f"Fetch {contract.title} at its publication cadence ({contract.publication_cadence})."
    )
    if not contract.partitions:
        return dg.ScheduleDefinition(
            name=f"{contract.table}__schedule",
            target=dg.AssetSelection.assets(asset_key(contract)),
            cron_schedule=contract.api_schedule,
            execution_timezone="Europe/London",
            # an API source is fetched at its publisher's cadence without anyone switching it on
            default_status=dg.DefaultScheduleStatus.RUNNING,
            description=description,
        )

    @dg.schedule(
        name=f"{contract.table}__schedule",
        target=dg.AssetSelection.assets(asset_key(contract)),
        cron_schedule=contract.api_schedule,
        execution_timezone="Europe/London",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{description} Asks for the latest {RECENT_MONTHS} monthly partitions in "
        "one run (the publisher revises recent months).",
    )
    def _schedule(context: dg.ScheduleEvaluationContext):
        first, last = recent_range(contract, context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=f"{contract.table}-{last}",
            tags={
                "dagster/asset_partition_range_start": first,
                "dagster/asset_partition_range_end": last,
            },
        )

    return _schedule
