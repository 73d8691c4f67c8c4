"""dbt models, seeds and tests as Dagster assets and asset checks."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from marmot_assets.freshness import MARTS_CADENCE, freshness_for
from marmot_assets.transform.check_descriptions import describe_dbt_test
from marmot_assets.transform.project import (
    dbt_environment,
    dbt_executable,
    dbt_project,
    run_target_path,
)
from marmot_assets.warehouse import WAREHOUSE_POOL

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

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        # the marts and what is published from them follow their monthly sources
        fqn = manifest["nodes"].get(unique_id, {}).get("fqn", [])
        if fqn[1:2] in (["marts"], ["publish"]):
            spec = spec.replace_attributes(freshness_policy=freshness_for(MARTS_CADENCE))
        return spec


def build_dbt_assets() -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=MarmotDbtTranslator(
            # Tests on the raw tables stay dbt's (reported as observations of the raw assets):
            # as checks of those assets they split this one step into several, interleaved with
            # the sources, and dbt then runs tests before the models they test exist.
            settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
        ),
        pool=WAREHOUSE_POOL,
    )
    def marmot_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        dbt_environment()
        # Artifacts under $MARMOT_HOME/dbt/target (pruned), not a new dbt_project/target/<run>.
        target = run_target_path(f"{context.op_execution_context.op.name}-{context.run_id[:8]}")
        yield from dbt.cli(["build"], context=context, target_path=target).stream()

    return marmot_dbt_models


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project(), dbt_executable=dbt_executable())
