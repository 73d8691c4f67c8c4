"""The publishers' raw tables: the one definition of their columns and SQL types.

Parsers write these columns in this order; ``replace_raw_table`` creates the tables from
these types; the dbt sources (``dbt_project/models/staging/sources.yml``) and
``docs/raw-tables.md`` are tested against this (tests/test_raw_tables.py). Partner tables
are defined by their dataset contracts instead (``marmot_assets/partners/contracts``).
"""

from __future__ import annotations

RAW_TABLES: dict[str, dict[str, str]] = {
    "place_areas": {
        "area_code": "VARCHAR",
        "area_name": "VARCHAR",
        "area_type": "VARCHAR",
        "is_place": "BOOLEAN",
    },
    # Every partner dataset contract (marmot_assets/partners/contracts), one row each: what
    # dbt needs to know of them (whether the partner publishes the dataset itself).
    "partner_datasets": {
        "partner": "VARCHAR",
        "dataset": "VARCHAR",
        "title": "VARCHAR",
        "publication_cadence": "VARCHAR",
        "record_level": "BOOLEAN",
        "public_register": "BOOLEAN",
    },
    "ons_lsoa_ward_lookup": {
        "lsoa_code": "VARCHAR",
        "lsoa_name": "VARCHAR",
        "ward_code": "VARCHAR",
        "ward_name": "VARCHAR",
        "lad_code": "VARCHAR",
        "lad_name": "VARCHAR",
        "geography_vintage": "VARCHAR",
    },
    # ONS's LSOA (2011) -> LSOA (2021) -> LAD (2022) lookup, rows touching the place: one row
    # per pair of related LSOAs, with ONS's change indicator (U, S, M or X).
    "ons_lsoa11_lsoa21_lookup": {
        "lsoa11_code": "VARCHAR",
        "lsoa11_name": "VARCHAR",
        "lsoa21_code": "VARCHAR",
        "lsoa21_name": "VARCHAR",
        "change_indicator": "VARCHAR",
        "lad_code": "VARCHAR",
        "lad_name": "VARCHAR",
    },
    "ons_population_estimates": {
        "mid_year": "INTEGER",
        "lsoa_code": "VARCHAR",
        "sex": "VARCHAR",
        "age": "INTEGER",
        "population": "INTEGER",
    },
    "mhclg_imd_lsoa": {
        **{c: "VARCHAR" for c in ("lsoa_code", "lsoa_name", "lad_code", "lad_name")},
        **{
            f"{domain}_{kind}": "INTEGER"
            for domain in (
                "imd",
                "income",
                "employment",
                "education",
                "health",
                "crime",
                "barriers",
                "living_environment",
            )
            for kind in ("rank", "decile")
        },
        **{
            c: "INTEGER"
            for c in (
                "population_total",
                "population_aged_0_15",
                "population_aged_16_59",
                "population_aged_60_plus",
                "population_working_age",
            )
        },
        "release": "VARCHAR",
    },
    "fingertips_indicator_values": {
        "indicator_id": "INTEGER",
        **{
            c: "VARCHAR"
            for c in (
                "indicator_name",
                "parent_code",
                "parent_name",
                "area_code",
                "area_name",
                "area_type",
                "sex",
                "age",
                "category_type",
                "category",
                "time_period",
            )
        },
        **{
            c: "DOUBLE"
            for c in (
                "value",
                "lower_ci_95",
                "upper_ci_95",
                "lower_ci_99_8",
                "upper_ci_99_8",
                "count",
                "denominator",
            )
        },
        **{
            c: "VARCHAR"
            for c in ("value_note", "recent_trend", "compared_to_england", "compared_to_parent")
        },
        "time_period_sortable": "BIGINT",
        **{c: "VARCHAR" for c in ("new_data", "compared_to_goal", "time_period_range")},
    },
}


def raw_columns(table: str) -> list[str]:
    return list(RAW_TABLES[table])
