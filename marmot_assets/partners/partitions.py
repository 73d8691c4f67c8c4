"""Partitions of the API sources that are asked for periods (a contract's ``partitions``).

A month is a partition keyed ``YYYY-MM`` (Nomis's own DATE codes). A backfill of a range runs
once (``BackfillPolicy.single_run``): the asset is given the range and fetches those months in
one request; the payload goes through the door as any delivery does, so running the same
backfill again brings the same bytes, recorded as a duplicate, and changes nothing. A run
without a partition (the whole refresh, `marmot run`) fetches the publisher's latest 12.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from marmot_assets.partners.contract import Contract

MONTH = "%Y-%m"
RECENT_MONTHS = 12  # what a scheduled fetch asks for: Nomis revises recent months


def partitions_for(contract: Contract) -> dg.PartitionsDefinition | None:
    if contract.partitions != "monthly":
        return None
    start = dt.datetime.strptime(contract.partitions_start, MONTH)
    return dg.MonthlyPartitionsDefinition(start_date=start, fmt=MONTH, timezone="Europe/London")


def backfill_policy_for(contract: Contract) -> dg.BackfillPolicy | None:
    return dg.BackfillPolicy.single_run() if contract.partitions else None


def months_of(context) -> list[str] | None:
    """The months a run was asked for (its partition or range), None for an unpartitioned run."""
    if not context.has_partition_key_range and not context.has_partition_key:
        return None
    return list(context.partition_keys)


def recent_range(contract: Contract, now: dt.datetime) -> tuple[str, str]:
    """The first and last of the latest RECENT_MONTHS partitions as of ``now``."""
    keys = partitions_for(contract).get_partition_keys(current_time=now)
    recent = keys[-RECENT_MONTHS:]
    return recent[0], recent[-1]
