"""Benchmark: wall time and peak memory of the demo pipeline (a script, not a test).

    python benchmarks/pipeline.py            # or: make bench

Measures, on the bundled demo data in a temporary MARMOT_HOME:
  1. a full materialisation through Dagster (the `marmot_refresh` job, real instance);
  2. `dbt build` alone (with the data tests as the dbt step runs them: transform/data_tests.py);
  3. the ingestion alone (every publisher source with its check and every partner delivery
     through the door into the raw tables, the asset functions called directly, no Dagster
     run; checked first to be every step the refresh job counts as ingestion);
and prints the ratio of (1) to (2) + (3): what orchestration costs on top of the work; then
  4. one partner file to a new release: on the warehouse and instance (1) left, a housing file
     is dropped; the drop folder's sensor is evaluated, its run (the raw asset alone) executed,
     the automation conditions evaluated (as the daemon's `marmot_automation` does) and the run
     they request executed, until the new release is served. The daemon's polling intervals
     (30 s for sensors, MARMOT_AUTOMATION_INTERVAL_SECONDS for automation) come on top.
Each part runs in a fresh process; peak memory is the largest resident set of that process
or any process it waited for (ru_maxrss of self and children).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PARTS = ("full", "dbt", "delivery", "ingestion")  # dbt and delivery: on what full left
HOUSING = "council_housing/temporary_accommodation"


def run_part(part: str) -> None:
    """Inside the child process: do one part of the work."""

    if part == "full":
        from marmot_assets.cli import run_refresh

        started = time.perf_counter()
        success, run_id, _ = run_refresh()
        assert success, "the refresh job failed"
        ended = time.time()
        print(json.dumps({"steps": run_parts(run_id, time.perf_counter() - started)}))
        # what came after the release was served: the report, the run's end
        import dagster as dg

        with dg.DagsterInstance.get() as instance:
            release = instance.get_latest_materialization_event(
                dg.AssetKey(["publication", "release"])
            )
        print(json.dumps({"after_release_s": ended - release.timestamp}))
    elif part == "dbt":
        # dbt invoked as the code location invokes it: through dagster-dbt's resource, with
        # the same exclusions (raw tables' tests run by the sources; unit tests by the tests),
        # and the data tests as the step runs them: on their compiled SQL once dbt has built
        # the models (transform/data_tests.py), or by dbt when that SQL is not to be trusted
        import duckdb
        from dagster_dbt.asset_utils import get_asset_check_key_for_test

        from marmot_assets.config import get_settings
        from marmot_assets.transform import data_tests
        from marmot_assets.transform.assets import MarmotDbtTranslator, dbt_resource
        from marmot_assets.transform.project import dbt_project, run_target_path, seed_partial_parse

        manifest = json.loads(Path(dbt_project().manifest_path).read_text())
        translator = MarmotDbtTranslator()
        keys = [get_asset_check_key_for_test(manifest, translator, uid, None)
                for uid in manifest["nodes"]]  # fmt: skip
        plan = data_tests.tests_to_run(manifest, [k for k in keys if k], translator, None)
        args = ["build", "--quiet", "--exclude", "source:*", "--exclude-resource-type", "unit_test"]
        target = run_target_path("bench")
        seed_partial_parse(target)  # as the dbt step does: the home's last parse state
        dbt_resource().cli([*args, *plan.dbt_args()], target_path=target).wait()
        if plan.ours:
            with duckdb.connect(str(get_settings().warehouse_path), read_only=True) as con:
                data_tests.run_tests(con, plan.ours)
    elif part == "ingestion":
        import dagster as dg

        from marmot_assets.partners.read_ahead import ReadAheadResource
        from marmot_assets.quality.expectations import ExpectationsResource
        from marmot_assets.warehouse import warehouse_resource

        warehouse = warehouse_resource()
        publishers, checks, partners = ingestion()
        # the checks' suites in this process: the work alone, without the run's own process
        expectations = ExpectationsResource(in_own_process=False)
        for asset in publishers:  # the asset's own function, called directly
            needs = (
                {"expectations": expectations}
                if "expectations" in asset.required_resource_keys
                else {}
            )
            asset(warehouse=warehouse, **needs)
        for check in checks:
            check(warehouse=warehouse, expectations=expectations)
        # Every partner delivery through the door (the demo put them in the drop folders),
        # each read by the door itself: the work alone, without the run's reading process.
        read_ahead = ReadAheadResource(in_own_process=False)
        for asset in partners:
            asset(dg.build_asset_context(), warehouse=warehouse, read_ahead=read_ahead)
    elif part == "coverage":  # not timed: that (3) is the refresh's whole ingestion
        publishers, checks, partners = ingestion()
        measured = {a.op.name for a in (*publishers, *checks, *partners)}
        assert measured == ingestion_ops(), (
            f"the ingestion measured alone is not the refresh's: {measured ^ ingestion_ops()}"
        )
    elif part == "delivery":
        print(json.dumps({"steps": one_delivery()}))


def ingestion() -> tuple[tuple, tuple, list]:
    """(publisher assets, their checks, partner assets): what the refresh job ingests, the
    lookups first (the door reads the place's codes and LSOA changes from them)."""
    from marmot_assets.partners.assets import build_partner_definitions
    from marmot_assets.quality.fingertips_checks import fingertips_values_valid
    from marmot_assets.sources import fingertips, mhclg, ons, place, population

    publishers = (
        place.place_areas,
        place.partner_datasets,
        ons.ons_lsoa_ward_lookup,
        ons.ons_lsoa11_lsoa21_lookup,
        population.ons_population_estimates,
        mhclg.mhclg_imd_lsoa,
        fingertips.fingertips_indicator_values,
    )
    # the partners' door checks are evaluated inside their assets
    return publishers, (fingertips_values_valid,), build_partner_definitions()[0]


def step_kind(step: str) -> str:
    from marmot_assets.publish.assets import AUDIT_STEP

    return (
        "report" if step == "publication__report"
        else "publication" if step.startswith("publication__") or step == AUDIT_STEP
        else "dbt step" if step.startswith("marmot_dbt_models")
        else "ingestion"
    )  # fmt: skip


def ingestion_ops() -> set[str]:
    """The ops (steps) of the refresh job that run_parts counts as ingestion."""
    from marmot_assets.definitions import REFRESH_JOB, build_definitions

    job = build_definitions().resolve_job_def(REFRESH_JOB)
    return {n.name for n in job.graph.nodes if step_kind(n.name) == "ingestion"}


def run_parts(run_id: str, wall: float) -> dict[str, float]:
    """Seconds of a refresh run by kind of step, from its Dagster event log: ingestion (the
    publishers' and partners' assets and their checks), the dbt step, publication (the staged
    release, its audits and the release), the report; and what came before and between."""
    import dagster as dg

    kinds = {"ingestion": 0.0, "dbt step": 0.0, "publication": 0.0, "report": 0.0}
    with dg.DagsterInstance.get() as instance:
        started, first, last = {}, None, None
        for entry in instance.all_logs(run_id):
            first = first or entry.timestamp
            last = entry.timestamp
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[entry.step_key] = entry.timestamp
            elif event.event_type in (
                dg.DagsterEventType.STEP_SUCCESS,
                dg.DagsterEventType.STEP_FAILURE,
            ):
                step = entry.step_key
                kinds[step_kind(step)] += entry.timestamp - started.pop(step)
    steps = {f"  {k}": v for k, v in kinds.items()}
    steps["  the run's own bookkeeping (start, between steps, end)"] = (last - first) - sum(
        kinds.values()
    )
    steps["  before the run (definitions, instance, pool)"] = wall - (last - first)
    return steps


def one_delivery() -> dict[str, float]:
    """Seconds of each step from a dropped partner file to its release being served."""
    import dagster as dg

    from marmot_assets.config import get_settings
    from marmot_assets.definitions import build_definitions
    from marmot_assets.partners.assets import inbox
    from marmot_assets.partners.contract import get_contract
    from marmot_assets.publish.releases import served_release_id

    defs = build_definitions()
    contract = get_contract(HOUSING)
    home = get_settings().home
    before = served_release_id(home)
    job = defs.resolve_implicit_global_asset_job_def()
    steps, clock = {}, time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        steps[name] = now - clock
        clock = now

    with dg.DagsterInstance.get() as instance:
        baseline = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        folder = inbox(contract)
        folder.mkdir(parents=True, exist_ok=True)
        wards = [f"E0500{code}" for code in range(1218, 1236)]
        quarter = os.environ.get("MARMOT_BENCH_QUARTER", "2025-26 Q2")  # another, to repeat
        dropped = folder / "ta_bench.csv"
        dropped.write_text(
            "Ward code,Quarter,Households in TA,Households with children\n"
            + "".join(f"{w},{quarter},{50 + i},{25 + i}\n" for i, w in enumerate(wards))
        )
        # landed a minute before the sensor's tick, as the daemon's 30 s interval has it: the
        # door's wait for a file still being written (MARMOT_INBOX_SETTLE_SECONDS) is over
        landed = time.time() - 60
        os.utime(dropped, (landed, landed))
        clock = time.perf_counter()
        sensor = defs.get_sensor_def(f"{contract.table}__inbox")
        tick = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, definitions=defs))
        assert tick.run_requests, tick.skip_message
        lap("sensor tick")
        raw = [dg.AssetKey(["raw", contract.table])]
        assert job.execute_in_process(instance=instance, asset_selection=raw).success
        lap("run of the partner's asset")
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=baseline.cursor
        )
        requested = [r.key for r in after.results
                     if r.true_subset.size and isinstance(r.key, dg.AssetKey)]  # fmt: skip
        lap("automation evaluation")
        started = time.time()
        result = job.execute_in_process(instance=instance, asset_selection=requested)
        assert result.success
        # served when publication/release materialised; the report is drawn after that
        release = instance.get_latest_materialization_event(dg.AssetKey(["publication", "release"]))
        served_after = release.timestamp - started
        lap(f"run of what follows ({len(requested)} assets, report included)")
        steps["  of which: until the release was served"] = served_after
        wall = steps[f"run of what follows ({len(requested)} assets, report included)"]
        steps.update({f"  {k}": v for k, v in run_parts(result.run_id, wall).items()})
        steps["total"] = sum(v for k, v in steps.items() if not k.startswith("  "))
        steps["until the new release was served"] = steps["total"] - (
            steps[f"run of what follows ({len(requested)} assets, report included)"] - served_after
        )
    assert served_release_id(home) != before, "no new release served"
    return steps


