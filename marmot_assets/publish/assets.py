"""Write-audit-publish as Dagster assets (group ``publication``).

``publication/staged_release`` (write) depends on every dbt model of the publish layer, so it
runs only after ``dbt build`` succeeded in the same run (a failed dbt test fails that step and
skips everything downstream). Blocking great-expectations checks on it (audit) read the staged
file; ``publication/release`` (publish) runs only when they all passed, and refuses a staged
release whose audit it cannot find passed. A failure leaves the served release untouched.
"""

import functools
import json
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from marmot_assets.automation import follows_sources
from marmot_assets.config import get_settings
from marmot_assets.publish import audit
from marmot_assets.publish import releases as rel
from marmot_assets.publish.build import (
    FALLBACK_SCHEMA,
    PUBLISHED_SCHEMA,
    publish_release,
    stage_release,
)
from marmot_assets.publish.report.ahead import ReportAheadResource
from marmot_assets.quality.expectations import (
    ExpectationsResource,
    SuiteOutcome,
    outcome_metadata,
)
from marmot_assets.ui_metadata import PLATFORM_OWNER
from marmot_assets.warehouse import WAREHOUSE_POOL

STAGED = dg.AssetKey(["publication", "staged_release"])
RELEASE = dg.AssetKey(["publication", "release"])
GROUP = "publication"
AUDIT_DIR = "audit"


def published_model_keys(manifest_path: Path | None = None) -> list[dg.AssetKey]:
    """The asset keys of the dbt models in the publish layer (the marts while it is absent)."""
    from marmot_assets.transform.assets import MarmotDbtTranslator
    from marmot_assets.transform.project import dbt_project

    path = manifest_path or dbt_project().manifest_path
    try:
        nodes = json.loads(Path(path).read_text(encoding="utf-8"))["nodes"].values()
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return []
    models = [n for n in nodes if n.get("resource_type") == "model"]
    translator = MarmotDbtTranslator()
    for schema in (PUBLISHED_SCHEMA, FALLBACK_SCHEMA):
        layer = [n for n in models if n.get("config", {}).get("schema") == schema]
        if layer:
            return sorted({translator.get_asset_key(n) for n in layer}, key=str)
    return []


def staged() -> dict:
    pending = rel.read_json(rel.serving_dir(get_settings().home) / rel.STAGED_FILE)
    if pending is None:
        raise dg.Failure("No staged release: materialise publication/staged_release first.")
    return pending


def staged_folder(pending: dict) -> Path:
    return rel.staging_dir(get_settings().home) / pending["release_id"]


def _result(name: str, outcome: SuiteOutcome, pending: dict) -> dg.AssetCheckResult:
    return _audited(name, outcome.success, pending, outcome_metadata(outcome))


def _audited(name: str, passed: bool, pending: dict, metadata: dict) -> dg.AssetCheckResult:
    """An audit's check result, its verdict also kept beside the staged release (which
    publication/release reads: ``audit_passed``)."""
    folder = staged_folder(pending) / AUDIT_DIR
    folder.mkdir(exist_ok=True)
    rel.write_json_atomically(folder / f"{name}.json", {"passed": passed})
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=STAGED,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"release_id": pending["release_id"], **metadata},
    )


AUDIT_STEP = "staged_release_audit"


def _audit_checks() -> dg.AssetChecksDefinition:
    """The staged release's audits (AUDITS): blocking checks, each its own in the UI with its
    docstring as description, run in one step on one read-only opening of the staged file (a
    step each cost ~0.1 s more apiece). An audit that raises fails its own check, with the
    error, and the others still run; either way the release is not published."""
    specs = [
        dg.AssetCheckSpec(
            name, asset=STAGED, description=" ".join(run.__doc__.split()), blocking=True
        )
        for name, run in AUDITS.items()
    ]

    @dg.multi_asset_check(name=AUDIT_STEP, specs=specs, can_subset=True)
    def audit(context: dg.AssetCheckExecutionContext, expectations: ExpectationsResource):
        pending = staged()
        path = staged_folder(pending) / rel.SERVING_FILE
        selected = {key.name for key in context.selected_asset_check_keys}
        with duckdb.connect(str(path), read_only=True) as con:
            for name, run in AUDITS.items():
                if name not in selected:
                    continue
                try:
                    outcome = run(con, pending, expectations)
                except Exception as exc:  # noqa: BLE001 (its own check fails, saying why)
                    error = f"{type(exc).__name__}: {exc}"[:2000]
                    yield _audited(name, False, pending, {"error": error})
                    continue
                yield _result(name, outcome, pending)

    return audit


