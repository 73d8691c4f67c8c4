"""Rendering the progress report of a release: ``$MARMOT_HOME/reports/<release_id>/``
``index.html`` (charts as inline SVG, so it works offline) and ``report.pdf`` printed by
headless Chromium.

It reads only the release's own serving file (read-only, external access off), so only
disclosure-controlled numbers can appear in it. A missing or failing Chromium leaves the HTML
and reports the PDF as missing; it never raises.
"""

from __future__ import annotations

import base64
import os
import re
import time
import uuid
from pathlib import Path

import jinja2

from marmot_assets.publish import releases as rel
from marmot_assets.publish.report import charts, chromium
from marmot_assets.publish.report.data import missing_tables, read_release
from marmot_assets.publish.report.drawing import kept_charts, report_workers
from marmot_assets.publish.report.render import (
    changes_summary,
    principle_sections,
    system_section,
)

HTML_FILE = "index.html"
PDF_FILE = "report.pdf"
TEMPLATES = Path(__file__).parent / "templates"
# A chart in the page: its whole inline <svg> element. The page is rendered with autoescape,
# so "<svg" appears in it only where a chart's own markup was put (charts.to_svg).
CHART = re.compile(r"<svg\b.*?</svg>", re.S)


def reports_dir(home: Path) -> Path:
    return home / "reports"


def render_html(release_file: Path) -> str:
    release = read_release(release_file)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(
        manifest=release.manifest,
        place=release.place,
        sections=principle_sections(release),
        changes=changes_summary(release),
        system=system_section(release),
        provisional_column=release.provisional_column,
    )


def render_report(home: Path, release_id: str, pool=None, browser=None) -> dict:
    """Write the release's report; returns where it is, the PDF's state and the time taken.
    ``pool`` (drawing.start_pool) and ``browser`` (chromium.Browser), when given, were started
    ahead of it (publish.report.ahead); without them, or if they fail, it starts its own."""
    started = time.monotonic()
    source = rel.releases_dir(home) / release_id / rel.SERVING_FILE
    folder = reports_dir(home) / release_id
    missing = missing_tables(source)
    if missing:  # a release of another shape (e.g. a hand-made test warehouse)
        return {
            "release_id": release_id,
            "html": None,
            "pdf": None,
            "seconds": 0.0,
            "pdf_error": "no report",
            "not_rendered": f"the release lacks {missing}",
        }
    folder.mkdir(parents=True, exist_ok=True)
    html = folder / HTML_FILE
    tmp = folder / f".{HTML_FILE}.{uuid.uuid4().hex[:8]}.tmp"
    # unchanged charts are not drawn again; the others are drawn together, on every core
    folder_of_charts = kept_charts(home)
    with charts.drawn_together(folder_of_charts, report_workers(), pool) as finish:
        tmp.write_text(finish(render_html(source)), encoding="utf-8")
    os.replace(tmp, html)
    html_seconds = time.monotonic() - started
    pdf_ok, pdf_error, printed_by = print_pdf(html, folder / PDF_FILE, browser)
    return {
        "release_id": release_id,
        "html": html,
        "pdf": folder / PDF_FILE if pdf_ok else None,
        "pdf_error": pdf_error,
        "pdf_printed_by": printed_by,
        "html_seconds": round(html_seconds, 2),
        "seconds": round(time.monotonic() - started, 2),
    }


def charts_as_images(text: str) -> str:
    """The page with each inline chart as an ``<img>`` of the same SVG (a data URI).

    Chromium prints a chart that is an image of its own ~0.8 s faster (of ~2.7 s for the
    report) than the same SVG inline in the page, where its thousands of elements are styled
    and laid out with the page's; the PDF is the same: vector drawing, the charts' text
    kept as text (tests/test_report.py). The HTML report keeps its charts inline."""

    def image(chart: re.Match) -> str:
        data = base64.b64encode(chart.group(0).encode("utf-8")).decode("ascii")
        return f'<img class="chart-image" alt="" src="data:image/svg+xml;base64,{data}">'

    return CHART.sub(image, text)


def print_pdf(html: Path, pdf: Path, browser=None) -> tuple[bool, str, str]:
    """``html`` printed to ``pdf`` by Chromium, from a copy of it beside it whose charts are
    images (charts_as_images); the copy is removed after. By ``browser`` (started ahead) if
    it is there and works, else by a Chromium started for it: (succeeded, what went wrong,
    which printed it)."""
    copy = html.with_name(f".{html.stem}.print.{uuid.uuid4().hex[:8]}.html")
    try:
        copy.write_text(charts_as_images(html.read_text(encoding="utf-8")), encoding="utf-8")
        if browser is not None and browser.alive():
            try:
                browser.print_pdf(copy, pdf)
                return True, "", "chromium started ahead"
            except chromium.BrowserError:  # printed again, by a Chromium of its own
                pdf.unlink(missing_ok=True)
        ok, why = chromium.print_pdf(copy, pdf)
        return ok, why, "chromium"
    finally:
        copy.unlink(missing_ok=True)
