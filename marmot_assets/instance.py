"""The Dagster instance: DAGSTER_HOME (default $MARMOT_HOME/dagster) with our dagster.yaml."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from marmot_assets.config import PACKAGE_DIR, get_settings


def ensure_dagster_home() -> Path:
    """Create DAGSTER_HOME if needed, with the concurrency pool config, and export it."""
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        shutil.copyfile(PACKAGE_DIR / "dagster.yaml", config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
