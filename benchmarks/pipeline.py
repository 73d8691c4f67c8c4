"""Benchmark: wall time and peak memory of the demo pipeline (a script, not a test).

    python benchmarks/pipeline.py            # or: make bench

Measures, on the bundled demo data in a temporary MARMOT_HOME:
  1. a full materialisation through Dagster (the `marmot_refresh` job, real instance);
  2. `dbt build` alone;
  3. the ingestion alone (every publisher source and every partner delivery through the
     door into the raw tables, the asset functions called directly, no Dagster run);
and prints the ratio of (1) to (2) + (3): what orchestration costs on top of the work.
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

PARTS = ("full", "dbt", "ingestion")  # dbt runs on the warehouse the full run left


def run_part(part: str) -> None:
    """Inside the child process: do one part of the work."""

    if part == "full":
        from marmot_assets.cli import run_refresh

        success, _, _ = run_refresh()
        assert success, "the refresh job failed"
    elif part == "dbt":
        # dbt invoked as the code location invokes it: through dagster-dbt's resource.
        from marmot_assets.transform.assets import dbt_resource
        from marmot_assets.transform.project import run_target_path

        dbt_resource().cli(["build", "--quiet"], target_path=run_target_path("bench")).wait()
    elif part == "ingestion":
        import dagster as dg

        from marmot_assets.partners.assets import build_partner_definitions
        from marmot_assets.sources import fingertips, mhclg, ons, place
        from marmot_assets.warehouse import warehouse_resource

        warehouse = warehouse_resource()
        for asset in (
            place.place_areas,
            ons.ons_lsoa_ward_lookup,
            mhclg.mhclg_imd_lsoa,
            fingertips.fingertips_indicator_values,
        ):
            asset(warehouse=warehouse)  # the asset's own function, called directly
        # Every partner delivery through the door (the demo put them in the drop folders).
        for asset in build_partner_definitions()[0]:
            asset(dg.build_asset_context(), warehouse=warehouse)


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
    peak_kib = json.loads(out.stdout.strip().splitlines()[-1])["peak_kib"]
    return {"wall_s": wall, "peak_mib": peak_kib / 1024}


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="marmot-bench-") as tmp:
        env = {**os.environ, "MARMOT_HOME": tmp, "DAGSTER_HOME": f"{tmp}/dagster"}
        results = {}
        for part in PARTS:
            # Each part starts from fresh demo deliveries in the drop folders (a run empties
            # them) and, but for dbt, from an empty warehouse.
            if part != "dbt":
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
    }
    for part, r in results.items():
        print(f"{labels[part]:<34}{r['wall_s']:>10.2f}{r['peak_mib']:>16.1f}")
    ratio = results["full"]["wall_s"] / (results["dbt"]["wall_s"] + results["ingestion"]["wall_s"])
    print(f"ratio full / (dbt + ingestion): {ratio:.2f}")


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
