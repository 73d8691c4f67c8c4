"""What starts what: a drop-folder sensor starts only its partner's asset and nothing for files
already received; everything built from a source follows it by declarative automation (the
conditions evaluated as the daemon's automation sensor does, on a real instance)."""

from __future__ import annotations

import os
import shutil

import dagster as dg
import pytest
from helpers import inbox_files

from marmot_assets.config import get_settings
from marmot_assets.definitions import build_definitions
from marmot_assets.partners.assets import LOOKUP_KEY, asset_key, upstream_references
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import receive
from marmot_assets.partners.load import withdraw
from marmot_assets.partners.sensors import build_inbox_sensor

HOUSING = "council_housing/temporary_accommodation"


@pytest.fixture(scope="module")
def defs():
    return build_definitions()


def _materialised_instance(instance, graph) -> None:
    """Every asset materialised once and every check passed, as after a whole refresh: a
    partitioned source in the last of its periods only (most periods of a source never come)."""
    for key in graph.get_all_asset_keys():
        partitions = graph.get(key).partitions_def
        last = partitions.get_last_partition_key() if partitions else None
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=last))
    for check in graph.asset_check_keys:
        instance.report_runless_asset_event(
            dg.AssetCheckEvaluation(asset_key=check.asset_key, check_name=check.name, passed=True)
        )


def _requested(result) -> set[dg.AssetKey]:
    return {r.key for r in result.results if r.true_subset.size and isinstance(r.key, dg.AssetKey)}


def test_a_delivery_refreshes_exactly_what_depends_on_it(defs):
    graph = defs.get_repository_def().asset_graph
    raw = asset_key(get_contract(HOUSING))
    downstream = dg.AssetSelection.assets(raw).downstream().resolve(graph) - {raw}
    with dg.instance_for_test() as instance:
        _materialised_instance(instance, graph)
        first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        assert first.total_requested == 0  # nothing new since the refresh
        # a housing delivery for 2025-26 Q2 (its partition: the quarter's first month)
        instance.report_runless_asset_event(dg.AssetMaterialization(raw, partition="2025-07"))
        second = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=first.cursor
        )
        requested = _requested(second)
        # the whole chain in one tick, so one run takes it and publishes once
        assert requested == downstream
        assert dg.AssetKey(["publication", "release"]) in requested
        assert dg.AssetKey(["raw", "fingertips_indicator_values"]) not in requested
        assert not any(k.path[0] == "raw" for k in requested)  # sources start themselves
        third = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=second.cursor
        )
        assert third.total_requested == 0  # handled: not requested again


def test_seeds_and_sources_have_no_condition(defs):
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if key.path[0] in ("raw", "reference"):
            assert node.automation_condition is None, key
        elif key.path[0] in ("staging", "intermediate", "marts", "publish", "publication"):
            assert node.automation_condition is not None, key


def _tick(sensor, context):
    data = sensor.evaluate_tick(context)
    return data.run_requests, data.skip_message


@pytest.fixture
def ephemeral_instance():
    with dg.DagsterInstance.ephemeral() as instance:
        yield instance


def test_sensor_launches_nothing_for_files_already_received(
    defs, warehouse, tmp_path, monkeypatch, demo_root, ephemeral_instance
):
    # the warehouse fixture's file is the settings' warehouse: MARMOT_HOME is its folder
    monkeypatch.setenv("MARMOT_HOME", str(tmp_path))
    get_settings.cache_clear()
    con, codes = warehouse
    contract = get_contract(HOUSING)
    sensor = build_inbox_sensor(contract)
    key, references = asset_key(contract), upstream_references(contract)
    assert LOOKUP_KEY in references
    delivery = inbox_files(demo_root, contract)[0]
    inbox = tmp_path / "inbox" / contract.partner / contract.dataset
    inbox.mkdir(parents=True)
    dropped = inbox / delivery.name
    shutil.copyfile(delivery, dropped)

    # A new instance, the place's geography never loaded: it comes first, in the same run.
    instance = ephemeral_instance
    context = dg.build_sensor_context(cursor=None, definitions=defs, instance=instance)
    requests, _ = _tick(sensor, context)
    assert len(requests) == 1  # a new file: a run
    assert set(requests[0].asset_selection) == {key, *references}
    for reference in references:
        instance.report_runless_asset_event(dg.AssetMaterialization(reference))
    context = dg.build_sensor_context(cursor=None, definitions=defs, instance=instance)
    requests, _ = _tick(sensor, context)
    assert [set(r.asset_selection) for r in requests] == [{key}]  # the partner's asset alone

    verdict = receive(dropped, contract, con, codes, tmp_path)
    assert verdict.status == "loaded"
    shutil.copyfile(delivery, dropped)  # the same bytes dropped again
    os.utime(dropped, ns=(1, 1))
    context = dg.build_sensor_context(cursor=context.cursor, definitions=defs, instance=instance)
    requests, skipped = _tick(sensor, context)
    assert requests == []
    assert "already received" in skipped and delivery.name in skipped

    dropped.write_bytes(delivery.read_bytes().replace(b"\n", b"\r\n"))  # other bytes: a run
    context = dg.build_sensor_context(cursor=context.cursor, definitions=defs, instance=instance)
    requests, _ = _tick(sensor, context)
    assert [set(r.asset_selection) for r in requests] == [{key}]

    shutil.copyfile(delivery, dropped)
    withdraw(con, verdict.sha256, "sent in error", "tester", home=tmp_path)
    context = dg.build_sensor_context(cursor=context.cursor, definitions=defs, instance=instance)
    requests, _ = _tick(sensor, context)
    assert len(requests) == 1  # withdrawn: the same bytes are judged again
    get_settings.cache_clear()


@pytest.mark.parametrize("reason", ["UNEXPECTED_TERMINATION", "STEP_FAILURE"])
def test_a_signalled_run_that_dagster_recorded_failed_is_recorded_canceled(reason):
    """SIGTERM reaching dbt before the run guard's CANCELING lands makes Dagster fail the run
    (the dbt step fails, or the run stops unexpectedly); the guard then records it canceled.
    A failed run ended without a signal stays failed."""
    from marmot_assets.instance.recovery import end_run

    with dg.DagsterInstance.ephemeral() as instance:
        for canceled, expected in ((True, "CANCELED"), (False, "FAILURE")):
            run = instance.create_run_for_job(job_def=_nothing_job())
            instance.report_run_failed(run, "failed")
            instance.add_run_tags(run.run_id, {"dagster/failure_reason": reason})
            end_run(instance, run.run_id, "stopped by a signal", canceled=canceled)
            assert instance.get_run_by_id(run.run_id).status.value == expected


def _nothing_job() -> dg.JobDefinition:
    @dg.op
    def nothing() -> None:
        pass

    return dg.GraphDefinition(name="nothing", node_defs=[nothing]).to_job()
