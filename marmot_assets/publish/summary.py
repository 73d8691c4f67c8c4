"""What is served, where its files are, and what disclosure control did: the end of `marmot run`.

Read from disk only (current.json, the release's manifest, the report folder), so it says what
a BI tool or a reader of the report would find, not what the run meant to write.
"""

from __future__ import annotations

from pathlib import Path

from marmot_assets.publish import releases as rel
from marmot_assets.publish.report.page import HTML_FILE, PDF_FILE, reports_dir


def served_summary(home: Path) -> dict | None:
    """The served release and its files; None before the first publication."""
    release_id = rel.served_release_id(home)
    if release_id is None:
        return None
    folder = rel.releases_dir(home) / release_id
    manifest = rel.read_json(folder / rel.MANIFEST_FILE) or {}
    report = reports_dir(home) / release_id

    def present(path: Path) -> Path | None:
        return path if path.exists() else None

    return {
        "release_id": release_id,
        "released_at": manifest.get("released_at"),
        "serving_file": rel.serving_path(home),
        "parquet": present(folder / "parquet"),
        "csv": present(folder / "csv"),
        "report": present(report / HTML_FILE),
        "pdf": present(report / PDF_FILE),
        "tables": len(manifest.get("tables", [])),
        "disclosure_rules_version": manifest.get("disclosure_rules_version"),
        "disclosure": manifest.get("disclosure", {}),
    }


def publication_lines(summary: dict | None) -> list[str]:
    if summary is None:
        return ["Published: nothing yet (no release has passed its checks)"]
    missing = "not written"
    lines = [
        f"Published: release {summary['release_id']} ({summary['released_at']}), "
        f"{summary['tables']} tables",
        f"  serving file (BI tools, read-only): {summary['serving_file']}",
        f"  Parquet: {summary['parquet'] or missing}",
        f"  CSV: {summary['csv'] or missing}",
        f"  report: {summary['report'] or missing}",
        f"  PDF: {summary['pdf'] or missing}",
    ]
    figures = summary["disclosure"]
    if figures:
        reasons = ", ".join(f"{n} {r}" for r, n in figures["suppressed_by_reason"].items())
        lines += [
            f"  disclosure control (rules {summary['disclosure_rules_version']}): "
            f"{figures['cells_controlled']} cells controlled, "
            f"{figures['cells_suppressed']} suppressed" + (f" ({reasons})" if reasons else ""),
            f"    counts rounded to 5: {figures['counts_rounded']} numerators, "
            f"{figures['denominators_rounded']} denominators",
        ]
    return lines
