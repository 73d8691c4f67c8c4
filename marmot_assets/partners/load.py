"""Writing one delivery into ``raw``: staged, checked against what is already there, then
committed in one transaction with its manifest row.

Accepted rows are staged in a temporary table while the file is read. Before the commit:
values of the contract's ``unique`` columns must not repeat, in the file or in rows of
earlier deliveries that stay; with ``revisions: replace_periods`` the earlier rows of every
period the delivery covers are deleted (the delivery replaces them as a whole). The same
module withdraws a delivery on request (``marmot withdraw``).
"""

from __future__ import annotations

import getpass
from pathlib import Path

import duckdb
import pandas as pd

from marmot_assets import catalog
from marmot_assets.config import get_settings
from marmot_assets.landing.manifest import ACCEPTED, Verdict, ensure_manifest, record_verdict
from marmot_assets.landing.receipts import forget_receipt
from marmot_assets.partners.contract import Contract

SQL_TYPES = {
    "string": "VARCHAR",
    "text": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "month": "VARCHAR",
    "boolean": "BOOLEAN",
}
STAGED = "_incoming"


def table_ddl(contract: Contract) -> dict[str, str]:
    columns = {c.name: SQL_TYPES[c.type] for c in contract.columns}
    columns.update(_sha256="VARCHAR", _row_number="BIGINT", _received_at="TIMESTAMP")
    return columns


def _columns_sql(columns: dict[str, str]) -> str:
    return ", ".join(f'"{n}" {t}' for n, t in columns.items())


def ensure_table(con, contract: Contract) -> None:
    """``raw.<partner>__<dataset>``, grown by any column the contract gained since (once a
    connection: ``catalog.once``)."""
    columns = table_ddl(contract)
    catalog.once(
        con, (contract.table, tuple(columns.items())), lambda: _make(con, contract, columns)
    )


def _make(con, contract: Contract, columns: dict[str, str]) -> None:
    con.execute(f"create table if not exists raw.{contract.table} ({_columns_sql(columns)})")
    have = {name for name, _, _ in catalog.columns(con, "raw", contract.table)}
    for name, sql_type in columns.items():
        if name not in have:
            con.execute(f'alter table raw.{contract.table} add column "{name}" {sql_type}')


