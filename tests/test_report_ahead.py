"""The report's processes started ahead (publish/report/ahead.py): a Chromium driven over its
DevTools pipe prints what the command line prints, the report falls back to a Chromium of its
own when that one has gone, and the Chromium and the chart-drawing processes end by
themselves when the process that started them is killed outright."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pypdf import PdfReader

from marmot_assets.instance.processes import pid_alive
from marmot_assets.publish.report import chromium, page

pytestmark = pytest.mark.skipif(chromium.binary() is None, reason="needs chromium")

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="200pt" height="80pt" viewBox="0 0 200 80">'
    '<rect x="10" y="10" width="60" height="40" fill="#1f4e79"/>'
    '<text x="80" y="40" style="font: 10px sans-serif">ward value, 95% interval</text></svg>'
)


def a_page(folder: Path) -> Path:
    """Two A4 pages of text and a chart, as the report prints (its @page rule)."""
    html = folder / "index.html"
    html.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><style>@page { size: A4; "
        "margin: 14mm; } h2 { break-before: page; }</style></head><body>"
        f"<h1>Progress report</h1><figure class='chart'>{SVG}</figure>"
        "<h2>Principle 1</h2><p>Give every child the best start in life.</p></body></html>",
        encoding="utf-8",
    )
    return html


def pdf_facts(pdf: Path) -> tuple:
    reader = PdfReader(pdf)
    boxes = [tuple(round(float(v)) for v in p.mediabox) for p in reader.pages]
    return boxes, [p.extract_text() for p in reader.pages], sum(len(p.images) for p in reader.pages)


def test_a_chromium_started_ahead_prints_what_the_command_line_prints(tmp_path):
    html = a_page(tmp_path)
    ok, why = chromium.print_pdf(html, tmp_path / "cli.pdf")
    assert ok, why
    browser = chromium.Browser.start()
    try:
        for name in ("ahead.pdf", "again.pdf"):  # the same Chromium prints more than once
            browser.print_pdf(html, tmp_path / name)
    finally:
        browser.close()
    expected = pdf_facts(tmp_path / "cli.pdf")
    assert expected[0] == [(0, 0, 595, 842)] * 2  # A4, from the page's own @page rule
    assert "ward value, 95% interval" in expected[1][0]
    assert pdf_facts(tmp_path / "ahead.pdf") == expected == pdf_facts(tmp_path / "again.pdf")
    assert not browser.alive()
    assert not list(tmp_path.glob(".*.tmp"))  # each PDF whole, written by rename


def test_the_report_prints_with_its_own_chromium_when_the_one_started_ahead_has_gone(tmp_path):
    html = a_page(tmp_path)
    browser = chromium.Browser.start()
    browser.process.kill()
    browser.process.wait(timeout=30)
    try:
        ok, why, printed_by = page.print_pdf(html, tmp_path / "report.pdf", browser)
    finally:
        browser.close()
    assert (ok, why, printed_by) == (True, "", "chromium")
    assert pdf_facts(tmp_path / "report.pdf")[0] == [(0, 0, 595, 842)] * 2
    # one that answers nothing in time counts as gone too
    stuck = chromium.Browser.start()
    try:
        stuck.process.send_signal(signal.SIGSTOP)
        with pytest.raises(chromium.BrowserError, match="in time"):
            stuck.print_pdf(html, tmp_path / "stuck.pdf", timeout=2)
        assert not (tmp_path / "stuck.pdf").exists()
    finally:
        stuck.process.send_signal(signal.SIGCONT)
        stuck.close()


def test_a_page_whose_charts_are_images_prints_them_as_drawings(tmp_path):
    html = a_page(tmp_path)
    text = html.read_text(encoding="utf-8")
    copy = page.charts_as_images(text)
    (data,) = [part.split('"')[0] for part in copy.split("data:image/svg+xml;base64,")[1:]]
    assert "<svg" not in copy and base64.b64decode(data).decode("utf-8") == SVG
    ok, why, _ = page.print_pdf(html, tmp_path / "report.pdf")
    assert ok, why
    boxes, texts, images = pdf_facts(tmp_path / "report.pdf")
    assert images == 0 and "ward value, 95% interval" in texts[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html", "report.pdf"]


STARTER = """
import json, sys, time
from marmot_assets.publish.report import chromium, drawing
browser = chromium.Browser.start()
pool = drawing.start_pool(1, nice=10)
pool.submit(drawing.ready).result(timeout=120)
print(json.dumps({"browser": browser.process.pid, "drawing": list(pool._processes)}), flush=True)
time.sleep(600)
"""


def test_they_end_by_themselves_when_the_run_that_started_them_is_killed_outright(tmp_path):
    starter = subprocess.Popen(
        [sys.executable, "-c", STARTER], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        started = json.loads(starter.stdout.readline())
        pids = [started["browser"], *started["drawing"]]
        assert len(pids) == 2 and all(pid_alive(pid) for pid in pids)
        # its renderers and helpers: every process of that Chromium's profile
        profile = _profile_of(started["browser"])
        assert profile and len(_processes_with(profile)) > 1
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and (
            any(pid_alive(pid) for pid in pids) or _processes_with(profile)
        ):
            time.sleep(0.2)
        assert not [pid for pid in pids if pid_alive(pid)]
        assert not _processes_with(profile)
    finally:
        if starter.poll() is None:
            starter.kill()


def _profile_of(pid: int) -> str | None:
    args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    for arg in args:
        if arg.startswith(b"--user-data-dir="):
            return arg.split(b"=", 1)[1].decode()
    return None


def _processes_with(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if text.encode() in (entry / "cmdline").read_bytes() and pid_alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_the_resource_starts_them_only_when_asked_once_and_ends_them(monkeypatch):
    import dagster as dg

    from marmot_assets.publish.report.ahead import ReportAheadResource

    resource = ReportAheadResource()
    with dg.build_init_resource_context() as context:
        resource.setup_for_execution(context)
    assert resource.pool() is None and resource.browser() is None  # a run without dbt yet
    resource.start()
    pool, browser = resource.pool(), resource.browser()
    try:
        assert browser is not None and browser.alive()
        if os.cpu_count() and os.cpu_count() > 1:
            assert pool is not None
        resource.start()  # once a run
        assert resource.pool() is pool and resource.browser() is browser
    finally:
        resource.teardown_after_execution(None)
    assert not browser.alive()
    off = ReportAheadResource()
    monkeypatch.setenv("MARMOT_REPORT_AHEAD", "0")
    with dg.build_init_resource_context() as context:
        off.setup_for_execution(context)
    off.start()
    assert off.pool() is None and off.browser() is None
    off.teardown_after_execution(None)


def test_the_resource_imports_the_reports_modules_while_dbt_runs():
    # in a process of its own: this one has imported the report's modules already
    script = """
