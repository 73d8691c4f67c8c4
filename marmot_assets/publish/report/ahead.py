"""The report's processes started ahead: the processes that draw its charts and the Chromium
that prints its PDF, started while the run's dbt step runs.

Started when the report step comes, they cost the report ~2 s each time: the drawing
processes import matplotlib (~1 s), Chromium starts and ends (~0.9 s). The dbt step starts
them as dbt begins, when its run will draw a report (``draws_report``): dbt runs in a process
of its own and the run's process mostly waits, so a core is mostly idle then (started with
the run instead, they contended with the ingestion, which keeps both cores busy, and the
refresh was no faster). The drawing processes run at nice 10. They hold no lock and read
nothing until the report asks; they end at the run's end, and by themselves soon after the
run's process, however it ends. If either is missing or fails, the report starts its own
(``page.render_report``): the report never depends on them. MARMOT_REPORT_AHEAD=0 turns
them off.

Once the release is staged, the drawing processes also draw its charts from a copy of it
(``draw_ahead``) while its audits and its publication run, ~1.5 s in which the report cannot
start; the report stops them as it begins and finds those charts kept.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import shutil
import tempfile
import threading
from pathlib import Path

import dagster as dg
from pydantic import PrivateAttr

AHEAD_PREFIX = ".draw-ahead-"  # under $MARMOT_HOME/reports: a staged release's copy
# Left by a run killed outright; older than this, no run's drawing ahead still reads it.
STALE_AHEAD_SECONDS = 600
NICENESS = 10  # as the dbt process started ahead: the run's steps come first
REPORT = dg.AssetKey(["publication", "report"])


def _import_report() -> None:
    with contextlib.suppress(Exception):
        import marmot_assets.publish.report.page  # noqa: F401


def draws_report(context: dg.AssetExecutionContext) -> bool:
    """Whether the step's run will draw the report (it is among the run's assets)."""
    selection = context.run.asset_selection
    if selection is not None:
        return REPORT in selection
    return REPORT in context.job_def.asset_layer.selected_asset_keys


class ReportAheadResource(dg.ConfigurableResource):
    """The chart-drawing processes and the Chromium of the run's report (see the module)."""

    in_own_process: bool = True
    _pool = PrivateAttr(default=None)
    _browser = PrivateAttr(default=None)
    _started: bool = PrivateAttr(default=False)
    _ahead = PrivateAttr(default=None)  # (future, stop file, folder) of draw_ahead
    _leftover: list = PrivateAttr(default_factory=list)
    _imported: threading.Thread | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._started, self._ahead = False, None

    def start(self) -> None:
        """Start them now (once a run; nothing with MARMOT_REPORT_AHEAD=0)."""
        if self._started or not self.in_own_process:
            return
        self._started = True
        if os.environ.get("MARMOT_REPORT_AHEAD", "1") == "0":
            return
        from marmot_assets.publish.report import chromium, drawing

        # The report's own modules (matplotlib, jinja2: ~1 s) imported in this process while
        # it mostly waits for dbt, not when the report step begins: a thread, as imports are
        # CPU in this process only. If it fails, the report step's import says why.
        self._imported = threading.Thread(
            target=_import_report, name="marmot-report-import", daemon=True
        )
        self._imported.start()

        workers = drawing.report_workers()
        if workers > 1:
            with contextlib.suppress(OSError):  # none to be had: the report starts its own
                self._pool = drawing.start_pool(workers - 1, nice=NICENESS)
        try:
            self._browser = chromium.Browser.start()
        except chromium.BrowserError:  # the report says why, printing with its own
            self._browser = None

    def draw_ahead(self, staged_file: Path, home: Path, pending: dict) -> bool:
        """Have the drawing processes draw the charts of the release just staged, while its
        audits and its publication run (~1.5 s in which the report cannot yet start); the
        report then finds them kept (``charts.drawn_in``) when its values are the release's.

        They draw from a copy of the staged file, so that no process of theirs holds it when
        the publication opens it to write (DuckDB: one writer or readers, never both), given
        the manifest the publication will write (``pending``, not yet released: the charts
        draw only the tables' values). The report stops them first (``stop_drawing_ahead``).
        True when they were asked."""
        pool = self.pool()
        if pool is None or self._ahead is not None:
            return False
        from marmot_assets.publish.report import drawing

        reports = home / "reports"
        reports.mkdir(parents=True, exist_ok=True)
        _sweep(reports)
        folder = Path(tempfile.mkdtemp(prefix=AHEAD_PREFIX, dir=reports))
        try:
            copy = folder / staged_file.name
            shutil.copyfile(staged_file, copy)
            _as_released(copy, pending)
            stop = folder / "stop"
            future = pool.submit(
                drawing.draw_ahead, str(copy), str(drawing.kept_charts(home)), str(stop)
            )
        except Exception:  # a pool lost or a file gone: the report draws them all itself
            shutil.rmtree(folder, ignore_errors=True)
            return False
        self._ahead = (future, stop, folder)
        return True

    def stop_drawing_ahead(self, wait_seconds: float = 5.0) -> int | str:
        """Stop the drawing ahead (after the chart it is drawing) and wait for it: how many
        charts it drew, or why none (not asked, failed, or still drawing after
        ``wait_seconds``)."""
        ahead, self._ahead = self._ahead, None
        if ahead is None:
            return "not asked"
        future, stop, folder = ahead
        stop.touch()
        try:
            if future.cancel():
                return 0
            return future.result(timeout=wait_seconds)
        except (Exception, concurrent.futures.CancelledError) as exc:
            return f"none: {type(exc).__name__}: {exc}"[:300]
        finally:
            if future.done():  # else its stop file stays until it has seen it (teardown)
                shutil.rmtree(folder, ignore_errors=True)
            else:
                self._leftover.append(folder)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        from marmot_assets.instance.processes import stop_pool

        self.stop_drawing_ahead(wait_seconds=1.0)

        pool, self._pool = self._pool, None
        browser, self._browser = self._browser, None
        if pool is not None:
            stop_pool(pool)
        for folder in self._leftover:  # its process has ended with the pool
            shutil.rmtree(folder, ignore_errors=True)
        self._leftover = []
        if browser is not None:
            browser.close()

    def pool(self):
        """The drawing processes, if they are still there."""
        pool = self._pool
        if pool is None or getattr(pool, "_broken", False):
            return None
        return pool

    def browser(self):
        """The Chromium, if it is still running."""
        browser = self._browser
        return browser if browser is not None and browser.alive() else None


def _as_released(copy: Path, pending: dict) -> None:
    """The copy of a staged release with the manifest table its publication adds."""
    import datetime as dt

    import duckdb

    from marmot_assets.publish.build import write_manifest_table

    manifest = {**pending, "released_at": dt.datetime.now(dt.UTC), "checks_passed": []}
    with duckdb.connect(str(copy)) as con:
        write_manifest_table(con, manifest)


def _sweep(reports: Path) -> None:
    """The copies that runs killed outright left behind (their teardown never ran)."""
    from marmot_assets.parent_watch import remove_stale_folders

    remove_stale_folders(reports, AHEAD_PREFIX, STALE_AHEAD_SECONDS)