class Staging:
    """The accepted rows of one delivery, in a temporary table until the commit."""

    def __init__(self, con, contract: Contract, verdict: Verdict):
        self.con, self.contract, self.verdict = con, contract, verdict
        self.columns = table_ddl(contract)
        ensure_table(con, contract)
        con.execute(f"drop table if exists {STAGED}")
        con.execute(f"create temp table {STAGED} ({_columns_sql(self.columns)})")

    def append(self, accepted: pd.DataFrame) -> None:
        # DuckDB reads pandas' missing values (NaN, None, NA) as NULL in every dtype, and
        # the cast below gives each column its contract's type: the frame goes in as it is
        frame = accepted.assign(
            _sha256=self.verdict.sha256,
            _row_number=accepted.index.astype("int64"),
            _received_at=self.verdict.received_at,
        )
        self.con.register("_chunk", frame.reset_index(drop=True))
        select = ", ".join(f'cast("{n}" as {t})' for n, t in self.columns.items())
        self.con.execute(f"insert into {STAGED} select {select} from _chunk")
        self.con.unregister("_chunk")

    def drop(self) -> None:
        self.con.execute(f"drop table if exists {STAGED}")

    def _periods_sql(self) -> str:
        period = self.contract.period
        return f'(select distinct "{period}" from {STAGED} where "{period}" is not null)'

    def _staying(self) -> str:
        """Rows of the raw table that stay after this delivery is committed."""
        where = "_sha256 <> ?"
        if self.contract.revisions == "replace_periods":
            where += f' and "{self.contract.period}" not in {self._periods_sql()}'
        return f"select * from raw.{self.contract.table} where {where}"

    def consolidate(self) -> None:
        """Rows of counts that LSOA conversion brought onto one key (2011 LSOAs merged into
        one 2021 LSOA) become one row: counts added up, rates averaged, the first row's
        number and text kept."""
        key = self.contract.key
        if not key:
            return
        select = []
        for c in self.contract.columns:
            name = f'"{c.name}"'
            if c.name in key:
                select.append(name)
            elif c.count_when is not None:
                # a count on the rows the contract names, a rate on the others
                value = c.count_when.value.replace("'", "''")
                select.append(
                    f"case when min(\"{c.count_when.column}\") = '{value}' then sum({name}) "
                    f"else avg({name}) end as {name}"
                )
            elif c.type == "integer" and c.area is None:
                select.append(f"sum({name}) as {name}")
            elif c.type == "number":
                select.append(f"avg({name}) as {name}")
            else:
                select.append(f"arg_min({name}, _row_number) as {name}")
        select += [
            "min(_row_number) as _row_number",
            "any_value(_sha256) as _sha256",
            "any_value(_received_at) as _received_at",
        ]
        keys = ", ".join(f'"{k}"' for k in key)
        self.con.execute(
            f"create or replace temp table _consolidated as select {', '.join(select)} "
            f"from {STAGED} group by {keys}"
        )
        self.con.execute(f"delete from {STAGED}")
        self.con.execute(f"insert into {STAGED} by name select * from _consolidated")
        self.con.execute("drop table _consolidated")

    def enforce_unique(self, kept: int = 10_000) -> None:
        """Quarantine rows repeating a ``unique`` value, in the file or in rows that stay
        (the first ``kept`` are listed; all are counted and left out)."""
        for column in self.contract.unique:
            self.con.execute(
                f"""
                create or replace temp table _repeats as
                with staged as (
                    select _row_number, "{column}" as value,
                        min(_row_number) over (partition by "{column}") as first_row
                    from {STAGED} where "{column}" is not null
                ),
                earlier as (
                    select s."{column}" as value, any_value(m.original_name) as original_name
                    from ({self._staying()}) s
                    join raw.landing_manifest m on m.sha256 = s._sha256
                        and m.partner = ? and m.dataset = ?
                    group by all
                )
                select staged._row_number, staged.first_row, earlier.original_name
                from staged left join earlier using (value)
                where staged._row_number <> staged.first_row or earlier.value is not null
                """,
                [self.verdict.sha256, self.contract.partner, self.contract.dataset],
            )
            repeats = self.con.execute("select count(*) from _repeats").fetchone()[0]
            for row, first, earlier in self.con.execute(
                "select * from _repeats order by 1 limit ?", [kept]
            ).fetchall():
                reason = (
                    f"{column} already delivered in {earlier}"
                    if earlier and row == first
                    else f"{column} repeats row {first}"
                )
                self.verdict.quarantine.append(
                    {"row_number": row, "column_name": column, "reason": reason, "value": None}
                )
            self.con.execute(
                f"delete from {STAGED} where _row_number in (select _row_number from _repeats)"
            )
            self.con.execute("drop table _repeats")
            self.verdict.rows_accepted -= repeats
            self.verdict.rows_quarantined += repeats

    def commit(self) -> None:
        """Replace the periods the delivery covers, insert its rows, record its verdict:
        one transaction, so a crash leaves all of it or none of it."""
        table = f"raw.{self.contract.table}"
        self.con.execute("begin transaction")
        try:
            if self.verdict.status in ACCEPTED:
                # (the table was made or grown when this staging began)
                replaced = f"_sha256 = '{self.verdict.sha256}'"
                if self.contract.revisions == "replace_periods":
                    replaced += f' or "{self.contract.period}" in {self._periods_sql()}'
                deleted = self.con.execute(f"delete from {table} where {replaced}").fetchone()
                self.verdict.rows_replaced = int(deleted[0])
                self.con.execute(f"insert into {table} by name select * from {STAGED}")
            record_verdict(self.con, self.verdict)
            self.con.execute("commit")
        except BaseException:
            self.con.execute("rollback")
            raise


def withdraw(
    con: duckdb.DuckDBPyConnection,
    landing_id: str,
    reason: str,
    actor: str | None,
    home: Path | None = None,
):
    """Take an accepted delivery's rows out of ``raw`` (staging follows, being views); the
    manifest records who and why; the landed bytes stay for audit. Returns the verdict row
    recorded. Its receipt (``landing.receipts``) goes first, so the same file sent again
    is judged again."""
    if len(landing_id) < 8:
        raise ValueError("give at least the first 8 characters of the delivery's SHA-256")
    matches = con.execute(
        """
        select partner, dataset, sha256, original_name, bytes, landing_path, status
        from raw.landing_manifest
        where sha256 like ? || '%' and status <> 'duplicate'
        qualify row_number() over (partition by partner, dataset, sha256
                                   order by received_at desc) = 1
        """,
        [landing_id.lower()],
    ).fetchall()
    matches = [m for m in matches if m[6] in ACCEPTED]
    if not matches:
        raise LookupError(f"no accepted delivery has a SHA-256 starting {landing_id}")
    if len({m[2] for m in matches}) > 1:
        raise LookupError(f"{landing_id} is ambiguous: {sorted({m[2] for m in matches})}")
    partner, dataset, sha, name, size, landing_path, _ = matches[0]
    ensure_manifest(con)  # raw.lsoa_conversions of a warehouse older than it
    table = f"raw.{partner}__{dataset}"
    verdict = Verdict(partner, dataset, name, sha, size, status="withdrawn", error=reason)
    verdict.landing_path, verdict.actor = landing_path, actor or getpass.getuser()
    forget_receipt(home or get_settings().home, partner, dataset, sha)
    con.execute("begin transaction")
    try:
        verdict.rows_replaced = con.execute(
            f"select count(*) from {table} where _sha256 = ?", [sha]
        ).fetchone()[0]
        con.execute(f"delete from {table} where _sha256 = ?", [sha])
        con.execute(
            "delete from raw.lsoa_conversions where partner = ? and dataset = ? and sha256 = ?",
            [partner, dataset, sha],
        )
        record_verdict(con, verdict)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return verdict