import sys, dagster as dg
from marmot_assets.publish.report.ahead import ReportAheadResource
PAGE = "marmot_assets.publish.report.page"
resource = ReportAheadResource()
with dg.build_init_resource_context() as context:
    resource.setup_for_execution(context)
before = PAGE in sys.modules
resource.start()
resource._imported.join(timeout=60)
print(before, PAGE in sys.modules, "matplotlib.figure" in sys.modules)
resource.teardown_after_execution(None)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.split() == ["False", "True", "True"], out.stderr


def _latest_release(home: Path) -> Path:
    from marmot_assets.publish import releases as rel

    return rel.releases_dir(home) / rel.release_ids(home)[-1]


def test_charts_drawn_ahead_are_the_reports_own_and_stop_when_asked(
    demo_refresh, tmp_path, monkeypatch
):
    """charts.draw_ahead draws the charts the report of that release asks for, first to last,
    stops at the stop file, and a second call draws only those not kept; the report then
    draws none of its own."""
    from marmot_assets.publish.report import charts

    source = _latest_release(demo_refresh["home"]) / "marmot.duckdb"
    folder, stop = tmp_path / "charts", tmp_path / "stop"
    real_keep = charts._keep

    def keep(where, name, svg):  # the stop file appears after the third chart
        real_keep(where, name, svg)
        if len(list(where.glob("*.svg"))) == 3:
            stop.touch()

    monkeypatch.setattr(charts, "_keep", keep)
    assert charts.draw_ahead(source, folder, stop, page.render_html) == 3
    monkeypatch.setattr(charts, "_keep", real_keep)
    stop.unlink()
    rest = charts.draw_ahead(source, folder, stop, page.render_html)
    drawn_ahead = {p.name for p in folder.glob("*.svg")}
    assert rest > 20 and len(drawn_ahead) == rest + 3

    drawn_by_the_report = []
    real_to_svg = charts.to_svg
    monkeypatch.setattr(
        charts,
        "to_svg",
        lambda fig, salt: drawn_by_the_report.append(salt) or real_to_svg(fig, salt),
    )
    with charts.drawn_in(folder):
        page.render_html(source)
    assert drawn_by_the_report == []  # every chart it asked for was kept
    assert {p.name for p in folder.glob("*.svg")} == drawn_ahead  # and it used every one


