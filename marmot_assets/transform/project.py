"""The dbt project, its manifest, and how dbt is invoked: the one place for all three.

- ``dbt_executable`` and ``dbt_environment``: every dbt invocation (the Dagster resource,
  dagster-dbt's own preparer, ``marmot prepare``) runs this environment's ``dbt`` with the
  resolved, absolute MARMOT_HOME that the profile reads.
- ``prepare_manifest``: the manifest is prepared ahead of loading the code location
  (``marmot prepare``, run by ``make``) by dagster-dbt's preparer (``dbt parse``), with the
  data tests' SQL compiled into it (``data_tests.compile_tests``), so loading never runs
  dbt; under ``dagster dev`` it is prepared again, the same way, when the project's files
  are not those it was prepared from (``data_tests.project_digest``).
- ``run_target_path``: each dbt run writes what it keeps (compiled SQL, its parse state; no
  JSON artifacts or debug log, see ``DBT_QUIET_FLAGS``) to its own folder
  under ``$MARMOT_HOME/dbt/target``, beside the warehouse it
  built; only the newest ``KEEP_RUN_TARGETS`` are kept. The prepared manifest stays in
  ``dbt_project/target``, where the code location loads it.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from marmot_assets.config import DBT_PROJECT_DIR, get_settings

if TYPE_CHECKING:  # dagster-dbt (and dbt) only when a project is made: the process that
    # warms dbt up (transform.warm) seeds its parse state from here without importing Dagster
    from dagster_dbt import DbtProject

# This environment's scripts folder: its `dbt`, whether or not the virtualenv was activated
# (make calls .venv/bin/... directly).
BIN_DIR = Path(sys.prefix) / "bin"
# Per-run artifact folders kept under $MARMOT_HOME/dbt/target (10-20 MB each).
KEEP_RUN_TARGETS = 3

# What dbt writes beside its run that nobody reads: its debug log file (~8 MB, 6,000 JSON
# lines a build) and its JSON artifacts (manifest.json twice, semantic_manifest.json,
# run_results.json, graph.gpickle). Together ~1.4 s of each dbt step on one core. Every
# node's result, timing and failure reaches Dagster's event log from dbt's own output
# (dagster-dbt streams it), which is where engineers read them; the compiled SQL and the
# partial-parse state are still written.
DBT_QUIET_FLAGS = ("--log-level-file", "none", "--no-write-json")


def dbt_executable() -> str:
    """The dbt every invocation runs: this environment's, else the one on PATH."""
    dbt = BIN_DIR / "dbt"
    return str(dbt) if dbt.exists() else "dbt"


def dbt_environment() -> Path:
    """Set up the environment dbt runs in, and return MARMOT_HOME.

    dbt's profile reads MARMOT_HOME: export the resolved, absolute one (created if need be);
    step processes and dbt inherit it. dagster-dbt's preparer finds `dbt` on PATH, so this
    environment's bin folder goes first, making it the same dbt as ``dbt_executable``.

    The Python models that simulate (int_inequality_sii_limits) draw their groups on every
    core with threads of their own; OpenBLAS's threads inside each of those only contend
    for the same cores (the simulation was no faster on two threads), so dbt's BLAS keeps
    to one thread unless the environment says otherwise."""
    home = get_settings().home
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["MARMOT_HOME"] = str(home)
    path = os.environ.get("PATH", "")
    if str(BIN_DIR) not in path.split(os.pathsep):
        os.environ["PATH"] = str(BIN_DIR) + (os.pathsep + path if path else "")
    return home


def _new_project() -> DbtProject:
    from dagster_dbt import DbtProject

    return DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def prepare_manifest() -> Path:
    """Prepare the manifest the code location loads (dagster-dbt's preparer: ``dbt parse``);
    ``marmot prepare``. Returns its path."""
    from marmot_assets.transform.data_tests import compile_tests

    dbt_environment()
    project = _new_project()
    project.preparer.prepare(project)
    # and the data tests' SQL, which the dbt step runs itself (transform/data_tests.py)
    compile_tests(project.manifest_path, dbt_executable())
    return project.manifest_path


@functools.cache
def dbt_project() -> DbtProject:
    """The project, from the prepared manifest (re-prepared under ``dagster dev`` only)."""
    dbt_environment()
    project = _new_project()
    # Under `dagster dev` dagster-dbt's preparer parses the project at every load (and its
    # `dbt parse` leaves out the tests' compiled SQL): here it is prepared again, whole, only
    # when the project's files are not the ones the manifest was prepared from.
    if project.preparer.using_dagster_dev() and not _prepared_from_these_files(project):
        prepare_manifest()
    if not project.manifest_path.is_file():
        raise FileNotFoundError(
            f"dbt manifest {project.manifest_path} is missing: run `marmot prepare` "
            "(or `make prepare`) before loading the code location."
        )
    return project


