"""The publishers' raw tables have one definition (marmot_assets.sources.tables); the dbt
sources and docs/raw-tables.md must say the same, and every contract has its dbt source; a
table is written with each column in its SQL type and every kind of missing value as NULL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from marmot_assets.partners.contract import load_contracts
from marmot_assets.sources.tables import RAW_TABLES

PROJECT = Path(__file__).resolve().parents[1]
STAGING = PROJECT / "dbt_project" / "models" / "staging"


def dbt_raw_sources() -> dict[str, dict]:
    tables = {}
    for path in STAGING.rglob("*.yml"):
        for source in (yaml.safe_load(path.read_text()) or {}).get("sources", []):
            for table in source.get("tables", []):
                tables[table["name"]] = table
    return tables


@pytest.mark.parametrize("table", sorted(RAW_TABLES))
def test_dbt_source_lists_exactly_the_defined_columns(table):
    source = dbt_raw_sources()[table]
    assert [c["name"] for c in source["columns"]] == list(RAW_TABLES[table])


@pytest.mark.parametrize("table", sorted(RAW_TABLES))
def test_raw_table_docs_name_every_column(table):
    docs = (PROJECT / "docs" / "raw-tables.md").read_text()
    section = docs.split(f"## raw.{table}", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"[a-z][a-z0-9_]+", section))
    missing = [c for c in RAW_TABLES[table] if c not in documented]
    assert not missing, f"docs/raw-tables.md, raw.{table} lacks {missing}"


def test_every_contract_is_a_dbt_source_on_its_asset_key():
    sources = dbt_raw_sources()
    for contract in load_contracts().values():
        table = sources[contract.table]
        assert table["meta"]["dagster"]["asset_key"] == ["raw", contract.table]


def test_replace_raw_table_writes_missing_values_of_every_dtype_as_null(marmot_home):
    """The frame goes to DuckDB in its own dtypes: NaN, None, pd.NA and NaT are NULL, never
    'nan' or 0, and values are cast to the table's types; a column the frame lacks is NULL."""
    import datetime as dt

    import duckdb
    import numpy as np
    import pandas as pd

    from marmot_assets.config import get_settings
    from marmot_assets.warehouse import WarehouseResource, replace_raw_table

    marmot_home.mkdir(parents=True)
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, 2.0],
            "i": pd.array([1, pd.NA, 3], dtype="Int64"),
            "o": pd.Series(["a", None, np.nan], dtype=object),
            "s": pd.array(["x", pd.NA, "z"], dtype="str"),
            "t": pd.to_datetime(["2024-01-01", None, "2024-03-01"]),
            "n": pd.Series([7, np.nan, 9.0]),  # whole numbers in a float column
        }
    )
    types = {"f": "DOUBLE", "i": "BIGINT", "o": "VARCHAR", "s": "VARCHAR", "t": "DATE",
             "n": "INTEGER", "absent": "VARCHAR"}  # fmt: skip
    assert replace_raw_table(WarehouseResource(), "typed", types, frame) == 3
    with duckdb.connect(str(get_settings().warehouse_path), read_only=True) as con:
        rows = con.execute("select * from raw.typed order by f nulls last").fetchall()
        kinds = dict(con.execute("select column_name, data_type from duckdb_columns() "
                                 "where table_name = 'typed'").fetchall())  # fmt: skip
    assert rows == [
        (1.5, 1, "a", "x", dt.date(2024, 1, 1), 7, None),
        (2.0, 3, None, "z", dt.date(2024, 3, 1), 9, None),
        (None, None, None, None, None, None, None),
    ]
    assert kinds == types


def test_a_publishers_table_and_its_verdicts_are_one_transaction(marmot_home, monkeypatch):
    """load_publisher_table: the new table and the payload's manifest row together, or,
    if recording the verdict fails, neither (the table as it was, no verdict)."""
    from pathlib import Path

    import duckdb
    import pandas as pd

    from marmot_assets.config import get_settings
    from marmot_assets.landing import manifest
    from marmot_assets.landing.store import LandedFile
    from marmot_assets.sources.common import load_publisher_table
    from marmot_assets.warehouse import WarehouseResource

    marmot_home.mkdir(parents=True)
    table = "ons_lsoa_ward_lookup"
    columns = list(RAW_TABLES[table])

    def frame(n: int) -> pd.DataFrame:
        return pd.DataFrame({c: [f"{c}{i}" for i in range(n)] for c in columns})

    def landed(name: str) -> list[LandedFile]:
        return [LandedFile(Path(f"/landing/x__{'a' * 64}__{name}"), "a" * 64, 10, False)]

    def state():
        with duckdb.connect(str(get_settings().warehouse_path), read_only=True) as con:
            rows = con.execute(f"select count(*) from raw.{table}").fetchone()[0]
            verdicts = con.execute(
                "select original_name, status from raw.landing_manifest order by 1"
            ).fetchall()
        return rows, verdicts

    warehouse = WarehouseResource()
    load_publisher_table(warehouse, "ons", "lookup", table, landed("one.csv"), lambda: frame(3))
    assert state() == (3, [("one.csv", "loaded")])

    def refuse(con, verdict):
        raise RuntimeError("the manifest could not be written")

    monkeypatch.setattr(manifest, "record_verdict", refuse)
    with pytest.raises(RuntimeError, match="manifest"):
        load_publisher_table(warehouse, "ons", "lookup", table, landed("two.csv"), lambda: frame(5))
    assert state() == (3, [("one.csv", "loaded")])  # the old table, and no verdict