def test_drawing_ahead_never_holds_the_staged_release(demo_refresh, tmp_path):
    """The resource draws from a copy: the staged file can be opened to write at once (as the
    publication does), and stopping returns how many charts were drawn."""
    import shutil

    import duckdb

    from marmot_assets.publish.report.ahead import ReportAheadResource

    release = _latest_release(demo_refresh["home"])
    staged = tmp_path / "staged" / "marmot.duckdb"
    staged.parent.mkdir()
    shutil.copyfile(release / "marmot.duckdb", staged)
    with duckdb.connect(str(staged)) as con:
        con.execute("drop table release_manifest")  # as staged: the publication adds it
    pending = json.loads((release / "manifest.json").read_text())
    home = tmp_path / "home"
    home.mkdir()
    resource = ReportAheadResource()
    resource.setup_for_execution(None)
    resource.start()
    try:
        assert resource.pool() is not None
        assert resource.draw_ahead(staged, home, pending)
        with duckdb.connect(str(staged)) as con:  # not held by the drawing processes
            con.execute("create table written_by_the_publication as select 1 as x")
        time.sleep(3)
        drawn = resource.stop_drawing_ahead()
        assert isinstance(drawn, int) and drawn > 0, drawn
        kept = list((home / "reports" / ".charts").glob("*.svg"))
        assert len(kept) >= drawn
        assert not list((home / "reports").glob(".draw-ahead-*"))  # its copy removed
        assert resource.stop_drawing_ahead() == "not asked"
        # drawn from the copy (its manifest not yet the release's), they are the charts the
        # report of the release takes as kept: it draws only the others
        from marmot_assets.publish.report import charts

        own, real_to_svg = [], charts.to_svg

        def to_svg(fig, salt):
            own.append(salt)
            return real_to_svg(fig, salt)

        charts.to_svg = to_svg
        try:
            with charts.drawn_in(home / "reports" / ".charts"):
                page.render_html(release / "marmot.duckdb")
        finally:
            charts.to_svg = real_to_svg
        assert len(own) + drawn == len(list((home / "reports" / ".charts").glob("*.svg")))
    finally:
        resource.teardown_after_execution(None)


def test_what_starters_killed_outright_left_is_swept_once_stale(tmp_path, monkeypatch):
    """A Chromium profile folder (or a staged release's copy for drawing ahead) left by a
    process killed outright is removed by the next one once stale; a fresh one, in use by a
    Chromium that may still be printing, is left."""
    import tempfile

    from marmot_assets.publish.report import ahead

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"{chromium.PROFILE_PREFIX}killed"
    fresh = tmp_path / f"{chromium.PROFILE_PREFIX}printing"
    other = tmp_path / "someone-elses-folder"
    for folder in (stale, fresh, other):
        (folder / "Default").mkdir(parents=True)
    old = time.time() - chromium.STALE_PROFILE_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    assert chromium.sweep_stale_profiles() == 1
    assert not stale.exists() and fresh.exists() and other.exists()

    reports = tmp_path / "reports"
    left = reports / f"{ahead.AHEAD_PREFIX}killed"
    recent = reports / f"{ahead.AHEAD_PREFIX}running"
    for folder in (left, recent):
        folder.mkdir(parents=True)
    old = time.time() - ahead.STALE_AHEAD_SECONDS - 60
    os.utime(left, (old, old))
    ahead._sweep(reports)
    assert not left.exists() and recent.exists()
