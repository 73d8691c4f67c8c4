"""The dbt project and its manifest.

The manifest is prepared ahead of loading the code location (``marmot prepare``, run by
``make``), so loading never runs ``dbt parse``; under ``dagster dev`` it is re-prepared when
the project changes (``prepare_if_dev``).
"""

from __future__ import annotations

import functools
import os
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from marmot_assets.config import DBT_PROJECT_DIR, get_settings


def dbt_environment() -> None:
    """dbt's profile reads MARMOT_HOME: give it the resolved, absolute one. dagster-dbt finds
    `dbt` on PATH (prepare_if_dev does too), so put this environment's bin folder first even
    when the virtualenv was not activated (make calls .venv/bin/... directly)."""
    os.environ["MARMOT_HOME"] = str(get_settings().home)
    bin_dir = str(Path(sys.prefix) / "bin")
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


@functools.cache
def dbt_project() -> DbtProject:
    dbt_environment()
    project = DbtProject(project_dir=DBT_PROJECT_DIR)
    project.prepare_if_dev()
    if not project.manifest_path.is_file():
        raise FileNotFoundError(
            f"dbt manifest {project.manifest_path} is missing: run `marmot prepare` "
            "(or `make prepare`) before loading the code location."
        )
    return project
