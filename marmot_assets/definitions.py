"""The Dagster code location: every asset, check, job and resource of the platform.

Built lazily by ``@dg.definitions`` so importing this module does no work; the dbt
manifest must have been prepared (see ``marmot_assets.transform.project``).
"""

from __future__ import annotations

import dagster as dg

from marmot_assets.automation import automation_sensor
from marmot_assets.instance.event_log import keep_engines
from marmot_assets.partners.assets import build_partner_definitions
from marmot_assets.partners.read_ahead import ReadAheadResource
from marmot_assets.publish import audit
from marmot_assets.publish.assets import GROUP as PUBLICATION
from marmot_assets.publish.assets import RELEASE, build_publication_definitions
from marmot_assets.publish.report.ahead import ReportAheadResource
from marmot_assets.publish.report.asset import build_report_asset
from marmot_assets.quality.expectations import ExpectationsResource
from marmot_assets.quality.fingertips_checks import (
    fingertips_expectations,
    fingertips_values_valid,
)
from marmot_assets.resilience import build_run_failure_sensor
from marmot_assets.schedules import fingertips_schedule
from marmot_assets.sources.fingertips import fingertips_indicator_values
from marmot_assets.sources.mhclg import mhclg_imd_lsoa
from marmot_assets.sources.ons import ons_lsoa11_lsoa21_lookup, ons_lsoa_ward_lookup
from marmot_assets.sources.place import partner_datasets, place_areas
from marmot_assets.sources.population import ons_population_estimates
from marmot_assets.transform.assets import build_dbt_assets, dbt_resource
from marmot_assets.warehouse import warehouse_resource

REFRESH_JOB = "marmot_refresh"


def build_definitions() -> dg.Definitions:
    # every process that loads the code location (run workers, `marmot run`) writes its
    # events through kept engines: instance/event_log.py
    keep_engines()
    partner_assets, partner_sensors, partner_schedules = build_partner_definitions()
    publication_assets, publication_checks = build_publication_definitions()
    assets = [
        *partner_assets,
        place_areas,
        partner_datasets,
        ons_lsoa_ward_lookup,
        ons_lsoa11_lsoa21_lookup,
        ons_population_estimates,
        mhclg_imd_lsoa,
        fingertips_indicator_values,
        build_dbt_assets(),
        *publication_assets,
        build_report_asset(RELEASE, PUBLICATION),
    ]
    checks = [fingertips_values_valid, *publication_checks]
    resources = {
        "warehouse": warehouse_resource(),
        "dbt": dbt_resource(),
        # great-expectations suites (the Fingertips gate, the release's audit) run in a
        # process of their own, started with the run
        "expectations": ExpectationsResource(
            suite_modules=[fingertips_expectations.__module__, audit.__name__]
        ),
        # partner deliveries read in a process of their own while the door loads others
        "read_ahead": ReadAheadResource(),
        # the report's chart-drawing processes and Chromium, started with a run that draws it
        "report_ahead": ReportAheadResource(),
    }
    refresh = _refresh_job(assets, checks, resources)
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[refresh],
        sensors=[*partner_sensors, automation_sensor(), build_run_failure_sensor()],
        schedules=[
            *partner_schedules,
            fingertips_schedule(dg.AssetSelection.assets(fingertips_indicator_values).downstream()),
            # Stopped by default: every source has its own cadence (MHCLG and ONS lookups are
            # refreshed on demand); a weekly whole refresh is there for who wants one.
            dg.ScheduleDefinition(
                name="marmot_refresh_weekly",
                job=refresh,
                cron_schedule="0 5 * * 1",
                execution_timezone="Europe/London",
                description="Weekly refresh of everything (stopped by default: each publisher "
                "and partner source has its own schedule or sensor).",
            ),
        ],
        resources=resources,
        # Runs launched from the UI or by sensors: one process, as for the refresh job.
        executor=dg.in_process_executor,
    )


def _refresh_job(assets: list, checks: list, resources: dict) -> dg.JobDefinition:
    """Every asset and check in one run, without a partition.

    The sources with periods are partitioned by them (monthly police and Nomis, quarterly
    housing, yearly education), and a job made by ``define_asset_job`` must have one
    partitions definition. Dagster's own "materialise everything" job (``__ASSET_JOB``) is
    built by its private ``build_asset_job`` with different partitions definitions allowed;
    this job is built the same way, so a run without a partition takes each source whole
    (a delivery records the periods it brought; see partners/partitions.py)."""
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph
    from dagster._core.definitions.assets.job.asset_job import build_asset_job

    return build_asset_job(
        REFRESH_JOB,
        asset_graph=AssetGraph.from_assets([*assets, *checks]),
        allow_different_partitions_defs=True,
        resource_defs=resources,
        description="Materialise every asset: sources, dbt models and marts, with all checks.",
        # One process for the whole run: with one DuckDB writer at a time the steps run in
        # series anyway, and a process per step costs ~4 s of imports each. The pool still
        # keeps this run's steps and any other run's apart.
        executor_def=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()


def refresh_job() -> dg.JobDefinition:
    """For ``dagster.reconstructable``: the refresh job, rebuilt in each step process."""
    return build_definitions().resolve_job_def(REFRESH_JOB)
