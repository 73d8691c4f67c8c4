"""dbt models, seeds and tests as Dagster assets and asset checks."""

import importlib.metadata
import os
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)
from dagster_dbt.asset_utils import get_manifest_and_translator_from_dbt_assets
from packaging import version
from pydantic import PrivateAttr

from marmot_assets.automation import follows_sources
from marmot_assets.config import get_settings
from marmot_assets.freshness import MARTS_CADENCE, freshness_for
from marmot_assets.publish.report.ahead import ReportAheadResource, draws_report
from marmot_assets.transform.check_descriptions import describe_dbt_test
from marmot_assets.transform.data_tests import checked, tests_to_run
from marmot_assets.transform.project import (
    BIN_DIR,
    DBT_QUIET_FLAGS,
    dbt_environment,
    dbt_executable,
    dbt_project,
    keep_partial_parse,
    run_target_path,
    seed_partial_parse,
)
from marmot_assets.transform.warm import WarmDbt, is_client
from marmot_assets.ui_metadata import PLATFORM_OWNER, with_table_metadata
from marmot_assets.warehouse import WAREHOUSE_POOL

# The dbt step (its op is the decorated function, below): its target folders carry its name.
DBT_STEP = "marmot_dbt_models"

LAYER_GROUPS = {
    "staging": "staging",
    "intermediate": "intermediate",
    "marts": "marts",
    "publish": "publish",
}


class MarmotDbtTranslator(DagsterDbtTranslator):
    """Groups follow the folders (the layers); seeds form the `reference` group and
    snapshots the `history` group."""

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] == "seed":
            return "reference"
        if dbt_resource_props["resource_type"] == "snapshot":
            return "history"
        fqn = dbt_resource_props.get("fqn", [])
        for part in fqn[1:2]:
            if part in LAYER_GROUPS:
                return LAYER_GROUPS[part]
        return super().get_group_name(dbt_resource_props)

    def get_asset_check_spec(self, asset_spec, manifest, unique_id, project):
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None or spec.description:
            return spec
        # what the test asserts, so that no check is listed by its name alone
        return spec._replace(description=describe_dbt_test(manifest["nodes"][unique_id]))

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str] | None:
        """Owners named in the model's meta; else a partner's staging model (its folder is the
        partner's name) is the partner's, and everything else the platform team's."""
        named = super().get_owners(dbt_resource_props)
        if named:
            return list(named)
        fqn = dbt_resource_props.get("fqn", [])
        folder = fqn[2] if fqn[1:2] == ["staging"] and len(fqn) > 3 else None
        partner = get_settings().place_config.partners.get(folder) if folder else None
        return [partner.owner] if partner else [PLATFORM_OWNER]

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # the marts and what is published from them follow their monthly sources
        node = manifest["nodes"].get(unique_id, {})
        fqn = node.get("fqn", [])
        if fqn[1:2] in (["marts"], ["publish"]):
            spec = spec.replace_attributes(freshness_policy=freshness_for(MARTS_CADENCE))
        if node.get("resource_type") in ("model", "snapshot"):  # seeds are code, not data
            spec = spec.replace_attributes(automation_condition=follows_sources())
        return spec


def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=MarmotDbtTranslator(
            # Tests on the raw tables are not dbt's to run here (exclude, below): as dbt checks
            # of those assets they split this one step into several, interleaved with the
            # sources, and dbt then runs tests before the models they test exist.
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
        pool=WAREHOUSE_POOL,
        # dbt's tests on the raw tables are run by the source assets, as their checks
        # (transform/source_tests.py): dbt leaves them out.
        exclude="source:*",
    )
    def marmot_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, report_ahead: ReportAheadResource
    ):
        dbt_environment()
        if draws_report(context):  # its processes start while dbt runs (publish/report/ahead)
            report_ahead.start()
        # dbt imported and parsed since the run began (transform/warm.py), if it was
        warm = dbt.warm() if isinstance(dbt, MarmotDbtCliResource) else None
        if warm is not None:
            target, dbt = warm.target, dbt.through(warm)  # parsed into its target already
        else:
            target = step_target(context.run_id)
            seed_partial_parse(target)
        # The data tests on the SQL dbt compiled ahead, run here once dbt has built the models
        # (transform/data_tests.py), unless that SQL cannot be trusted: then dbt runs them.
        manifest, translator, dbt_project_ = get_manifest_and_translator_from_dbt_assets(
            [context.assets_def]
        )
        plan = tests_to_run(manifest, context.selected_asset_check_keys, translator, dbt_project_)
        if plan.why:
            context.log.info(f"dbt runs its own data tests: {plan.why}.")
        # dbt's unit tests check the models' code, not the data: they run in the test suite
        # (tests/test_dbt_unit_tests.py), not on every refresh (27 of them cost ~10 s here).
        args = ["build", "--exclude-resource-type", "unit_test", *plan.dbt_args()]
        invocation = dbt.cli(args, context=context, target_path=target)
        # Each model's column schema, row count and preview, read once dbt has let go of the
        # warehouse (see ui_metadata.with_table_metadata).
        settings = get_settings()
        yield from with_table_metadata(
            invocation.stream(), invocation.manifest, settings.warehouse_path, settings.home,
            context.log, alongside=checked(plan.ours, context.log) if plan.ours else None,
        )  # fmt: skip
        keep_partial_parse(target)

    assert marmot_dbt_models.op.name == DBT_STEP
    return marmot_dbt_models


