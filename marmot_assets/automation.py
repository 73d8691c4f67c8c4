"""Declarative automation: what follows a source by itself once the source has new data.

Partner files start only their own raw asset (a sensor per drop folder), publishers' sources
their schedule. Everything built from them, the dbt models, the staged release, the release and
its report, *follows*: it is requested when a dependency was updated (or will be in the same
tick, so one run takes the whole chain and publishes once), never while a dependency is missing
or in progress, and only once every blocking check of its dependencies passed (the release
audit). Seeds are code: they are built by a whole refresh, not by automation.

The daemon evaluates the conditions with ``marmot_automation`` (running by default), every
``MARMOT_AUTOMATION_INTERVAL_SECONDS`` (30).
"""

from __future__ import annotations

import os
from functools import cache

import dagster as dg

AUTOMATION_SENSOR = "marmot_automation"


def partitioned_sources() -> dg.AssetSelection:
    """The partners' raw assets partitioned by period (contract ``partitions``)."""
    from marmot_assets.partners.assets import asset_key
    from marmot_assets.partners.contract import load_contracts

    return dg.AssetSelection.assets(
        *(asset_key(c) for c in load_contracts().values() if c.partitions)
    )


@cache
def follows_sources() -> dg.AutomationCondition:
    # A model reads all of a partitioned source's periods (Dagster maps it to every partition),
    # and most periods never come: a partner joins in 2024, a quarter is not yet due. So a
    # partitioned source counts as present once any period came (dbt reads what is there), not
    # missing until every period did; its checks are not blocking (the door never loads a bad
    # delivery) and are judged per run, not per period, so they are not waited for per period.
    partitioned = partitioned_sources()
    eager = dg.AutomationCondition.eager().replace(
        "any_deps_missing", dg.AutomationCondition.any_deps_missing().ignore(partitioned)
    )
    checks = dg.AutomationCondition.all_deps_blocking_checks_passed().ignore(partitioned)
    return (eager & checks).with_label("follows its sources")


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=int(os.environ.get("MARMOT_AUTOMATION_INTERVAL_SECONDS", "30")),
        # plain runs (what follows a source is not partitioned), one for all requested in a tick
        emit_backfills=False,
        description="Requests the dbt models, the release and its report once their sources "
        "have new data (conditions on each asset: 'follows its sources').",
    )
