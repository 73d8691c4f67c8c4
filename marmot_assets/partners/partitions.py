"""Partitions of the sources with periods (a contract's ``partitions``), the way their data is.

Every partition is keyed by the month its period starts (``YYYY-MM``), so keys sort in time
and a range of them is a span of time:

- ``monthly``: the month itself (Nomis's DATE codes, data.police.uk's Month column);
- ``financial_quarter``: "2025-26 Q1" is ``2025-04`` (April to June 2025), Q4 is January;
- ``academic_year``: "2022/23" is ``2022-09`` (September 2022 to August 2023).

A backfill of a range runs once (``BackfillPolicy.single_run``). For an API source the asset
fetches those periods in one request and the payload goes through the door as any delivery
does, so the same backfill again brings the same bytes, recorded as a duplicate. For a
drop-folder source the periods chosen are replayed from the deliveries already received
(``marmot_assets.partners.replay``): the platform cannot ask a partner for a period. A run
without a partition (the whole refresh, a sensor's run for a dropped file) takes what came: a
delivery is judged whole and records each period it brought as that partition's
materialisation.
"""

from __future__ import annotations

import datetime as dt
import re

import dagster as dg

from marmot_assets.partners.contract import Contract

MONTH = "%Y-%m"
RECENT_MONTHS = 12  # what a scheduled fetch asks for: Nomis revises recent months
# The cron of each kind's period starts (the partitions' boundaries).
CRONS = {
    "monthly": "0 0 1 * *",
    "financial_quarter": "0 0 1 1,4,7,10 *",
    "academic_year": "0 0 1 9 *",
}
_QUARTER = re.compile(r"(\d{4})-\d{2} Q([1-4])")
_ACADEMIC = re.compile(r"(\d{4})/\d{2}")


def partitions_for(contract: Contract) -> dg.TimeWindowPartitionsDefinition | None:
    if contract.partitions is None:
        return None
    start = dt.datetime.strptime(contract.partitions_start, MONTH)
    return dg.TimeWindowPartitionsDefinition(
        cron_schedule=CRONS[contract.partitions], start=start, fmt=MONTH,
        timezone="Europe/London",
    )  # fmt: skip


def backfill_policy_for(contract: Contract) -> dg.BackfillPolicy | None:
    return dg.BackfillPolicy.single_run() if contract.partitions else None


def partition_key(kind: str, period: str) -> str | None:
    """The partition of a period value as the data writes it; None if it is not one."""
    period = period.strip()
    if kind == "monthly":
        return period if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", period) else None
    if kind == "financial_quarter" and (found := _QUARTER.fullmatch(period)):
        year, quarter = int(found[1]), int(found[2])
        month = 3 * quarter + 1  # Q1 April, Q2 July, Q3 October, Q4 January of the next year
        return f"{year + 1}-01" if quarter == 4 else f"{year}-{month:02d}"
    if kind == "academic_year" and (found := _ACADEMIC.fullmatch(period)):
        return f"{found[1]}-09"
    return None


def period_label(kind: str, key: str) -> str:
    """The period value the data writes for a partition key (the inverse of partition_key)."""
    year, month = (int(part) for part in key.split("-"))
    if kind == "monthly":
        return key
    if kind == "financial_quarter":
        start = year if month >= 4 else year - 1
        quarter = {4: 1, 7: 2, 10: 3, 1: 4}[month]
        return f"{start}-{(start + 1) % 100:02d} Q{quarter}"
    if kind == "academic_year":
        return f"{year}/{(year + 1) % 100:02d}"
    raise ValueError(f"unknown partitions {kind!r}")


def partition_keys_of(context) -> list[str] | None:
    """The partitions a run was asked for (its partition or range), None for a run without."""
    if not context.has_partition_key_range and not context.has_partition_key:
        return None
    return list(context.partition_keys)


def recent_range(contract: Contract, now: dt.datetime) -> tuple[str, str]:
    """The first and last of the latest RECENT_MONTHS partitions as of ``now``."""
    keys = partitions_for(contract).get_partition_keys(current_time=now)
    recent = keys[-RECENT_MONTHS:]
    return recent[0], recent[-1]
