"""``publication/report``: the progress report of each release, right after it is published."""

from __future__ import annotations

import dagster as dg

from marmot_assets.automation import follows_sources
from marmot_assets.config import get_settings
from marmot_assets.publish import releases as rel
from marmot_assets.publish.report.ahead import REPORT, ReportAheadResource
from marmot_assets.ui_metadata import PLATFORM_OWNER
from marmot_assets.warehouse import WAREHOUSE_POOL


def build_report_asset(release_key: dg.AssetKey, group: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=REPORT,
        group_name=group,
        deps=[release_key],
        automation_condition=follows_sources(),
        owners=[PLATFORM_OWNER],
        kinds={"python", "html", "pdf"},
        # It reads only the release file, never the warehouse; in the pool all the same, as
        # every step but publication/release is (tests/test_definitions.py).
        pool=WAREHOUSE_POOL,
        description="The progress report of the release just published: "
        "reports/<release_id>/index.html (per principle: scorecard, trends against England "
        "and the region, deprivation gradients with the SII, wards, stories and evaluations, "
        "what changed) and report.pdf, from the release file only.",
    )
    def report(report_ahead: ReportAheadResource) -> dg.MaterializeResult:
        from marmot_assets.publish.report.page import render_report

        home = get_settings().home
        current = rel.read_json(rel.serving_dir(home) / rel.CURRENT_FILE) or {}
        release_id = current.get("release_id")
        if not release_id or release_id not in rel.release_ids(home):
            raise dg.Failure("No published release to report on: publish one first.")
        drawn_ahead = report_ahead.stop_drawing_ahead()  # its charts are kept: taken as drawn
        out = render_report(home, release_id, report_ahead.pool(), report_ahead.browser())
        if out["html"] is None:
            return dg.MaterializeResult(
                metadata={"release_id": release_id, "not_rendered": out["not_rendered"]}
            )
        metadata = {
            "release_id": release_id,
            "html": dg.MetadataValue.path(str(out["html"])),
            "pdf": dg.MetadataValue.path(str(out["pdf"])) if out["pdf"] else "missing",
            "seconds": dg.MetadataValue.float(out["seconds"]),
            "pdf_printed_by": out["pdf_printed_by"],
            "charts_drawn_ahead": drawn_ahead,
        }
        if out["pdf"] is None:
            metadata["pdf_error"] = out["pdf_error"]
        return dg.MaterializeResult(metadata=metadata)

    return report
