"""What a release holds beyond the copied tables: dbt descriptions as DuckDB comments, and
the ``changes`` table against the previous published release."""

from __future__ import annotations

import json
from pathlib import Path

from marmot_assets.config import DBT_PROJECT_DIR

PUBLISHED_SCHEMA = "publish"
FACT = "fct_indicator_values"
CHANGES = "changes"


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def dbt_descriptions(manifest_path: Path | None = None) -> dict[str, dict]:
    """``{table: {"description": ..., "columns": {column: description}}}`` from the dbt
    manifest; a publish model's own text first, else its mart's."""
    path = manifest_path or DBT_PROJECT_DIR / "target" / "manifest.json"
    try:
        nodes = json.loads(path.read_text(encoding="utf-8"))["nodes"].values()
    except (FileNotFoundError, KeyError, json.JSONDecodeError):
        return {}
    out: dict[str, dict] = {}
    ranked = sorted(
        (n for n in nodes if n.get("resource_type") == "model"),
        key=lambda n: n.get("config", {}).get("schema") == PUBLISHED_SCHEMA,
    )
    for node in ranked:  # publish models last, so they win
        table = node.get("alias") or node["name"]  # publish__<mart> is built as publish.<mart>
        entry = out.setdefault(table, {"description": "", "columns": {}})
        if node.get("description"):
            entry["description"] = node["description"].strip()
        for name, column in (node.get("columns") or {}).items():
            if column.get("description"):
                entry["columns"][name] = column["description"].strip()
    return out


CHANGES_SQL = """
create table rel.main.changes as
with new as ({new}),
old as ({old}),
joined as (
    select coalesce(new.value_key, old.value_key) as value_key,
        coalesce(new.indicator_id, old.indicator_id) as indicator_id,
        coalesce(new.area_code, old.area_code) as area_code,
        coalesce(new.period, old.period) as period,
        coalesce(new.sex, old.sex) as sex, coalesce(new.age, old.age) as age,
        coalesce(new.category_type, old.category_type) as category_type,
        coalesce(new.category, old.category) as category,
        old.value as previous_value, new.value as value,
        old.compared_to_england as previous_compared_to_england,
        new.compared_to_england as compared_to_england,
        case
            when old.value_key is null then 'new'
            when new.value_key is null then 'withdrawn'
            when new.value is distinct from old.value then 'revised'
            when new.compared_to_england is distinct from old.compared_to_england
                then 'significance moved'
        end as change_type
    from new full outer join old on new.value_key = old.value_key
)
select change_type, {previous} as previous_release_id, * exclude (change_type)
from joined where change_type is not null
"""


# The columns compared, cast to one type each: a release built by another version of the
# publish layer (or a column that was all-null) still compares.
KEYS = ["value_key", "indicator_id", "area_code", "period", "sex", "age"]
COMPARED = {
    **dict.fromkeys([*KEYS, "category_type", "category"], "varchar"),
    "value": "double",
    "compared_to_england": "varchar",
}


def _projection(con, database: str, limit: str = "") -> str:
    present = {
        r[0]
        for r in con.execute(
            "select column_name from duckdb_columns() where database_name = ? "
            "and schema_name = 'main' and table_name = ?",
            [database, FACT],
        ).fetchall()
    }
    columns = ", ".join(
        f'"{c}"::{t} as "{c}"' if c in present else f'null::{t} as "{c}"'
        for c, t in COMPARED.items()
    )
    return f"select {columns} from {database}.main.{FACT} {limit}"


def write_changes(con, previous: Path | None, previous_id: str | None) -> None:
    """What changed since the served release: new, revised, withdrawn, significance moved."""
    old = _projection(con, "rel", "limit 0")
    if previous is not None:
        con.execute(f"attach {quote(str(previous))} as prev (read_only)")
        has_fact = con.execute(
            "select count(*) from duckdb_tables() where database_name = 'prev' "
            f"and table_name = '{FACT}'"
        ).fetchone()[0]
        if has_fact:
            old = _projection(con, "prev")
    prev_id = quote(previous_id) if previous_id else "null::varchar"
    try:
        con.execute(CHANGES_SQL.format(new=_projection(con, "rel"), old=old, previous=prev_id))
    finally:
        if previous is not None:
            con.execute("detach prev")


CHANGES_DOC = {
    "description": "What this release changed since the previous published release: values "
    "new, revised or withdrawn, and values whose significance against England moved.",
    "columns": {
        "change_type": "new, revised, withdrawn or significance moved",
        "previous_release_id": "the release compared with (the one served when this was built)",
        "previous_value": "the value in the previous release (null when new)",
        "value": "the value in this release (null when withdrawn)",
        "previous_compared_to_england": "significance against England in the previous release",
    },
}


def comment_table(con, table: str, doc: dict | None, prefix: str = "rel.main.") -> None:
    """COMMENT ON the table and its columns, so a BI tool's schema browser explains them."""
    if not doc:
        return
    name = f'{prefix}"{table}"'
    if doc.get("description"):
        con.execute(f"comment on table {name} is {quote(doc['description'])}")
    columns = {r[0] for r in con.execute(f"describe {name}").fetchall()}
    for column, text in doc.get("columns", {}).items():
        if column in columns:
            con.execute(f'comment on column {name}."{column}" is {quote(text)}')
