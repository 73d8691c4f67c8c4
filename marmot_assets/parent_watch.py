"""A helper process that ends soon after the process that started it is gone.

Only the standard library: the chart-drawing processes (``publish/report/drawing.py``) and the
run's helper pools (``instance/processes.py``) both use it, and a drawing process must not
import Dagster (``marmot_assets.instance`` does) to watch its parent.
"""

from __future__ import annotations

import os
import threading
import time


def end_with_parent(parent: int, interval: float = 1.0) -> None:
    """From now on, this process ends (``os._exit(0)``) within ``interval`` seconds of its
    parent ``parent`` being gone: killed outright, the parent runs no clean-up, and its
    helpers would otherwise wait, idle, forever."""
    threading.Thread(target=_watch, args=(parent, interval), daemon=True).start()


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)
