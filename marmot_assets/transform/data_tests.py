"""dbt's data tests run by the dbt step itself, on the SQL dbt compiled for them ahead.

In `dbt build` each of the ~210 tests of a refresh costs dbt ~20 ms (compiling it, its test
materialisation, its result), ~4.3 s of a dbt step of ~12 s, for queries DuckDB answers in
a millisecond or two. So ``marmot prepare`` has dbt compile every test (``compile_tests``:
``dbt compile``, in a throwaway home, so that no warehouse is opened) and writes the SQL into
the prepared manifest, with a digest of the project's files. The dbt step then has dbt build
the models, seeds and snapshot alone, and once dbt has let go of the warehouse runs the tests
of the selected checks on one read-only connection, as dbt's test materialisation does
(``fail_calc``, ``warn_if``, ``error_if`` and ``severity`` from each test's config), giving
the same asset checks (keys as dagster-dbt names them, its metadata) that dagster-dbt gives
from dbt's output. A failing error-severity test fails the step, as `dbt build`'s exit code
does, so nothing downstream of it in the run (the release) goes ahead.

What differs from `dbt build`: dbt would skip the models downstream of a failing test; here
they are built (in the warehouse only: the release is not made from them, as above).

dbt runs its own tests, as before, whenever the compiled SQL cannot be trusted: a manifest
without it (``dbt parse`` alone, as dagster-dbt's own preparer makes it), project files changed
since it was compiled, or MARMOT_DBT_TESTS=dbt; and always a test whose SQL is made from what
the warehouse holds when dbt compiles it (``reads_warehouse_to_compile``: one here, the
disclosure audit of every published table, which reads their columns).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from marmot_assets.config import DBT_PROJECT_DIR

DIGEST_KEY = "marmot_project_digest"  # in the manifest's metadata
# What dbt reads of the project (its target and logs are its output).
PROJECT_PARTS = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml")
PROJECT_FOLDERS = ("models", "macros", "tests", "seeds", "snapshots", "analyses")


def project_digest(project_dir: Path = DBT_PROJECT_DIR) -> str:
    """SHA-256 over the project's files (names and bytes): what the compiled SQL came from."""
    digest = hashlib.sha256()
    files = [project_dir / name for name in PROJECT_PARTS]
    for folder in PROJECT_FOLDERS:
        files.extend(sorted((project_dir / folder).rglob("*")))
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(project_dir)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def compile_tests(manifest_path: Path, dbt: str, project_dir: Path = DBT_PROJECT_DIR) -> int:
    """Have dbt compile every data test and write each one's SQL into the prepared manifest
    (``compiled_code``), with the project's digest; the number of tests compiled.

    dbt compiles in a throwaway MARMOT_HOME (its warehouse is a new empty file there, and the
    real one may be in use): the SQL names relations as "warehouse"."<schema>"."<table>",
    the same for every home, the warehouse's file being warehouse.duckdb in each."""
    digest = project_digest(project_dir)
    with tempfile.TemporaryDirectory(prefix="marmot-compile-") as tmp:
        target = Path(tmp) / "target"
        env = {**os.environ, "MARMOT_HOME": tmp, "DBT_LOG_PATH": str(Path(tmp) / "logs")}
        done = subprocess.run(
            [
                dbt, "compile", "--quiet", "--select", "resource_type:test",
                "--project-dir", str(project_dir), "--profiles-dir", str(project_dir),
                "--target-path", str(target), "--no-populate-cache",
            ],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"dbt compile of the tests failed:\n{done.stdout}{done.stderr}")
        compiled = json.loads((target / "manifest.json").read_text(encoding="utf-8"))["nodes"]
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    count = 0
    for unique_id, node in manifest["nodes"].items():
        sql = (compiled.get(unique_id) or {}).get("compiled_code")
        if node["resource_type"] == "test" and sql:
            node["compiled_code"] = sql
            count += 1
    manifest["metadata"][DIGEST_KEY] = digest
    from marmot_assets.transform.project import write_whole

    write_whole(manifest_path, json.dumps(manifest).encode("utf-8"))
    return count


@dataclass(frozen=True)
class DataTest:
    key: dg.AssetCheckKey
    node: Mapping[str, Any]


# What in a test's SQL or its macros reads the warehouse while dbt compiles it (the columns of
# a built table, a query's result), guarded by dbt's `execute` flag: SQL compiled ahead from
# an empty warehouse would not be the test (disclosure_violations reads the publish tables'
# columns, and on no tables asserts nothing). dbt compiles and runs those tests itself.
READS_WHILE_COMPILED = re.compile(
    r"\bexecute\b|run_query|statement\(|load_result|get_columns_in_relation|get_relation"
    r"|load_relation|get_columns_in_query|adapter\.execute"
)


def reads_warehouse_to_compile(node: Mapping[str, Any], manifest: Mapping[str, Any]) -> bool:
    macros = manifest.get("macros", {})
    seen: set[str] = set()
    todo = list(node.get("depends_on", {}).get("macros", []))
    if READS_WHILE_COMPILED.search(node.get("raw_code") or ""):
        return True
    while todo:
        macro = macros.get(todo.pop())
        if macro is None or macro["unique_id"] in seen:
            continue
        seen.add(macro["unique_id"])
        if READS_WHILE_COMPILED.search(macro.get("macro_sql") or ""):
            return True
        todo.extend(macro.get("depends_on", {}).get("macros", []))
    return False


