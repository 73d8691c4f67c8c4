"""Under-75 mortality from causes considered preventable, computed from PCMD deaths.

A directly standardised rate per 100,000 on the European Standard Population 2013 (its 15
bands under 75) with Dobson limits (marmot_assets.methods.dsr, as OHID's phe_dsr), persons
(both sexes pooled), three pooled years, for the place and its national IMD deciles; not
published below 10 deaths (the reason in value_note). Numerator: the preventable deaths (a
cause that is also treatable counts half); denominator: the residents under 75 summed over
the pooled years.
"""

import pandas as pd

from marmot_assets.transform.indicator_rows import VALUE_COLUMNS, group_key

INDICATOR = "preventable_mortality_u75_local"
GROUP = ["area_code", "area_type", "category_type", "category", "period"]
UNDER_75 = 15  # ESP 2013 bands 0-4 ... 70-74


def dsr_rows(inputs: pd.DataFrame) -> list[dict]:
    """One row per area and period: the DSR of both sexes' deaths under 75."""
    from marmot_assets.methods import ESP2013, dsr

    persons = inputs.groupby([*GROUP, "period_sortable", "start_age"], dropna=False)[
        ["deaths", "population"]
    ].sum()
    rows = []
    for key, group in persons.groupby(level=GROUP, sort=True, dropna=False):
        group = group.sort_index(level="start_age")
        deaths = group["deaths"].to_numpy(dtype=float)
        residents = group["population"].to_numpy(dtype=float)
        if len(deaths) != UNDER_75:
            raise ValueError(f"{key}: {len(deaths)} age bands, not the {UNDER_75} under 75")
        weights = ESP2013[:UNDER_75]
        at_95, at_998 = (dsr(deaths, residents, weights, confidence=c) for c in (0.95, 0.998))
        parts = dict(zip(GROUP, map(group_key, key), strict=True))
        withheld = at_95.reason is not None
        rows.append(
            {
                "indicator_id": INDICATOR,
                **parts,
                "period_sortable": int(group.index.get_level_values("period_sortable")[0]),
                "sex": "Persons",
                "age": "<75 yrs",
                "numerator": float(deaths.sum()),
                "denominator": float(residents.sum()),
                "value": None if withheld else at_95.value,
                "lower_ci_95": None if withheld else at_95.lower,
                "upper_ci_95": None if withheld else at_95.upper,
                "lower_ci_99_8": None if withheld else at_998.lower,
                "upper_ci_99_8": None if withheld else at_998.upper,
                "value_note": at_95.reason,
            }
        )
    return rows


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = dbt.ref("int_preventable_mortality_inputs").df()
    frame = pd.DataFrame(dsr_rows(inputs), columns=VALUE_COLUMNS)
    frame["source"] = "nhs_pcmd"
    frame["is_partial"] = False
    for column in ("compared_to_england", "value_note", "coverage_note", "category_type",
                   "category"):  # fmt: skip
        frame[column] = frame[column].astype("string")
    for column in ("numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
                   "lower_ci_99_8", "upper_ci_99_8"):  # fmt: skip
        frame[column] = frame[column].astype("float64")
    frame["period_sortable"] = frame["period_sortable"].astype("int64")
    frame["coverage_months"] = frame["coverage_months"].astype("Int32")
    frame["is_partial"] = frame["is_partial"].astype(bool)
    return frame
