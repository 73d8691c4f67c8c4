"""Disclosure control of what leaves the warehouse: schema `publish`, built from the demo.

The warehouse is built once for the module (the demo written into a temporary MARMOT_HOME,
the whole graph run through Dagster, as in test_pipeline_e2e.py); then every column of every
table in schema `publish` is scanned, read-only, for the rule set in the dbt var
`disclosure_rules` (dbt_project.yml): no count of 1-7, no denominator or complement of 1-7,
every count computed here a multiple of 5, nothing shown where a cell is suppressed, no
single suppressed cell recoverable from its siblings, BI-usable types.
"""

from __future__ import annotations

import re

import duckdb
import pytest
import yaml

from marmot_assets.config import DBT_PROJECT_DIR

pytestmark = pytest.mark.e2e

PUBLISHED_TABLES = {
    "fct_indicator_values",
    "dim_area",
    "dim_indicator",
    "dim_principle",
    "mart_inequality",
    "mart_principle_scorecard",
    "mart_ward_profile",
    "mart_proportionate_universalism",
    "mart_allocation",
    "mart_stories",
    "mart_evidence",
    "mart_system_measures",
    "mart_contracts",
}
REASONS = {"primary", "complement", "denominator", "secondary", "rate_minimum", "publisher"}
HIDING = ("denominator", "primary", "complement", "secondary")
COUNT_COLUMN = re.compile(r"^(.*_)?(numerator|denominator)$")
NUMERIC = ("DOUBLE", "BIGINT", "INTEGER", "HUGEINT", "DECIMAL", "FLOAT", "SMALLINT", "UBIGINT")


def disclosure_rules() -> dict:
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    return project["vars"]["disclosure_rules"]


@pytest.fixture(scope="module")
def warehouse(demo_refresh):
    run = demo_refresh
    assert run["success"], {name: ok for name, ok in run["checks"].items() if not ok}
    with duckdb.connect(str(run["home"] / "warehouse.duckdb"), read_only=True) as con:
        yield con


def rows(con, sql):
    return con.execute(sql).fetchall()


def one(con, sql):
    return con.execute(sql).fetchone()[0]


def columns(con, table):
    return rows(
        con,
        "select column_name, data_type from information_schema.columns "
        f"where table_schema = 'publish' and table_name = '{table}' order by ordinal_position",
    )


def ours(con, table):
    """The SQL condition for the rows of `table` the rules apply to (not a publisher's)."""
    names = {name for name, _ in columns(con, table)}
    publishers = ", ".join(f"'{s}'" for s in disclosure_rules()["publisher_sources"])
    if "disclosure_applied" in names:
        return "disclosure_applied"
    if "source" in names:
        return f"coalesce(source not in ({publishers}), true)"
    return "true"


def test_publish_holds_exactly_the_published_tables(warehouse):
    tables = {
        name
        for (name,) in rows(
            warehouse,
            "select table_name from information_schema.tables where table_schema = 'publish'",
        )
    }
    assert tables == PUBLISHED_TABLES
    # changes are computed between published releases, by the publication step
    assert "mart_changes" not in tables


def test_every_column_has_a_bi_usable_type(warehouse):
    for table in PUBLISHED_TABLES:
        for name, data_type in columns(warehouse, table):
            assert not re.search(r"JSON|\[\]|STRUCT|MAP|UNION", data_type), (table, name, data_type)


def test_every_row_carries_the_rule_set_version(warehouse):
    version = disclosure_rules()["version"]
    for table in PUBLISHED_TABLES:
        versions = rows(warehouse, f"select distinct disclosure_rules_version from publish.{table}")
        assert versions == [(version,)], table


