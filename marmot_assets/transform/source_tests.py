"""dbt's tests on the publishers' raw tables, as real asset checks of the source assets.

dbt can only report a test on a source as an observation of the source (dagster-dbt's
`enable_source_tests_as_checks` would make them checks, but it splits the one dbt step into
several interleaved with the sources, and dbt then tests models before they exist). So the dbt
build leaves them out (`--exclude source:*`) and each source asset runs them itself, right
after loading its table, as checks named and described as dbt names them: the tests stay
declared in dbt's YAML (`dbt_project/models/staging/*/_*__sources.yml`), where analysts look.

The generic tests used there are implemented here in SQL (not_null, unique, accepted_values);
a source test of another kind fails at definition time, so none is silently skipped.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import dagster as dg

from marmot_assets.transform.check_descriptions import describe_dbt_test

SUPPORTED = ("not_null", "unique", "accepted_values")
FAILING_SHOWN = 5


@cache
def _manifest(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def manifest_path() -> Path:
    from marmot_assets.transform.project import dbt_project

    return Path(dbt_project().manifest_path)


def source_tests(table: str, path: Path | None = None) -> list[dict]:
    """The dbt tests whose only parent is the source ``raw.<table>``, in name order."""
    try:
        manifest = _manifest(str(path or manifest_path()))
    except FileNotFoundError:
        return []  # before `marmot prepare`: no tests to run yet
    sources = {
        uid: s for uid, s in manifest["sources"].items()
        if s["schema"] == "raw" and s["identifier"] == table
    }  # fmt: skip
    tests = []
    for node in manifest["nodes"].values():
        parents = node.get("depends_on", {}).get("nodes", [])
        if node["resource_type"] != "test" or not parents or set(parents) - set(sources):
            continue
        kind = (node.get("test_metadata") or {}).get("name")
        if kind not in SUPPORTED:
            raise ValueError(
                f"dbt test {node['name']} on raw.{table} is a {kind!r} test: as a check of the "
                f"source asset only {', '.join(SUPPORTED)} are run (marmot_assets/transform/"
                "source_tests.py)"
            )
        tests.append(node)
    return sorted(tests, key=lambda n: n["name"])


def check_name(node: dict) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", node["name"])[:120]


def check_specs(table: str) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(["raw", table])
    return [
        dg.AssetCheckSpec(check_name(node), asset=key, description=describe_dbt_test(node))
        for node in source_tests(table)
    ]


def failing_rows_sql(table: str, node: dict) -> str:
    """The rows (or values) that break the test: none means it passed."""
    kwargs = node["test_metadata"]["kwargs"]
    column = '"' + kwargs["column_name"].strip('"').replace('"', '""') + '"'
    relation = f'raw."{table}"'
    where = (node.get("config") or {}).get("where")
    if where:
        relation = f"(select * from {relation} where {where})"
    kind = node["test_metadata"]["name"]
    if kind == "not_null":
        return f"select * from {relation} where {column} is null"
    if kind == "unique":
        return (
            f"select {column} as value, count(*) as n from {relation} "
            f"where {column} is not null group by 1 having count(*) > 1"
        )
    values = ", ".join("'" + str(v).replace("'", "''") + "'" for v in kwargs["values"])
    return (
        f"select {column} as value, count(*) as n from {relation} "
        f"where {column} is not null and cast({column} as varchar) not in ({values}) group by 1"
    )


def run_source_tests(con, table: str) -> list[dg.AssetCheckResult]:
    """Each source test of ``raw.<table>`` on the table just loaded: passed when no row
    breaks it; severity as dbt's (error unless the test says warn)."""
    results = []
    for node in source_tests(table):
        sql = failing_rows_sql(table, node)
        failures = con.execute(f"select count(*) from ({sql})").fetchone()[0]
        severity = (node.get("config") or {}).get("severity", "error").lower()
        metadata = {"failing_rows": dg.MetadataValue.int(int(failures)), "dbt_test": node["name"]}
        if failures and node["test_metadata"]["name"] != "not_null":
            # the offending values (codes and categories of a publisher's table, no person)
            shown = con.execute(f"select value from ({sql}) limit {FAILING_SHOWN}").fetchall()
            metadata["values"] = ", ".join(str(v[0]) for v in shown)
        results.append(
            dg.AssetCheckResult(
                asset_key=dg.AssetKey(["raw", table]),
                check_name=check_name(node),
                passed=failures == 0,
                severity=dg.AssetCheckSeverity.WARN
                if severity == "warn"
                else dg.AssetCheckSeverity.ERROR,
                metadata=metadata,
            )
        )
    return results
