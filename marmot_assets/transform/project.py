"""The dbt project and its manifest.

The manifest is prepared ahead of loading the code location (``marmot prepare``, run by
``make``), so loading never runs ``dbt parse``; under ``dagster dev`` it is re-prepared when
the project changes (``prepare_if_dev``).
"""

from __future__ import annotations

import functools
import os

from dagster_dbt import DbtProject

from marmot_assets.config import DBT_PROJECT_DIR, get_settings


def dbt_environment() -> None:
    """dbt's profile reads MARMOT_HOME: give it the resolved, absolute one."""
    os.environ["MARMOT_HOME"] = str(get_settings().home)


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