def _prepared_from_these_files(project: DbtProject) -> bool:
    import json

    from marmot_assets.transform.data_tests import DIGEST_KEY, project_digest

    try:
        manifest = json.loads(project.manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return manifest.get("metadata", {}).get(DIGEST_KEY) == project_digest()


def run_target_path(name: str) -> Path:
    """A new folder for one dbt run's artifacts, ``$MARMOT_HOME/dbt/target/<time>-<name>-<id>``.

    Folders of earlier runs beyond the newest ``KEEP_RUN_TARGETS - 1`` are removed first, so
    with this one at most ``KEEP_RUN_TARGETS`` remain. Names start with the UTC time, so
    they sort oldest first."""
    root = dbt_environment() / "dbt" / "target"
    root.mkdir(parents=True, exist_ok=True)
    earlier = sorted(p for p in root.iterdir() if p.is_dir())
    for old in earlier[: max(len(earlier) - (KEEP_RUN_TARGETS - 1), 0)]:
        shutil.rmtree(old, ignore_errors=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return root / f"{stamp}-{name}-{uuid.uuid4().hex[:7]}"


# dbt's partial parse is keyed to the profile, and the profile's one setting that differs from
# home to home is the warehouse's path (under MARMOT_HOME). A parse state made for another
# path (the prepared dbt_project/target/partial_parse.msgpack, a copied home's) does not fit
# ("profile has changed") and dbt parses the whole project again (~3.5-7 s). Each home keeps
# its last run's parse state, and beside it the warehouse it was made for, and gives it to the
# next run; a state made for another warehouse (a home without one of its own starts from the
# prepared state) is given this home's profile hash first (``fit_to_home``, ~0.5 s).
PARSE_STATE = "partial_parse.msgpack"
MADE_FOR = "partial_parse.warehouse"


def seed_partial_parse(target: Path) -> None:
    kept = dbt_environment() / "dbt" / PARSE_STATE
    prepared = DBT_PROJECT_DIR / "target" / PARSE_STATE
    state = kept if kept.is_file() else prepared
    if not state.is_file():
        return
    target.mkdir(parents=True, exist_ok=True)
    made_for = kept.with_name(MADE_FOR)
    if state == kept and made_for.is_file() and made_for.read_bytes() == _warehouse().encode():
        shutil.copyfile(kept, target / PARSE_STATE)  # this home's own: it fits as it is
    else:
        fit_to_home(state, target / PARSE_STATE)


def _warehouse() -> str:
    return str(get_settings().warehouse_path)


def profile_hash(warehouse: Path) -> dict:
    """dbt's hash of the profile (``ManifestLoader.build_manifest_state_check``: the sorted
    connection info of its credentials) for the profile in profiles.yml on ``warehouse``."""
    import pprint

    from dbt.adapters.duckdb.credentials import DuckDBCredentials
    from dbt.contracts.files import FileHash

    credentials = DuckDBCredentials.from_dict({"path": str(warehouse)})
    return FileHash.from_contents(pprint.pformat(sorted(credentials.connection_info()))).to_dict()


def fit_to_home(state: Path, out: Path) -> None:
    """``state`` written to ``out`` with the profile hash of this home's warehouse, so dbt
    takes it up. If the hash is not the one dbt computes, dbt says so and parses everything,
    as it would have anyway: a wrong guess costs time, never a wrong manifest (dbt checks
    every file's checksum against the state before it uses any of it)."""
    try:  # dbt's own (de)serialisers of the state: its dates and times are extension types
        from dbt.parser.manifest import extended_mashumaro_encoder, extended_mashumuro_decoder

        parsed = extended_mashumuro_decoder(state.read_bytes())
        parsed["state_check"]["profile_hash"] = profile_hash(get_settings().warehouse_path)
        data = extended_mashumaro_encoder(parsed)
    except Exception:  # a state (or a dbt) of another making: dbt judges the state as it is
        data = state.read_bytes()
    write_whole(out, data)


def write_whole(path: Path, data: bytes) -> None:
    """``path`` holds ``data`` whole, or what it held before: never half of it."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def keep_partial_parse(target: Path) -> None:
    fresh = target / PARSE_STATE
    if fresh.is_file():
        kept = dbt_environment() / "dbt" / PARSE_STATE
        write_whole(kept, fresh.read_bytes())
        # dbt wrote it for this home's warehouse (a copied home's note names the original's)
        write_whole(kept.with_name(MADE_FOR), _warehouse().encode())
