"""The report's processes started ahead: the run that will draw a report starts, at its
beginning, the processes that draw its charts and the Chromium that prints its PDF.

Started when the report step comes, they cost the report ~2 s each time: the drawing
processes import matplotlib (~1 s), Chromium starts and ends (~0.9 s). Started with the run
(Dagster sets up a resource only for the runs with a step that uses it), they get ready while
the run ingests and builds, at a lower priority (the drawing processes at nice 10; Chromium
starting is mostly waiting), and are there when the release is published. They hold no lock
and read nothing until the report asks; they end at the run's end, and by themselves soon
after the run's process, however it ends. If either is missing or fails, the report starts
its own (``page.render_report``): the report never depends on them.
"""

from __future__ import annotations

import contextlib

import dagster as dg
from pydantic import PrivateAttr

NICENESS = 10  # as the dbt process started ahead: the run's steps come first


class ReportAheadResource(dg.ConfigurableResource):
    """The chart-drawing processes and the Chromium of the run's report (see the module)."""

    in_own_process: bool = True
    _pool = PrivateAttr(default=None)
    _browser = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if not self.in_own_process:
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