@dataclass(frozen=True)
class TestPlan:
    """Which selected data tests the step runs (``ours``) and which dbt runs (``by_dbt``, their
    names; None: all of them, and ``why``)."""

    ours: list[DataTest]
    by_dbt: list[str] | None
    why: str = ""
    by_dbt_generic: bool = False  # a generic test among dbt's

    def dbt_args(self) -> list[str]:
        """What `dbt build` is told to leave out: every test the step runs itself."""
        if self.by_dbt is None:
            return []
        if not self.by_dbt:
            return ["--exclude-resource-type", "test"]
        # One value, names separated by spaces (dbt's union): dagster-dbt takes one value after
        # each --exclude when it moves them (a selection it writes as a selector). When dbt's
        # tests are all singular ones, every generic test is the step's: `test_type:generic`
        # says so in one word (the command line is logged whole).
        if self.by_dbt_generic:
            names = [t.node["name"] for t in self.ours]
        else:
            generic = any(t.node.get("test_metadata") for t in self.ours)
            names = ["test_type:generic"] * generic + [
                t.node["name"] for t in self.ours if not t.node.get("test_metadata")
            ]
        return ["--exclude", " ".join(names)]


def tests_to_run(
    manifest: Mapping[str, Any], selected: Iterable[dg.AssetCheckKey], translator, project
) -> TestPlan:
    """The selected data tests: those the step runs on their compiled SQL, in name order, and
    those dbt runs (see the module)."""
    from dagster_dbt.asset_utils import get_asset_check_key_for_test

    if os.environ.get("MARMOT_DBT_TESTS", "") == "dbt":
        return TestPlan([], None, "MARMOT_DBT_TESTS=dbt")
    if manifest.get("metadata", {}).get(DIGEST_KEY) != project_digest():
        return TestPlan([], None, "the project changed since its tests were compiled")
    wanted = set(selected)
    ours, by_dbt, by_dbt_generic = [], [], False
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] != "test":
            continue
        if any(parent.startswith("source.") for parent in node["depends_on"]["nodes"]):
            continue  # run by the source assets (transform/source_tests.py)
        key = get_asset_check_key_for_test(manifest, translator, unique_id, project)
        if key is None or key not in wanted:
            continue
        if reads_warehouse_to_compile(node, manifest):
            by_dbt.append(node["name"])
            by_dbt_generic = by_dbt_generic or bool(node.get("test_metadata"))
        elif not node.get("compiled_code"):
            return TestPlan([], None, f"dbt test {node['name']} has no compiled SQL")
        else:
            ours.append(DataTest(key, node))
    ours.sort(key=lambda t: t.node["name"])
    return TestPlan(ours, sorted(by_dbt), by_dbt_generic=by_dbt_generic)


def check_query(node: Mapping[str, Any]) -> str:
    """dbt's test materialisation (``get_test_sql``): the failures and whether they warn or
    fail, by the test's config."""
    config = node.get("config") or {}
    fail_calc = config.get("fail_calc") or "count(*)"
    warn_if = config.get("warn_if") or "!= 0"
    error_if = config.get("error_if") or "!= 0"
    limit = config.get("limit")
    sql = node["compiled_code"] + (f"\nlimit {int(limit)}" if limit is not None else "")
    return (
        f"select {fail_calc} as failures, {fail_calc} {warn_if} as should_warn, "
        f"{fail_calc} {error_if} as should_error from (\n{sql}\n) dbt_internal_test"
    )


def run_tests(con, tests: Iterable[DataTest]) -> tuple[list[dg.AssetCheckResult], list[str]]:
    """Each test on ``con``: its check result (as dagster-dbt gives it from dbt's output) and
    the names of those that failed at error severity (or could not run)."""
    import duckdb

    results, failed = [], []
    for test in tests:
        node = test.node
        severity = str((node.get("config") or {}).get("severity") or "error").lower()
        metadata: dict[str, Any] = {"unique_id": node["unique_id"], "run_by": "marmot dbt step"}
        try:
            failures, should_warn, should_error = con.execute(check_query(node)).fetchone()
        except duckdb.Error as exc:
            status, failures, error = "error", None, str(exc).splitlines()[0]
            metadata["error"] = error
        else:
            status = (
                "fail" if severity == "error" and should_error
                else "warn" if should_warn
                else "pass"
            )  # fmt: skip
        if failures is not None:
            metadata["dagster_dbt/failed_row_count"] = int(failures)
        metadata["status"] = status
        if status in ("fail", "error"):
            failed.append(node["name"])
        results.append(
            dg.AssetCheckResult(
                asset_key=test.key.asset_key,
                check_name=test.key.name,
                passed=status == "pass",
                severity=dg.AssetCheckSeverity.WARN
                if status == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata=metadata,
            )
        )
    return results, failed


def checked(tests: list[DataTest], log):
    """A function of a warehouse cursor (``ui_metadata.with_table_metadata``'s ``alongside``)
    that runs the tests and gives their check results to yield; after the last, if any failed
    at error severity, the step fails naming them (as dbt's exit code makes it)."""

    def run(cursor):
        import time

        started = time.perf_counter()
        with cursor:
            results, failed = run_tests(cursor, tests)
        log.info(f"{len(tests)} dbt data tests run in {time.perf_counter() - started:.2f} s.")
        return _then_fail(results, failed)

    return run


def _then_fail(results: list[dg.AssetCheckResult], failed: list[str]):
    yield from results
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} dbt data tests failed: {', '.join(failed)}",
            metadata={"failed_tests": dg.MetadataValue.json(failed)},
        )
