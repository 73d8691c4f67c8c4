"""The publishers' raw tables have one definition (marmot_assets.sources.tables); the dbt
sources and docs/raw-tables.md must say the same, and every contract has its dbt source."""

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
