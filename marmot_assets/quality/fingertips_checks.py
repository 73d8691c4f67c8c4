"""Blocking quality gate on the Fingertips source: nothing downstream builds on bad rows."""

from __future__ import annotations

import dagster as dg
from dagster_duckdb import DuckDBResource

from marmot_assets.quality.expectations import ExpectationsResource, at_least, outcome_metadata
from marmot_assets.warehouse import WAREHOUSE_POOL

SUITE = "fingertips_indicator_values"
KEY = ["indicator_id", "area_code", "sex", "age", "category_type", "category", "time_period"]


def fingertips_expectations(indicator_ids: list[int]) -> list:
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectTableRowCountToBeBetween(min_value=1),
        E.ExpectColumnValuesToNotBeNull(column="area_code"),
        E.ExpectColumnValuesToMatchRegex(column="area_code", regex=r"^E(?:92|12|0[6-9]|05)\d{6}$"),
        E.ExpectColumnValuesToBeInSet(column="indicator_id", value_set=indicator_ids),
        at_least("value", "lower_ci_95"),
        at_least("upper_ci_95", "value"),
        E.ExpectColumnValuesToBeBetween(column="count", min_value=0),
        E.ExpectColumnValuesToBeBetween(column="denominator", min_value=0, strict_min=True),
        E.ExpectCompoundColumnsToBeUnique(column_list=KEY, ignore_row_if="never"),
    ]


def loaded(con):
    """The table as the check validates it."""
    return con.execute("SELECT * FROM raw.fingertips_indicator_values").df()


def validate_ahead(con, expectations: ExpectationsResource, indicator_ids: list[int]) -> bool:
    """The check's suite started on the table just loaded (called by the source's asset):
    it runs in the suites' process while the run's next steps do, and the check takes its
    outcome if the table is still the same (``ExpectationsResource.validate_ahead``)."""
    return expectations.validate_ahead(loaded(con), SUITE, fingertips_expectations, indicator_ids)


@dg.asset_check(
    asset=dg.AssetKey(["raw", "fingertips_indicator_values"]),
    name="fingertips_values_valid",
    description=(
        "great-expectations suite: valid area codes for the place, its comparators and "
        "wards; only catalogue indicators; lower 95% limit <= value <= upper 95% limit; "
        "non-negative counts; no duplicate keys. Blocking: dbt does not build on failure."
    ),
    blocking=True,
    pool=WAREHOUSE_POOL,
    # After the partners' deliveries in a run (they do not wait on it; dbt does): its suite,
    # started ahead by the source's asset, is done by then (validate_ahead)
    op_tags={"dagster/priority": "-1"},
)
def fingertips_values_valid(
    warehouse: DuckDBResource, expectations: ExpectationsResource
) -> dg.AssetCheckResult:
    # (imported here: this module is also imported by the suites' own process, which needs
    # only the suite, not the source and the dbt project it imports)
    from marmot_assets.sources.fingertips import catalogue_fingertips_ids

    with warehouse.get_connection() as con:
        frame = loaded(con)
    outcome = expectations.validate(
        frame, SUITE, fingertips_expectations, catalogue_fingertips_ids()
    )
    return dg.AssetCheckResult(
        passed=outcome.success,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={**outcome_metadata(outcome), "rows_checked": dg.MetadataValue.int(len(frame))},
    )