def _previous_counts(pending: dict) -> dict | None:
    previous = pending.get("previous_release_id")
    if not previous:
        return None
    home = get_settings().home
    manifest = rel.read_json(rel.releases_dir(home) / previous / rel.MANIFEST_FILE)
    if not manifest or manifest.get("source_schema") != pending["source_schema"]:
        return None  # nothing to compare with (or the first release of the publish layer)
    return manifest.get("row_counts")


def _of_file(audit_of_file):
    """An audit of the staged file alone, taking the arguments every audit check passes."""
    return functools.wraps(audit_of_file)(lambda con, pending, suites: audit_of_file(con, suites))


def _row_counts_stable(con, pending: dict, suites) -> SuiteOutcome:
    """Every table's row count within MARMOT_PUBLISH_ROW_COUNT_TOLERANCE (±20%) of the
    previous published release's."""
    tolerance = get_settings().publish_row_count_tolerance
    return audit.row_counts(con, _previous_counts(pending), tolerance, suites)


# Check name -> the audit it runs (its docstring says what the check asserts).
AUDITS = {
    "release_complete": _of_file(audit.completeness),
    "release_values_in_range": _of_file(audit.ranges),
    "release_limits_ordered": _of_file(audit.limits),
    "release_numerator_within_denominator": _of_file(audit.counts),
    "release_row_counts_stable": _row_counts_stable,
}


def audit_passed(pending: dict) -> list[str]:
    """The audit checks this staged release passed; raises naming any that did not."""
    folder = staged_folder(pending) / AUDIT_DIR
    missing = [n for n in AUDITS if not (rel.read_json(folder / f"{n}.json") or {}).get("passed")]
    if missing:
        raise dg.Failure(
            f"Staged release {pending['release_id']} has not passed its audit: {missing}. "
            "The served release stays as it is."
        )
    return [f"{STAGED.to_user_string()}:{n}" for n in AUDITS]


def build_publication_definitions(manifest_path: Path | None = None):
    """(assets, asset checks) of the publication group."""

    @dg.asset(
        key=STAGED,
        group_name=GROUP,
        deps=published_model_keys(manifest_path),
        automation_condition=follows_sources(),
        owners=[PLATFORM_OWNER],
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
        description=f"Write: a new release file of every table of the warehouse schema "
        f"`{PUBLISHED_SCHEMA}`, with dbt descriptions as comments and `changes` against the "
        "served release, staged under serving/staging/ for the audit.",
    )
    def staged_release(
        warehouse: DuckDBResource, report_ahead: ReportAheadResource
    ) -> dg.MaterializeResult:
        home = get_settings().home
        with warehouse.get_connection() as con:
            try:
                release_id = stage_release(con, home)
            finally:
                con.close()  # DuckDBResource closes it only when nothing was raised
        pending = rel.read_json(rel.staging_dir(home) / release_id / "pending.json")
        # the report's charts drawn while the audits and the publication run, when this run
        # draws the report (its processes were started: publish/report/ahead.py)
        staged = rel.staging_dir(home) / release_id / rel.SERVING_FILE
        report_ahead.draw_ahead(staged, home, pending)
        return dg.MaterializeResult(
            metadata={
                "release_id": release_id,
                "source_schema": pending["source_schema"],
                "previous_release_id": str(pending["previous_release_id"]),
                "changes": dg.MetadataValue.int(pending["row_counts"]["changes"]),
                "row_counts": dg.MetadataValue.json(pending["row_counts"]),
            }
        )

    @dg.asset(
        key=RELEASE,
        group_name=GROUP,
        deps=[STAGED],
        automation_condition=follows_sources(),
        owners=[PLATFORM_OWNER],
        kinds={"python", "duckdb"},
        description="Publish: the audited release kept under serving/releases/ (with Parquet, "
        "CSV and its manifest) and swapped in atomically as serving/marmot.duckdb, the file "
        "BI tools read.",
    )
    def release(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        settings = get_settings()
        pending = staged()
        passed = audit_passed(pending)
        passed += run_checks_passed(context)
        path = publish_release(
            settings.home, pending["release_id"], sorted(set(passed)), settings.releases_kept
        )
        return dg.MaterializeResult(
            metadata={
                "release_id": pending["release_id"],
                "serving_file": dg.MetadataValue.path(str(path)),
                "releases_kept": rel.release_ids(settings.home),
                "checks_passed": dg.MetadataValue.int(len(set(passed))),
            }
        )

    return [staged_release, release], [_audit_checks()]


def run_checks_passed(context: dg.AssetExecutionContext) -> list[str]:
    """Every check that passed in this run (the dbt tests, the source gates)."""
    records = context.instance.get_records_for_run(
        context.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    out = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            out.append(evaluation.asset_check_key.to_user_string())
    return out
