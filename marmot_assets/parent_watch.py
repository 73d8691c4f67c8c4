"""A helper process that ends soon after the process that started it is gone, and the
folders such processes leave when they are killed outright, removed once stale.

Only the standard library: the chart-drawing processes (``publish/report/drawing.py``) and the
run's helper pools (``instance/processes.py``) both use it, and a drawing process must not
import Dagster (``marmot_assets.instance`` does) to watch its parent.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path


def end_with_parent(parent: int, interval: float = 1.0) -> None:
    """From now on, this process ends (``os._exit(0)``) within ``interval`` seconds of its
    parent ``parent`` being gone: killed outright, the parent runs no clean-up, and its
    helpers would otherwise wait, idle, forever."""
    threading.Thread(target=_watch, args=(parent, interval), daemon=True).start()


def _watch(parent: int, interval: float) -> None:
    while os.getppid() == parent:
        time.sleep(interval)
    os._exit(0)


def remove_stale_folders(parent: Path, prefix: str, max_age_seconds: float) -> int:
    """Remove this user's folders ``parent/<prefix>*`` not changed for ``max_age_seconds``
    (left by processes killed outright: their clean-up never ran); how many were removed.
    Another user's, or one that vanishes meanwhile, is left alone."""
    removed = 0
    for folder in parent.glob(prefix + "*"):
        try:
            info = folder.lstat()
        except OSError:
            continue
        if (
            folder.is_dir()
            and not folder.is_symlink()
            and info.st_uid == os.getuid()
            and time.time() - info.st_mtime > max_age_seconds
        ):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
