"""What the Dagster UI shows of a table (marmot_assets.ui_metadata): column schemas from the
contracts and from DuckDB, previews that keep identifiers and counts of 1-7 in the warehouse,
owners of the dbt models, and what one whole refresh recorded in its Dagster instance."""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import pytest

from marmot_assets import ui_metadata as ui
from marmot_assets.partners.contract import get_contract, load_contracts

DIGEST = "ab" * 32  # 64 lower-case hex digits, as a pseudonym looks


def test_column_schema_from_contract_names_types_and_describes_each_column():
    contract = get_contract("council_job_shop/clients")
    schema = ui.column_schema_from_contract(contract)
    columns = {c.name: c for c in schema.columns}
    assert [c.name for c in schema.columns] == [
        *(c.name for c in contract.columns), "_sha256", "_row_number", "_received_at"
    ]  # fmt: skip
    assert columns["client_key"].type == "VARCHAR"
    assert columns["client_key"].description.startswith("Keyed HMAC-SHA-256")
    assert "identifier" in columns["client_key"].tags
    assert columns["start_date"].type == "DATE"
    assert columns["disability"].type == "BOOLEAN"
    assert columns["outcome_date"].constraints.nullable is True
    assert columns["outcome"].constraints.nullable is False
    assert "identifier" not in columns["outcome"].tags


def test_identifier_columns_come_from_the_contracts():
    assert ui.identifier_columns(get_contract("nhs_pcmd/deaths")) == {"death_key"}
    assert "crime_id" in ui.identifier_columns(get_contract("police/street_crime"))
    assert {"death_key", "client_key", "crime_id"} <= ui.all_identifier_columns()


@pytest.mark.parametrize(
    ("value", "small"),
    [(0, False), (0.4, False), (0.5, True), (1, True), (7, True), (7.4, True), (7.5, False),
     (8, False), (-3, True), ("5", True), ("12", False), ("E05001234", False), (None, False),
     (True, False), (float("nan"), False)],
)  # fmt: skip
def test_is_small_count(value, small):
    assert ui.is_small_count(value) is small


@pytest.fixture
def con(tmp_path):
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("create schema raw")
    con.execute(
        "create table raw.t (client_key varchar, crime_id varchar, ward_code varchar, "
        "contacts bigint, rate double, imd_decile integer, reference varchar, "
        "count_text varchar, _sha256 varchar)"
    )
    con.executemany(
        "insert into raw.t values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [DIGEST, "c1", "E05000001", 0, 0.2, 1, "cd" * 32, "3", "ef" * 32],
            [DIGEST, "c2", "E05000002", 1, 3.4, 2, "cd" * 32, "10", "ef" * 32],
            [DIGEST, "c3", "E05000003", 7, 7.6, 3, "cd" * 32, "0", "ef" * 32],
            [DIGEST, "c4", "E05000004", 8, 12.0, 4, "cd" * 32, "7", "ef" * 32],
            [DIGEST, "c5", "E05000005", 250, 6.5, 5, "cd" * 32, "8", "ef" * 32],
            [DIGEST, "c6", "E05000006", 2, 1.0, 6, "cd" * 32, "9", "ef" * 32],
        ],
    )
    yield con
    con.close()


def table_of(markdown: str) -> dict[str, list[str]]:
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    header = [h.strip() for h in lines[0].strip("|").split("|")]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines[2:]]
    return {name: [row[i] for row in rows] for i, name in enumerate(header)}


def test_preview_masks_small_counts_and_leaves_out_identifiers(con):
    preview = ui.safe_preview(con, "raw.t")
    table = table_of(preview)
    # contract identifiers by name, a digest-valued column by its values, bookkeeping
    assert list(table) == ["ward_code", "contacts", "rate", "imd_decile", "count_text"]
    assert DIGEST not in preview and "cd" * 32 not in preview and "ef" * 32 not in preview
    assert "c1" not in preview
    assert table["contacts"] == ["0", "*", "*", "8", "250"]  # first 5 rows; 0 stays 0
    assert table["rate"] == ["0.2", "*", "7.6", "12.0", "*"]
    assert table["count_text"] == ["*", "10", "0", "*", "8"]
    assert table["imd_decile"] == ["1", "2", "3", "4", "5"]  # not a count: shown
    assert "client_key, crime_id, _sha256, reference" in preview
    counts = ["contacts", "rate", "count_text"]
    assert ui.small_count_cells(preview, counts) == []
    assert ui.small_count_cells(preview.replace("| 250", "| 3"), counts) == [("contacts", "3")]


def test_preview_of_chosen_columns_and_of_record_level_data(con):
    table = table_of(ui.safe_preview(con, "raw.t", ["ward_code", "client_key"], rows=2))
    assert table == {"ward_code": ["E05000001", "E05000002"]}
    note = ui.safe_preview(con, "raw.t", record_level=True)
    assert "E0500" not in note and "Record-level" in note


def test_column_schema_from_duckdb(con):
    schema = ui.column_schema_from_duckdb(con, "raw", "t", {"contacts": "Contacts in the month"})
    columns = {c.name: c for c in schema.columns}
    assert list(columns)[:4] == ["client_key", "crime_id", "ward_code", "contacts"]
    assert columns["contacts"].type == "BIGINT"
    assert columns["contacts"].description == "Contacts in the month"
    assert columns["rate"].type == "DOUBLE"
    assert ui.relation_columns(con)[("raw", "t")][3] == ("contacts", "BIGINT", True)


