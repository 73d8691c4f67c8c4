"""Writing a release (staging) and publishing it: write, (audit,) publish.

``stage_release`` copies every table of the warehouse schema ``PUBLISHED_SCHEMA`` into a new
DuckDB file under ``serving/staging/<release_id>/``, with each table's and column's dbt
description as a DuckDB comment and a ``changes`` table against the served release. The audit
(``audit.py``) reads that file. ``publish_release`` then writes its manifest (a JSON file and
the ``release_manifest`` table), Parquet and CSV copies, moves it to ``serving/releases/`` and
swaps it in atomically (``releases.swap_in``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import yaml

from marmot_assets.config import DBT_PROJECT_DIR, PROJECT_DIR
from marmot_assets.publish import releases as rel
from marmot_assets.publish.content import (
    CHANGES,
    CHANGES_DOC,
    FACT,
    PUBLISHED_SCHEMA,
    comment_table,
    dbt_descriptions,
    quote,
    write_changes,
)
from marmot_assets.publish.releases import Pause

# The dbt layer holding the disclosure-controlled copies of the marts (PUBLISHED_SCHEMA,
# "publish"). While it does not exist yet in a warehouse (development only), the marts are
# published instead.
FALLBACK_SCHEMA = "marts"
MANIFEST_TABLE = "release_manifest"
PENDING_FILE = "pending.json"


def source_schema(con) -> str:
    schemas = {r[0] for r in con.execute("select schema_name from duckdb_schemas()").fetchall()}
    return PUBLISHED_SCHEMA if PUBLISHED_SCHEMA in schemas else FALLBACK_SCHEMA


def disclosure_version(con, schema: str, tables: list[str]) -> str:
    for table in tables:
        columns = [r[0] for r in con.execute(f'describe {schema}."{table}"').fetchall()]
        if "disclosure_rules_version" in columns:
            row = con.execute(
                f'select any_value(disclosure_rules_version) from {schema}."{table}"'
            ).fetchone()
            if row and row[0]:
                return str(row[0])
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    return str(project.get("vars", {}).get("disclosure_rules", {}).get("version", "unknown"))


def git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def accepted_sources(con) -> list[dict]:
    """Every accepted delivery (latest verdict loaded/loaded_with_quarantine) and its SHA-256."""
    exists = con.execute(
        "select count(*) from duckdb_tables() where schema_name = 'raw' "
        "and table_name = 'landing_manifest'"
    ).fetchone()[0]
    if not exists:
        return []
    rows = con.execute(
        "select partner, dataset, original_name, sha256, bytes, received_at, status "
        "from raw.landing_manifest where status <> 'duplicate' "
        "qualify row_number() over (partition by partner, dataset, sha256 "
        "order by received_at desc) = 1 "
        "and status in ('loaded', 'loaded_with_quarantine') order by partner, dataset, received_at"
    ).fetchall()
    keys = ["partner", "dataset", "file", "sha256", "bytes", "received_at", "status"]
    return [dict(zip(keys, [*r[:5], str(r[5]), r[6]], strict=True)) for r in rows]


def disclosure_figures(con, schema: str) -> dict:
    """What disclosure control did to the fact table of this release: cells it applied to,
    cells suppressed (by reason), and counts rounded (published count differs from the
    warehouse's). Read from the warehouse, where the unrounded counts still are; empty when
    the release is not built from the publish layer."""
    published, warehouse = f"{schema}.{FACT}", f"marts.{FACT}"
    columns = {
        (r[0], r[1])
        for r in con.execute(
            "select schema_name, column_name from duckdb_columns() "
            "where database_name = current_database() and table_name = ?",
            [FACT],
        ).fetchall()
    }
    if (schema, "disclosure_applied") not in columns or ("marts", "numerator") not in columns:
        return {}  # not the publish layer over the marts (a hand-made or older warehouse)
    row = con.execute(
        f"""
        select
            count(*) filter (where p.disclosure_applied),
            count(*) filter (where p.disclosure_applied and p.is_suppressed),
            count(*) filter (where p.disclosure_applied and p.numerator is distinct from
                w.numerator and p.numerator is not null),
            count(*) filter (where p.disclosure_applied and p.denominator is distinct from
                w.denominator and p.denominator is not null)
        from {published} p join {warehouse} w using (value_key)
        """
    ).fetchone()
    reasons = con.execute(
        f"select suppression_reason, count(*) from {published} "
        "where disclosure_applied and is_suppressed group by 1 order by 2 desc, 1"
    ).fetchall()
    return {
        "cells_controlled": row[0],
        "cells_suppressed": row[1],
        "suppressed_by_reason": dict(reasons),
        "counts_rounded": row[2],
        "denominators_rounded": row[3],
    }


def stage_release(con, home: Path, manifest_path: Path | None = None) -> str:
    """Write a new release from the warehouse connection ``con`` into ``serving/staging``."""
    with rel.serving_lock(home):
        schema = source_schema(con)
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from duckdb_tables() where database_name = current_database() "
                "and schema_name = ? order by table_name",
                [schema],
            ).fetchall()
        ]
        if FACT not in tables:
            raise LookupError(f"the warehouse has no {schema}.{FACT} to publish")
        release_id = rel.new_release_id()
        folder = rel.staging_dir(home) / release_id
        folder.mkdir(parents=True)
        path = folder / rel.SERVING_FILE
        docs = dbt_descriptions(manifest_path)
        served = rel.served_release_id(home)
        previous = rel.releases_dir(home) / str(served) / rel.SERVING_FILE
        con.execute(f"attach {quote(str(path))} as rel")
        try:
            for table in tables:
                con.execute(f'create table rel.main."{table}" as select * from {schema}."{table}"')
                comment_table(con, table, docs.get(table))
            write_changes(con, previous if previous.is_file() else None, served)
            fact_columns = docs.get(FACT, {}).get("columns", {})
            columns = {**fact_columns, **CHANGES_DOC["columns"]}
            comment_table(con, CHANGES, {**CHANGES_DOC, "columns": columns})
            counts = {
                t: con.execute(f'select count(*) from rel.main."{t}"').fetchone()[0]
                for t in [*tables, CHANGES]
            }
        finally:
            con.execute("detach rel")
        pending = {
            "release_id": release_id,
            "staged_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source_schema": schema,
            "previous_release_id": served,
            "tables": tables,
            "row_counts": counts,
            "source_files": accepted_sources(con),
            "disclosure_rules_version": disclosure_version(con, schema, tables),
            "disclosure": disclosure_figures(con, schema),
            "git_commit": git_commit(),
        }
        rel.write_json_atomically(folder / PENDING_FILE, pending)
        rel.write_json_atomically(rel.serving_dir(home) / rel.STAGED_FILE, pending)
        return release_id


def publish_release(
    home: Path, release_id: str, checks_passed: list[str], keep: int, pause: Pause = None
) -> Path:
    """Finish the staged release (manifest, Parquet, CSV), keep it, and serve it."""
    import duckdb

    with rel.serving_lock(home):
        rel.clear_leftovers(home)
        kept = rel.releases_dir(home) / release_id
        if not kept.is_dir():  # not already moved by a publication killed after the move
            folder = rel.staging_dir(home) / release_id
            pending = rel.read_json(folder / PENDING_FILE)
            if pending is None:
                raise LookupError(f"no staged release {release_id} under {folder.parent}")
            manifest = {
                **pending,
                "released_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "checks_passed": sorted(checks_passed),
            }
            with duckdb.connect(str(folder / rel.SERVING_FILE)) as con:
                write_manifest_table(con, manifest)
                for kind, fmt in (
                    ("parquet", "(format parquet)"),
                    ("csv", "(header, delimiter ',')"),
                ):
                    (folder / kind).mkdir(exist_ok=True)
                    for table in [*pending["tables"], CHANGES]:
                        target = folder / kind / f"{table}.{kind}"
                        rows = csv_rows(con, table) if kind == "csv" else f'"{table}"'
                        con.execute(f"copy {rows} to {quote(str(target))} {fmt}")
                con.execute("checkpoint")
            if pause:
                pause("finalised")
            rel.write_json_atomically(folder / rel.MANIFEST_FILE, manifest)
            for file in folder.rglob("*"):
                if file.is_file():
                    rel.fsync_path(file)
            kept.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder, kept)
            rel.fsync_path(kept.parent)
        if pause:
            pause("kept")
        rel.swap_in(home, release_id, how="publish", pause=pause)
        (rel.serving_dir(home) / rel.STAGED_FILE).unlink(missing_ok=True)
        rel.prune(home, keep)
        return rel.serving_path(home)


# What a spreadsheet takes for the start of a formula (OWASP, "CSV injection").
FORMULA_START = "^[=+@\\t\\r-]"


def csv_rows(con, table: str) -> str:
    """The query whose rows are ``table``'s CSV file: each text cell a spreadsheet would take
    for a formula (it begins with =, +, -, @, a tab or a carriage return) gets a leading
    apostrophe, as OWASP advises. Partners' own words are published (stories, evaluations,
    supplier names) and analysts open the CSV files in Excel, where "=HYPERLINK(...)" in a
    story would run. Only the CSV files: the serving file and the Parquet files keep every
    text exactly, and no number or date is touched."""
    cells = []
    for name, kind, *_ in con.execute(f'describe "{table}"').fetchall():
        column = '"' + name.replace('"', '""') + '"'
        if kind == "VARCHAR":
            guarded = f"'''' || {column}"
            test = f"regexp_matches({column}, '{FORMULA_START}')"
            cells.append(f"case when {test} then {guarded} else {column} end as {column}")
        else:
            cells.append(column)
    return f'(select {", ".join(cells)} from "{table}")'


def write_manifest_table(con, manifest: dict) -> None:
    con.execute(
        f"create or replace table {MANIFEST_TABLE} (release_id varchar, released_at timestamptz, "
        "git_commit varchar, disclosure_rules_version varchar, source_schema varchar, "
        "previous_release_id varchar, checks_passed json, source_files json, row_counts json, "
        "disclosure json)"
    )
    con.execute(
        f"insert into {MANIFEST_TABLE} values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            manifest["release_id"],
            manifest["released_at"],
            manifest["git_commit"],
            manifest["disclosure_rules_version"],
            manifest["source_schema"],
            manifest["previous_release_id"],
            json.dumps(manifest["checks_passed"]),
            json.dumps(manifest["source_files"]),
            json.dumps(manifest["row_counts"]),
            json.dumps(manifest.get("disclosure", {})),
        ],
    )
    comment_table(con, MANIFEST_TABLE, MANIFEST_DOC, prefix="")


MANIFEST_DOC = {
    "description": "This release: its id, when it was published, the code (git commit), the "
    "disclosure rule set, every source file and its SHA-256, the checks it passed and the row "
    "count of every table.",
    "columns": {
        "release_id": "this release (sortable by time)",
        "released_at": "when it was published (UTC)",
        "git_commit": "the platform's code that built it (git rev-parse HEAD, or unknown)",
        "disclosure_rules_version": "the disclosure-control rule set applied (dbt var)",
        "source_schema": "the warehouse schema it was copied from",
        "previous_release_id": "the release served when it was built (`changes` compares with it)",
        "checks_passed": "every check that passed before it was published (JSON list)",
        "source_files": "every accepted delivery behind it: partner, dataset, file, SHA-256 (JSON)",
        "row_counts": "rows per table (JSON object)",
        "disclosure": "what disclosure control did: cells it applied to, cells suppressed (by "
        "reason) and counts rounded to 5 (JSON object)",
    },
}


def discard_staged(home: Path, release_id: str) -> None:
    shutil.rmtree(rel.staging_dir(home) / release_id, ignore_errors=True)
