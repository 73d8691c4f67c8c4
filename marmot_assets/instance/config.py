"""The instance's configuration: DAGSTER_HOME with our dagster.yaml, upgraded in place."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from marmot_assets.config import PACKAGE_DIR, get_settings

CONFIG_TEMPLATE = PACKAGE_DIR / "dagster.yaml"


Say = Callable[[str], None]


def say_to_stderr(message: str) -> None:
    print(f"marmot: {message}", file=sys.stderr, flush=True)


def ensure_dagster_home() -> Path:
    """Create DAGSTER_HOME if needed, with our dagster.yaml (or the keys it lacks), export it."""
    home = Path(os.environ.get("DAGSTER_HOME") or get_settings().dagster_home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    upgrade_instance_config(home / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _add_missing(current: dict, required: dict) -> bool:
    """Add to ``current`` every key of ``required`` it lacks (recursively); keep its values."""
    changed = False
    for key, value in required.items():
        if current.get(key) is None:
            current[key] = value
            changed = True
        elif isinstance(value, dict) and isinstance(current[key], dict):
            changed |= _add_missing(current[key], value)
    return changed


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def upgrade_instance_config(config: Path) -> bool:
    """Write the template when ``config`` is missing; else add the settings it lacks (an
    instance made by an older version has no run monitoring), keeping all the user's own.
    The previous file is kept as ``dagster.yaml.bak``. Returns whether the file changed."""
    template = CONFIG_TEMPLATE.read_text(encoding="utf-8")
    if not config.exists():
        _write_atomically(config, template)
        return True
    current = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    if not isinstance(current, dict):
        raise ValueError(f"{config} is not a YAML mapping: fix or remove it")
    if not _add_missing(current, yaml.safe_load(template)):
        return False
    shutil.copyfile(config, config.with_name(config.name + ".bak"))
    _write_atomically(
        config,
        "# Settings marmot needs were added to this file (the previous one is dagster.yaml.bak);\n"
        "# see marmot_assets/dagster.yaml for what each is for.\n"
        + yaml.safe_dump(current, sort_keys=False),
    )
    return True


# Run tags written by `marmot run`: who runs the run, and the token its child processes carry.
HOST_TAG = "marmot/host"


PID_TAG = "marmot/pid"


PID_STARTED_TAG = "marmot/pid_started"


TOKEN_TAG = "marmot/run_token"


TOKEN_ENV = "MARMOT_RUN_TOKEN"