def step_target(run_id: str) -> Path:
    """The dbt step's artifacts folder for a run: under $MARMOT_HOME/dbt/target (pruned), not
    a new dbt_project/target/<run>; made by the step, or ahead of it by the resource."""
    return run_target_path(f"{DBT_STEP}-{run_id[:8]}")


class MarmotDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without three costs it pays on every dbt step (~6.5 s of each
    refresh here, and ~3.5 s of each partner file's way to a release):

    - it runs ``dbt --version`` in a new process to learn the version: the dbt it runs is
      this environment's (``dbt_executable``), whose dbt-core package says so directly;
    - it opens a dbt adapter in this process, which serves only its ``fetch_row_counts`` and
      ``fetch_column_metadata``: the step reads every table's metadata itself once dbt has let
      go of DuckDB (``ui_metadata.with_table_metadata``), and calls neither;
    - its dbt imports dbt and parses the project when the step starts: set up for a run (so
      only for a run with the dbt step), this resource has a process do both from the run's
      start, and the step's dbt command runs there (``transform.warm``; ``warm_up=False``
      or MARMOT_DBT_WARM_UP=0 turns it off)."""

    warm_up: bool = True
    _warm: WarmDbt | None = PrivateAttr(default=None)
    _warm_taken: bool = PrivateAttr(default=False)

    @cached_property
    def _cli_version(self) -> version.Version:
        if Path(self.dbt_executable) == BIN_DIR / "dbt" or is_client(self.dbt_executable):
            return version.parse(importlib.metadata.version("dbt-core"))
        return super()._cli_version

    def _initialize_dbt_core_adapter(self, args):
        return None

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        super().setup_for_execution(context)
        self._warm, self._warm_taken = None, False
        wanted = self.warm_up and os.environ.get("MARMOT_DBT_WARM_UP", "1") != "0"
        if not wanted or Path(self.dbt_executable) != BIN_DIR / "dbt" or not context.run_id:
            return
        try:
            dbt_environment()
            target = step_target(context.run_id)
            self._warm = WarmDbt.start(self.dbt_executable, Path(self.project_dir), target)
        except OSError as exc:  # no process to be had: the step starts dbt itself
            if context.log:
                context.log.warning(f"dbt not started ahead: {exc}")

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._warm is not None:
            self._warm.stop()
            self._warm = None

    def warm(self) -> WarmDbt | None:
        """The process started for this run's dbt step, if it still waits; once (a second
        dbt command in the step starts a dbt of its own). It is stopped at the run's end."""
        warm = self._warm
        if warm is None or self._warm_taken or warm.process.poll() is not None:
            return None
        self._warm_taken = True
        return warm

    def through(self, warm: WarmDbt) -> "MarmotDbtCliResource":
        """This resource with ``warm``'s client as its dbt executable."""
        return MarmotDbtCliResource(
            project_dir=self.project_dir,
            profiles_dir=self.profiles_dir,
            profile=self.profile,
            target=self.target,
            global_config_flags=self.global_config_flags,
            dbt_executable=str(warm.client),
            warm_up=False,
        )


def dbt_resource() -> DbtCliResource:
    return MarmotDbtCliResource(
        project_dir=dbt_project(),
        dbt_executable=dbt_executable(),
        global_config_flags=list(DBT_QUIET_FLAGS),
    )