def test_chart_png_is_a_small_png():
    png = ui.chart_png(["P1 Best start", "P2 Fair work"], [120, 45], "Values by principle")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert (width, height) == (400, 200)


def test_dbt_models_are_owned_by_their_partner_or_the_platform_team(marmot_home, coventry):
    from marmot_assets.transform.assets import MarmotDbtTranslator

    translator = MarmotDbtTranslator()

    def owners(*fqn, meta=None):
        return translator.get_owners({"fqn": ["marmot", *fqn], "meta": meta or {}})

    job_shop = coventry.partners["council_job_shop"].owner
    assert owners("staging", "council_job_shop", "stg_council_job_shop__clients") == [job_shop]
    assert owners("staging", "ons", "stg_ons__lsoa_ward_lookup") == [ui.PLATFORM_OWNER]
    assert owners("marts", "fct_indicator_values") == [ui.PLATFORM_OWNER]
    assert owners("intermediate", "int_population") == [ui.PLATFORM_OWNER]
    assert owners("publish", "publish__dim_area") == [ui.PLATFORM_OWNER]
    named = {"dagster": {"owners": ["someone@example.org"]}}
    assert owners("marts", "dim_area", meta=named) == ["someone@example.org"]


# ----- what one whole refresh recorded ------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(demo_refresh):
    """(latest materialization metadata, with a dbt model's observation after it, by asset
    key; warehouse connection) of the refresh."""
    assert demo_refresh["success"]
    home = demo_refresh["home"]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        keys = [k for k in instance.all_asset_keys() if k.path[0] in ("raw", "marts")]
        found = {}
        for key in keys:
            event = instance.get_latest_materialization_event(key)
            if event is not None and event.run_id == demo_refresh["run_id"]:
                found[key] = dict(event.asset_materialization.metadata)
                # a dbt model's table metadata comes in an observation once dbt has ended
                observed = instance.fetch_observations(key, limit=1).records
                if observed and observed[0].run_id == demo_refresh["run_id"]:
                    found[key].update(observed[0].asset_observation.metadata)
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    yield found, con
    con.close()


def assert_safe_preview(metadata, table: str):
    preview = metadata["preview"].value
    schema = metadata["dagster/column_schema"].schema
    counts = [c.name for c in schema.columns if ui.is_count_column(c.name, c.type)]
    assert ui.small_count_cells(preview, counts) == [], table
    assert not re.search(r"\b[0-9a-f]{64}\b", preview), table
    header = preview.split("\n", 1)[0]
    assert not any(f" {n} " in header for n in ui.all_identifier_columns()), table


def test_refresh_recorded_partner_tables_with_schema_count_and_safe_preview(recorded):
    found, con = recorded
    for contract in load_contracts().values():
        key = dg.AssetKey(["raw", contract.table])
        assert key in found, key
        metadata = found[key]
        schema = metadata["dagster/column_schema"].schema
        assert schema == ui.column_schema_from_contract(contract)
        [(rows,)] = con.execute(f"select count(*) from raw.{contract.table}").fetchall()
        assert rows > 7 and metadata["dagster/row_count"].value == rows, key
        if contract.record_level:
            assert metadata["preview"].value == ui.record_level_note()
        else:
            assert metadata["preview"].value.startswith("|"), key
            assert_safe_preview(metadata, contract.table)


def test_refresh_recorded_marts_with_schema_count_safe_preview_and_charts(recorded):
    found, con = recorded
    marts = [k for k in found if k.path[0] == "marts"]
    assert len(marts) >= 10
    for key in marts:
        metadata = found[key]
        table = key.path[-1]
        names = [c.name for c in metadata["dagster/column_schema"].schema.columns]
        assert names == [r[0] for r in con.execute(f"describe marts.{table}").fetchall()]
        [(rows,)] = con.execute(f"select count(*) from marts.{table}").fetchall()
        assert metadata["dagster/row_count"].value == rows, key
        assert_safe_preview(metadata, table)
    for table in ("fct_indicator_values", "mart_principle_scorecard"):
        metadata = found[dg.AssetKey(["marts", table])]
        path = metadata["chart_path"].value
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        assert metadata["chart"].value.startswith("![") and "(data:image/png;base64," in (
            metadata["chart"].value
        )
    scorecard = found[dg.AssetKey(["marts", "mart_principle_scorecard"])]["preview"].value
    assert scorecard.startswith("Rows of `publish.mart_principle_scorecard`")


def test_publisher_previews_mask_small_counts_too():
    import pandas as pd

    from marmot_assets.sources.common import safe_frame_preview

    frame = pd.DataFrame(
        {"mid_year": [2024, 2024], "lsoa_code": ["E01990001", "E01990002"],
         "sex": ["Male", "Female"], "age": [30, 31], "population": [5, 12]}
    )  # fmt: skip
    preview = safe_frame_preview("ons_population_estimates", frame)
    assert ui.small_count_cells(preview, ["population"]) == []
    assert "| 12 " in preview  # a count of 8 or more is shown
    assert "E01990001" in preview  # codes are not counts
