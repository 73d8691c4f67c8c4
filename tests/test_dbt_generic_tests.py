"""Our generic dbt tests (dbt_project/macros/tests) find what they should, and nothing else.

No dbt run: a test file is rendered with plain Jinja2 as dbt renders it (a ``{% test x %}``
block is the macro ``test_x``) and the SQL it gives is run in an in-memory DuckDB. A dbt test
fails when its query returns rows.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import jinja2
import pytest

TESTS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros" / "tests"


class _Adapter:
    @staticmethod
    def quote(name: str) -> str:
        return '"' + name.replace('"', '""') + '"'


def _generic_test(name: str):
    source = (TESTS / f"{name}.sql").read_text(encoding="utf-8")
    source = re.sub(r"{%\s*test\s+(\w+)", r"{% macro test_\1", source)
    source = re.sub(r"{%\s*endtest\s*%}", "{% endmacro %}", source)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["adapter"] = _Adapter
    return getattr(env.from_string(source).make_module(), f"test_{name}")


@pytest.fixture
def con():
    c = duckdb.connect(":memory:")
    c.execute(
        "create table t as select * from (values "
        "(1, 'a', 10.0, 'x'), (2, 'b', 20.0, null), (3, 'c', 30.0, 'z')"
        ") v(id, code, amount, note)"
    )
    yield c
    c.close()


def test_not_null_columns_passes_when_every_listed_column_has_values(con):
    sql = _generic_test("not_null_columns")(model="t", columns=["id", "code", "amount"])
    assert con.execute(sql).fetchall() == []


def test_not_null_columns_names_each_column_with_nulls_and_how_many(con):
    con.execute("update t set code = null where id in (1, 3)")
    con.execute("update t set amount = null where id = 2")
    sql = _generic_test("not_null_columns")(model="t", columns=["id", "code", "amount", "note"])
    rows = sorted(con.execute(sql).fetchall())
    assert rows == [("amount", 1), ("code", 2), ("note", 1)]


def test_not_null_columns_quotes_column_names(con):
    con.execute('alter table t rename column note to "Note of day"')
    sql = _generic_test("not_null_columns")(model="t", columns=["Note of day"])
    assert con.execute(sql).fetchall() == [("Note of day", 1)]


def test_unique_combination_finds_duplicates_with_nulls_equal(con):
    con.execute("insert into t values (4, 'b', 20.0, null)")
    sql = _generic_test("unique_combination")(model="t", combination_of_columns=["code", "note"])
    assert con.execute(sql).fetchall() == [("b", None, 2)]
