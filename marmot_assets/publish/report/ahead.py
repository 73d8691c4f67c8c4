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
"""

from __future__ import annotations

import contextlib
import os

import dagster as dg
from pydantic import PrivateAttr

NICENESS = 10  # as the dbt process started ahead: the run's steps come first
REPORT = dg.AssetKey(["publication", "report"])


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

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._started = False

    def start(self) -> None:
        """Start them now (once a run; nothing with MARMOT_REPORT_AHEAD=0)."""
        if self._started or not self.in_own_process:
            return
        self._started = True
        if os.environ.get("MARMOT_REPORT_AHEAD", "1") == "0":
            return
        # not the report's modules: this process imports matplotlib when it draws, if ever
        from marmot_assets.publish.report import chromium, drawing

        workers = drawing.report_workers()
        if workers > 1:
            with contextlib.suppress(OSError):  # none to be had: the report starts its own
                self._pool = drawing.start_pool(workers - 1, nice=NICENESS)
        try:
            self._browser = chromium.Browser.start()
        except chromium.BrowserError:  # the report says why, printing with its own
            self._browser = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        from marmot_assets.instance.processes import stop_pool

        pool, self._pool = self._pool, None
        browser, self._browser = self._browser, None
        if pool is not None:
            stop_pool(pool)
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
