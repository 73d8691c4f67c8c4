"""The audit of a staged release: great-expectations 1.x suites on what would be published.

Each function reads the staged release file (never the warehouse) and returns the suite's
outcome with the failing rows; ``assets.py`` runs each inside a blocking asset check, so a
failure stops the release and the Dagster UI shows which rule broke and on which rows. A
function's docstring is its check's description there. The suites run where ``suites`` (a
quality.expectations.ExpectationsResource) runs them: in a run, in its own process, warm
before the audit starts (the suites are built there, by the ``*_suite`` functions below).
"""

from __future__ import annotations

import pandas as pd

from marmot_assets.config import read_indicator_catalogue
from marmot_assets.publish.build import CHANGES, FACT
from marmot_assets.quality.expectations import ExpectationsResource, SuiteOutcome, at_least

KEY = ["indicator_id", "area_code", "period"]
# Units whose values may be negative (gaps, slopes) are not range-checked below zero.
SIGNED_UNITS = {"percentage points"}
SIGNED_METHODS = {"sii"}


def _gx():
    import great_expectations as gx

    return gx.expectations


def _here() -> ExpectationsResource:
    return ExpectationsResource(in_own_process=False)


def completeness_suite() -> list:
    return [_gx().ExpectColumnValuesToBeInSet(column="present", value_set=[True])]


def ranges_suite() -> list:
    return [at_least("value", "min_allowed"), at_least("max_allowed", "value")]


def limits_suite(pairs: list[tuple[str, str]]) -> list:
    return [at_least(a, b) for a, b in pairs]


def counts_suite() -> list:
    return [
        at_least("denominator", "numerator"),
        _gx().ExpectColumnValuesToBeBetween(column="numerator", min_value=0),
    ]


def row_counts_suite(tolerance: float) -> list:
    return [
        _gx().ExpectColumnValuesToBeBetween(
            column="ratio", min_value=1 - tolerance, max_value=1 + tolerance
        )
    ]


def _fact(con) -> pd.DataFrame:
    return con.execute(f"select * from {FACT}").df()


def _catalogue() -> pd.DataFrame:
    return pd.DataFrame(read_indicator_catalogue())


def completeness(con, suites: ExpectationsResource | None = None) -> SuiteOutcome:
    """Every ward and every period of each local (partner-data) ward-level indicator of the
    catalogue is in fct_indicator_values, with a value or the reason it has none (suppressed,
    or a value_note such as a ward missing from a partner's return)."""
    catalogue = _catalogue()
    local = catalogue[
        (catalogue["source"] != "fingertips")
        & catalogue["geography_levels"].str.split("|").apply(lambda levels: "ward" in levels)
    ]["indicator_id"].tolist()
    fact = _fact(con)
    tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
    if "dim_area" in tables:
        wards = con.execute("select area_code from dim_area where area_type = 'ward'").df()
    else:
        wards = fact.loc[fact["area_type"] == "ward", ["area_code"]].drop_duplicates()
    periods = fact.loc[fact["indicator_id"].isin(local), ["indicator_id", "period"]]
    expected = periods.drop_duplicates().merge(wards.drop_duplicates(), how="cross")
    # a row without a value counts only if it says why (int_local_indicator_values: a gap)
    explained = fact["value"].notna() | fact["is_suppressed"].fillna(False).astype(bool)
    explained |= fact["value_note"].notna()
    shown = fact.loc[(fact["area_type"] == "ward") & explained, KEY]
    present = shown.drop_duplicates().assign(present=True)
    grid = expected.merge(present, on=KEY, how="left")
    grid["present"] = grid["present"].astype("boolean").fillna(False).astype(bool)
    missing_indicators = sorted(set(local) - set(periods["indicator_id"]))
    if missing_indicators:  # a local indicator without any value at all
        absent = pd.DataFrame({"indicator_id": missing_indicators, "present": False})
        grid = pd.concat([grid, absent], ignore_index=True)
    return (suites or _here()).validate(grid, "publish_completeness", completeness_suite)


def ranges(con, suites: ExpectationsResource | None = None) -> SuiteOutcome:
    """Percentages within 0-100; other values (except gaps and slopes) at least 0."""
    catalogue = _catalogue()[["indicator_id", "unit", "method"]]
    fact = _fact(con).merge(catalogue, on="indicator_id", how="left")
    signed = fact["unit"].isin(SIGNED_UNITS) | fact["method"].isin(SIGNED_METHODS)
    fact["min_allowed"] = (~signed).map({True: 0.0, False: None}).astype(float)
    fact["max_allowed"] = (fact["unit"] == "%").map({True: 100.0, False: None}).astype(float)
    return (suites or _here()).validate(fact, "publish_ranges", ranges_suite)


def limits(con, suites: ExpectationsResource | None = None) -> SuiteOutcome:
    """lower <= value <= upper for the 95% and 99.8% limits."""
    pairs = [
        ("value", "lower_ci_95"),
        ("upper_ci_95", "value"),
        ("value", "lower_ci_99_8"),
        ("upper_ci_99_8", "value"),
    ]
    return (suites or _here()).validate(_fact(con), "publish_limits", limits_suite, pairs)


def counts(con, suites: ExpectationsResource | None = None) -> SuiteOutcome:
    """numerator <= denominator and numerator >= 0 for proportions."""
    catalogue = _catalogue()[["indicator_id", "method"]]
    fact = _fact(con).merge(catalogue, on="indicator_id", how="left")
    proportions = fact[fact["method"] == "proportion"]
    return (suites or _here()).validate(proportions, "publish_counts", counts_suite)


def row_counts(
    con,
    previous_counts: dict[str, int] | None,
    tolerance: float,
    suites: ExpectationsResource | None = None,
) -> SuiteOutcome:
    """Every table's rows within ``tolerance`` (e.g. 0.2 = ±20%) of the previous release's;
    a table of the previous release missing here counts as 0 rows."""
    tables = [
        r[0]
        for r in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'main'"
        ).fetchall()
        if r[0] not in (CHANGES, "release_manifest")
    ]
    previous = {t: n for t, n in (previous_counts or {}).items() if t != CHANGES}
    rows = []
    for table in sorted(set(tables) | set(previous)):
        now = con.execute(f'select count(*) from "{table}"').fetchone()[0] if table in tables else 0
        before = previous.get(table)
        ratio = None if not before else now / before
        rows.append({"table": table, "rows": now, "previous_rows": before, "ratio": ratio})
    frame = pd.DataFrame(rows, columns=["table", "rows", "previous_rows", "ratio"])
    frame["ratio"] = frame["ratio"].astype(float)
    return (suites or _here()).validate(frame, "publish_row_counts", row_counts_suite, tolerance)
