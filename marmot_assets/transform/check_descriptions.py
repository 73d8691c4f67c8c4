"""A description for every dbt test Dagster shows as an asset check.

dbt's generic tests carry no description of their own (a YAML `description:` is rare and
dagster-dbt reads only `meta.description`), so the UI listed ~300 checks by name alone. Each
is described from what the test asserts: its kind, column and arguments; a singular test by
the comment its SQL file opens with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def _target(kwargs: Mapping[str, Any]) -> str:
    """'ref('x')' or 'source('raw', 'x')' inside get_where_subquery(...) -> x."""
    found = re.findall(r"['\"]([^'\"]+)['\"]", str(kwargs.get("to") or ""))
    return found[-1] if found else str(kwargs.get("to") or "")


def _opening_comment(sql: str) -> str:
    lines = []
    for line in sql.lstrip().splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines)


def describe_dbt_test(node: Mapping[str, Any]) -> str:
    """What a dbt test node of the manifest asserts, in one or two sentences."""
    own = (node.get("meta") or {}).get("description") or node.get("description")
    if own:
        return str(own)
    test = node.get("test_metadata") or {}
    kwargs = test.get("kwargs") or {}
    column = node.get("column_name") or kwargs.get("column_name")
    kind = test.get("name")
    if kind == "not_null":
        return f"Every row has a value in {column}."
    if kind == "not_null_columns":
        columns = ", ".join(kwargs.get("columns", []))
        return f"Every row has a value in each of {columns}."
    if kind == "unique":
        return f"No two rows share a value of {column}."
    if kind == "accepted_values":
        values = ", ".join(str(v) for v in kwargs.get("values", []))
        return f"{column} is always one of: {values} (or empty)."
    if kind == "relationships":
        return f"Every {column} matches a {kwargs.get('field')} in {_target(kwargs)}."
    if kind == "unique_combination":
        columns = ", ".join(kwargs.get("combination_of_columns", []))
        return f"One row per combination of {columns}."
    if kind == "expression_is_true":
        return f"Every row satisfies: {kwargs.get('expression')}."
    if kind == "ci_contains_value":
        return "Every value lies within its own 95% confidence interval."
    if kind is None:
        comment = _opening_comment(node.get("raw_code") or "")
        if comment:
            return comment
    words = " ".join(str(node.get("name", "")).split("_"))
    return f"dbt test: {words}" + (f" (column {column})" if column else "") + "."