def measure(part: str, env: dict[str, str]) -> dict[str, float]:
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--part", part],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    lines = [json.loads(line) for line in out.stdout.strip().splitlines() if line.startswith("{")]
    result = {"wall_s": wall, "peak_mib": lines[-1]["peak_kib"] / 1024}
    for line in lines:
        result.update({k: v for k, v in line.items() if k != "peak_kib"})
    return result


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="marmot-bench-") as tmp:
        env = {**os.environ, "MARMOT_HOME": tmp, "DAGSTER_HOME": f"{tmp}/dagster"}
        results = {}
        coverage = subprocess.run(
            [sys.executable, __file__, "--part", "coverage"],
            env=env,
            capture_output=True,
            text=True,
        )
        if coverage.returncode:
            sys.exit(coverage.stderr)
        for part in PARTS:
            # Each part starts from fresh demo deliveries in the drop folders (a run empties
            # them) and, but for dbt, from an empty warehouse.
            if part in ("full", "ingestion"):
                for name in ("warehouse.duckdb", "landing", "inbox", "dagster"):
                    path = Path(tmp) / name
                    if path.is_dir():
                        shutil.rmtree(path)
                    elif path.exists():
                        path.unlink()
                subprocess.run(
                    [sys.executable, "-m", "marmot_assets.cli", "demo"],
                    env=env,
                    check=True,
                    capture_output=True,
                )
            results[part] = measure(part, env)
    print(f"{'part':<34}{'wall (s)':>10}{'peak RSS (MiB)':>16}")
    labels = {
        "full": "full materialisation (Dagster)",
        "dbt": "dbt build alone",
        "ingestion": "ingestion alone (no Dagster)",
        "delivery": "one partner file to a new release",
    }
    for part, r in results.items():
        print(f"{labels[part]:<34}{r['wall_s']:>10.2f}{r['peak_mib']:>16.1f}")
    work = results["dbt"]["wall_s"] + results["ingestion"]["wall_s"]
    full = results["full"]["wall_s"]
    served = full - results["full"]["after_release_s"]
    print(f"ratio full / (dbt + ingestion): {full / work:.2f}  (target <= 1.3)")
    # The report's drawing is work as dbt's is, but not in the denominator: the same ratio to
    # the release served (as the one-file target is measured) leaves it out of both.
    print(f"  the same, to the release served (the report not counted): {served / work:.2f}")
    print(
        f"full refresh: {full:.1f} s  (target <= 30 s); until its release was served: "
        f"{served:.1f} s"
    )
    for name, seconds in results["full"]["steps"].items():
        print(f"  {name:<52}{seconds:>8.2f} s")
    steps = results["delivery"]["steps"]
    print(
        f"one partner file to a new release served: {steps['until the new release was served']:.1f}"
        f" s  (target <= 15 s); with its report drawn: {steps['total']:.1f} s"
    )
    for name, seconds in steps.items():
        if name not in ("total", "until the new release was served"):
            print(f"  {name:<52}{seconds:>8.2f} s")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--part":
        run_part(sys.argv[2])
        peak = max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        print(json.dumps({"peak_kib": peak}))
    else:
        main()
