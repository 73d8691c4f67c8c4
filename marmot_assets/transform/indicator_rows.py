"""The shape of an indicator value row, for the dbt Python models that compute values from
partner data (int_life_expectancy_local, int_preventable_mortality_local): the columns
int_all_indicator_values unions, in one place."""

from __future__ import annotations

import math

VALUE_COLUMNS = [
    "indicator_id", "area_code", "area_type", "period", "period_sortable", "sex", "age",
    "category_type", "category", "numerator", "denominator", "value", "lower_ci_95",
    "upper_ci_95", "lower_ci_99_8", "upper_ci_99_8", "compared_to_england", "value_note",
    "source", "is_partial", "coverage_months", "coverage_note",
]  # fmt: skip


def group_key(value):
    """A group key's part, NaN and None as None (pandas groups on NaN with dropna=False)."""
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value