def test_no_count_column_anywhere_shows_a_disclosive_count(warehouse):
    rules = disclosure_rules()
    low, high, base = rules["suppress_min"], rules["suppress_max"], rules["round_to"]
    scanned = 0
    for table in PUBLISHED_TABLES:
        names = {name: data_type for name, data_type in columns(warehouse, table)}
        where_ours = ours(warehouse, table)
        for name, data_type in names.items():
            if not COUNT_COLUMN.match(name):
                continue
            assert data_type.startswith(NUMERIC), (table, name, data_type)
            scanned += 1
            # anywhere, publishers' rows included (the demo's publisher shows none either)
            assert (
                one(
                    warehouse,
                    f"select count(*) from publish.{table} where {name} between {low} and {high}",
                )
                == 0
            ), (table, name)
            # every count computed here rounded to the base (0 stays 0)
            assert (
                one(
                    warehouse,
                    f"select count(*) from publish.{table} "
                    f"where {where_ours} and {name} % {base} <> 0",
                )
                == 0
            ), (table, name)
            if name.endswith("denominator"):
                numerator = name[: -len("denominator")] + "numerator"
                if numerator in names:
                    assert (
                        one(
                            warehouse,
                            f"select count(*) from publish.{table} "
                            f"where {name} - {numerator} between {low} and {high}",
                        )
                        == 0
                    ), (table, name)
    # fct_indicator_values, mart_ward_profile and mart_inequality: 2 each; the
    # proportionate universalism mart: 4
    assert scanned == 10


def test_the_marts_do_hold_disclosive_counts_the_publish_layer_removes(warehouse):
    # the scan above is meaningful: the marts the publish layer reads hold such counts
    assert (
        one(
            warehouse,
            "select count(*) from marts.fct_indicator_values "
            "where source <> 'OHID Fingertips' and numerator between 1 and 7",
        )
        > 0
    )
    assert (
        one(
            warehouse,
            "select count(*) from marts.fct_indicator_values "
            "where source <> 'OHID Fingertips' and numerator % 5 <> 0",
        )
        > 0
    )


def test_suppressed_rows_by_reason(warehouse):
    counts = dict(
        rows(
            warehouse,
            "select coalesce(suppression_reason, 'shown'), count(*) "
            "from publish.fct_indicator_values group by 1",
        )
    )
    assert set(counts) - {"shown"} <= REASONS
    for reason in ("primary", "complement", "denominator", "secondary", "publisher"):
        assert counts.get(reason, 0) > 0, (reason, counts)
    assert counts["shown"] > counts["primary"]
    # is_suppressed and suppression_reason agree everywhere they appear
    for table in PUBLISHED_TABLES:
        names = {name for name, _ in columns(warehouse, table)}
        if {"is_suppressed", "suppression_reason"} <= names:
            assert (
                one(
                    warehouse,
                    f"select count(*) from publish.{table} where is_suppressed is distinct from "
                    "(suppression_reason is not null) and suppression_reason is not null",
                )
                == 0
            ), table


def test_nothing_is_shown_where_a_cell_is_suppressed(warehouse):
    hiding = ", ".join(f"'{r}'" for r in HIDING)
    for table in ("fct_indicator_values", "mart_ward_profile", "mart_inequality"):
        names = {name for name, _ in columns(warehouse, table)}
        shown = [
            c
            for c in ("value", "lower_ci_95", "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8")
            if c in names
        ]
        assert (
            one(
                warehouse,
                f"select count(*) from publish.{table} where {ours(warehouse, table)} "
                f"and is_suppressed and coalesce({', '.join(shown)}) is not null",
            )
            == 0
        ), table
        assert (
            one(
                warehouse,
                f"select count(*) from publish.{table} "
                f"where suppression_reason in ({hiding}) and numerator is not null",
            )
            == 0
        ), table
    # the inequality measures only where no quantile of the scheme is suppressed
    assert (
        one(
            warehouse,
            "select count(*) from publish.mart_inequality where measures_withheld "
            "and (coalesce(absolute_gap, sii, rii, sii_lower) is not null"
            " or gap_trend is not null)",
        )
        == 0
    )
    assert (
        one(
            warehouse,
            "select count(*) from publish.mart_inequality "
            "where is_suppressed and not measures_withheld",
        )
        == 0
    )
    assert (
        one(
            warehouse,
            "select count(*) from publish.fct_indicator_values "
            "where disclosure_applied and is_suppressed "
            "and (compared_to_england is not null or direction_of_travel is not null)",
        )
        == 0
    )


