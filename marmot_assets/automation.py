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


@cache
def follows_sources() -> dg.AutomationCondition:
    return (
        dg.AutomationCondition.eager() & dg.AutomationCondition.all_deps_blocking_checks_passed()
    ).with_label("follows its sources")


def automation_sensor() -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        AUTOMATION_SENSOR,
        target=dg.AssetSelection.all(),
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=int(os.environ.get("MARMOT_AUTOMATION_INTERVAL_SECONDS", "30")),
        # plain runs (the assets are not partitioned), one for all that is requested in a tick
        emit_backfills=False,
        description="Requests the dbt models, the release and its report once their sources "
        "have new data (conditions on each asset: 'follows its sources').",
    )
