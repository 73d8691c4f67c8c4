"""The processes that draw the report's charts (``charts.drawn_together``), in a module that
imports neither matplotlib nor the report: a run starts them with its resources
(``ahead.ReportAheadResource``), and its own process should not pay for matplotlib then."""

from __future__ import annotations

import os
from pathlib import Path

CHARTS_FOLDER = ".charts"  # under $MARMOT_HOME/reports: charts kept between reports


def kept_charts(home: Path) -> Path:
    """The folder of the charts kept between reports (charts.drawn_in)."""
    return home / "reports" / CHARTS_FOLDER


def report_workers() -> int:
    """Processes drawing a report's charts, this one included: MARMOT_REPORT_WORKERS, else
    one a core (at most 4: ~90 charts)."""
    from marmot_assets.config import get_settings

    return get_settings().report_workers or min(os.cpu_count() or 1, 4)


def start_pool(size: int, nice: int = 0):
    """``size`` processes to draw charts, started now (they import matplotlib at once, at
    ``nice``: started ahead, they keep out of the way of the run's other work). Each ends
    soon after the process that started it is gone, however it went."""
    import concurrent.futures
    import multiprocessing

    # spawn, not fork: the run worker that draws the report has threads of its own
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=size,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_drawing,
        initargs=(os.getpid(), nice),
    )
    for _ in range(size):
        pool.submit(ready)  # start the processes now
    return pool


def ready() -> str:
    """In a drawing process: the charts' module imported (matplotlib with it)."""
    import matplotlib

    import marmot_assets.publish.report.charts  # noqa: F401

    return matplotlib.__version__


def draw_ahead(source: str, folder: str, stop: str) -> int:
    """In a drawing process: the charts of the report of release file ``source`` drawn into
    ``folder`` (the report's kept charts), first to last, until the file ``stop`` exists;
    how many were drawn (see ``ahead.ReportAheadResource.draw_ahead``)."""
    from marmot_assets.publish.report import charts
    from marmot_assets.publish.report.page import render_html

    return charts.draw_ahead(Path(source), Path(folder), Path(stop), render_html)


def _start_drawing(parent: int, nice: int) -> None:
    from marmot_assets.parent_watch import end_with_parent

    if nice:
        os.nice(nice)
    end_with_parent(parent)
