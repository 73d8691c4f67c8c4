"""What starts a partner's asset: a sensor per drop folder, a schedule per API source."""

from __future__ import annotations

import hashlib

import dagster as dg

from marmot_assets.partners import inbox as drop
from marmot_assets.partners.assets import asset_key, inbox
from marmot_assets.partners.contract import Contract


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
        entries = waiting_entries(contract)
        if not entries:
            return dg.SkipReason("no files waiting")
        fingerprint = hashlib.sha256(repr([e.signature or e.name for e in entries]).encode())
        run_key = fingerprint.hexdigest()
        if run_key == context.cursor:
            return dg.SkipReason("these files already have a run")
        context.update_cursor(run_key)
        return dg.RunRequest(run_key=run_key, tags={"marmot/files": str(len(entries))})

    return _sensor


def build_schedule(contract: Contract) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=f"{contract.table}__schedule",
        target=dg.AssetSelection.assets(asset_key(contract)).downstream(),
        cron_schedule=contract.api_schedule,
        execution_timezone="Europe/London",
        # an API source is fetched at its publisher's cadence without anyone switching it on
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=(
            f"Fetch {contract.title} at its publication cadence ({contract.publication_cadence})."
        ),
    )
