"""What the warehouse holds, from DuckDB's own catalog functions (standard library and duckdb
only: the door's reading process imports it).

``information_schema`` is a set of views over these functions that joins every catalog the
connection sees: asking it for one table's columns took ~12 ms on these machines, against
~3 ms for ``duckdb_columns()`` restricted to the warehouse's own database, and the door asks
several times for each delivery (110 in the demo's refresh). Both list the same columns, of
tables and views alike, with the same types and nullability."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable

# What ``once`` has made on each open connection (forgotten with the connection)
_made: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def columns(con, schema: str, table: str) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) of the columns of ``schema.table`` (a table or a view) in the
    connection's own database, in order; none if there is no such relation."""
    return [
        (name, data_type, bool(nullable))
        for name, data_type, nullable in con.execute(
            "select column_name, data_type, is_nullable from duckdb_columns() "
            "where database_name = current_database() and schema_name = ? and table_name = ? "
            "order by column_index",
            [schema, table],
        ).fetchall()
    ]


def exists(con, schema: str, table: str) -> bool:
    """Whether ``schema.table`` is a table or a view of the connection's own database."""
    return bool(
        con.execute(
            "select count(*) from duckdb_columns() where database_name = current_database() "
            "and schema_name = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def once(con, what: Hashable, make: Callable[[], None]) -> None:
    """``make()`` (DDL that makes or grows tables: ``create ... if not exists``, ``add column
    if not exists``), unless it was made for ``what`` on this very connection already: a step
    opens one connection for all its deliveries, and each asked again cost ~3-6 ms. Only for
    DDL run outside an explicit transaction, which DuckDB commits as it runs (a rollback
    cannot undo what is remembered here)."""
    made = _made.setdefault(con, set())
    if what not in made:
        make()
        made.add(what)