def test_no_lone_suppressed_cell_in_a_group_of_siblings(warehouse):
    hiding = ", ".join(f"'{r}'" for r in HIDING)
    groups = {
        "wards or LSOAs of the place": (
            "area_type in ('ward', 'lsoa')",
            "indicator_id, period, sex, age, area_type, category_type, category",
        ),
        "LSOAs of a ward": (
            "area_type = 'lsoa'",
            "indicator_id, period, sex, age, parent_area_code, category_type, category",
        ),
        "categories of a breakdown": (
            "category_type is not null",
            "indicator_id, period, sex, age, area_code, category_type",
        ),
    }
    for name, (where, key) in groups.items():
        lone = one(
            warehouse,
            "select count(*) from ("
            f"  select {key} from publish.fct_indicator_values"
            f"  where disclosure_applied and {where} group by all"
            f"  having count(*) filter (where suppression_reason in ({hiding})) = 1"
            "   and count(*) > 1)",
        )
        assert lone == 0, name
    # FSM / non-FSM / unknown at the place add up to all pupils: secondary cells exist there
    assert (
        one(
            warehouse,
            "select count(*) from publish.fct_indicator_values "
            "where suppression_reason = 'secondary' and category_type is not null",
        )
        > 0
    )


def test_publishers_values_are_shown_as_published(warehouse):
    differing = one(
        warehouse,
        "select count(*) from marts.fct_indicator_values as m "
        "join publish.fct_indicator_values as p using (value_key) "
        "where m.source = 'OHID Fingertips' and ("
        " m.value is distinct from p.value or m.numerator is distinct from p.numerator"
        " or m.lower_ci_95 is distinct from p.lower_ci_95 or p.disclosure_applied)",
    )
    assert differing == 0
    # a Fingertips row without a value stays without one, flagged as the publisher's
    assert (
        one(
            warehouse,
            "select count(*) from publish.fct_indicator_values where source = 'OHID Fingertips' "
            "and value is null and suppression_reason is distinct from 'publisher'",
        )
        == 0
    )
    assert one(warehouse, "select count(*) from publish.fct_indicator_values") == one(
        warehouse, "select count(*) from marts.fct_indicator_values"
    )


def test_periods_are_real_dates(warehouse):
    for table in PUBLISHED_TABLES:
        names = {name: data_type for name, data_type in columns(warehouse, table)}
        for name in names:
            if name == "period" or name.endswith("_period") and name != "previous_period":
                start, end = f"{name}_start", f"{name}_end"
                if name == "period":
                    start, end = "period_start", "period_end"
                assert names[start] == "DATE" and names[end] == "DATE", (table, name)
                assert (
                    one(
                        warehouse,
                        f"select count(*) from publish.{table} where {name} is not null "
                        f"and ({start} is null or {end} is null or {end} < {start})",
                    )
                    == 0
                ), (table, name)
    dates = dict(
        (period, (str(start), str(end)))
        for period, start, end in rows(
            warehouse,
            "select distinct period, period_start, period_end from publish.fct_indicator_values "
            "where period in ('2023/24', '2017 - 19', '2023-24 Q4', '2024-03', '2023')"
            " and indicator_id in ('school_readiness_gld_local', 'life_expectancy_birth',"
            " 'temporary_accommodation_rate', 'claimant_rate', 'crime_rate')",
        )
    )
    assert dates["2023/24"] == ("2023-09-01", "2024-08-31")  # academic year
    assert dates["2017 - 19"] == ("2017-01-01", "2019-12-31")
    assert dates["2023-24 Q4"] == ("2024-01-01", "2024-03-31")
    assert dates["2024-03"] == ("2024-03-01", "2024-03-31")


def test_stories_publish_no_text_of_unpublishable_stories(warehouse):
    withheld = [
        body
        for (body,) in rows(
            warehouse,
            # the latest version of each story (staging) that may not be published, with the
            # text its partner sent (raw)
            "select r.body from raw.vcs__stories as r "
            "join staging.stg_vcs__stories as s "
            "on r.title = s.title and r._sha256 = s.delivery_sha256 "
            "where not s.is_publishable",
        )
        if body
    ]
    assert withheld, "the demo holds stories that may not be published"
    published = [body for (body,) in rows(warehouse, "select body from publish.mart_stories")]
    assert published
    for body in withheld:
        assert body not in published
        assert not any(body[:40] in text for text in published if text)
