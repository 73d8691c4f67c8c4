"""Life expectancy computed here from death registrations (PCMD) and the ONS estimates.

Fingertips stopped publishing ward-level life expectancy in 2025; this model computes it as
OHID does (marmot_assets.methods.life_expectancy: Chiang II abridged life table, Silcocks'
last band, phe_life_expectancy), at birth and at 65, by sex, for every area and pooled period
of int_life_expectancy_inputs. A value is withheld, with OHID's reason in value_note, where
its rules say so (a pooled population of 5,000 or less, no deaths at 90+, a 95% interval
wider than 20 years). The numerator is the deaths (from 65 for life expectancy at 65), the
denominator the pooled residents, so the publish layer's disclosure control sees the counts.

Then the slope index of inequality in life expectancy at birth across the place's national
IMD deciles (as Fingertips 92901, three pooled years): marmot_assets.methods.sii on the
deciles with a value, weighted by their residents, limits simulated from each decile's 95%
interval (100,000 draws, seed from the group's key so a rebuild gives the same limits).
"""

import hashlib

import numpy as np
import pandas as pd

from marmot_assets.transform.indicator_rows import VALUE_COLUMNS, group_key

GROUP = ["area_code", "area_type", "category_type", "category", "pool_years", "period"]
# (pool years, start age) -> indicator id and its catalogue age label
INDICATORS = {
    (3, 0): ("life_expectancy_birth_local", "All ages"),
    (3, 65): ("life_expectancy_65_local", "65 yrs"),
    (5, 0): ("life_expectancy_birth_local_5y", "All ages"),
    (5, 65): ("life_expectancy_65_local_5y", "65 yrs"),
}
SII_INDICATOR = "life_expectancy_sii_local"
SOURCE = "nhs_pcmd"


def _reason(table: pd.DataFrame) -> str:
    """Why a value is withheld, in the method's own words (OHID's rules)."""
    return table.attrs.get("reason") or "life expectancy not calculated"


def life_expectancy_rows(inputs: pd.DataFrame) -> list[dict]:
    """One row per group, sex and start age (0 and 65), in int_all_indicator_values' shape."""
    from marmot_assets.methods import life_expectancy

    rows = []
    for key, group in inputs.groupby([*GROUP, "sex"], sort=True, dropna=False):
        group = group.sort_values("start_age")
        deaths = group["deaths"].to_numpy(dtype=float)
        residents = group["population"].to_numpy(dtype=float)
        ages = group["start_age"].to_numpy(dtype=int)
        tables = {
            level: life_expectancy(deaths, residents, ages, confidence=level)
            for level in (0.95, 0.998)
        }
        parts = dict(zip([*GROUP, "sex"], map(group_key, key), strict=True))
        for start_age in (0, 65):
            indicator_id, age_label = INDICATORS[parts["pool_years"], start_age]
            at = {level: t.loc[t["start_age"] == start_age].iloc[0] for level, t in tables.items()}
            value = at[0.95]["value"]
            withheld = bool(np.isnan(value))
            limits = {
                name: None if withheld else float(at[level][bound])
                for name, level, bound in (
                    ("lower_ci_95", 0.95, "lower"),
                    ("upper_ci_95", 0.95, "upper"),
                    ("lower_ci_99_8", 0.998, "lower"),
                    ("upper_ci_99_8", 0.998, "upper"),
                )
            }
            older = ages >= start_age
            rows.append(
                {
                    "indicator_id": indicator_id,
                    "area_code": parts["area_code"],
                    "area_type": parts["area_type"],
                    "period": parts["period"],
                    "period_sortable": int(group["period_sortable"].iloc[0]),
                    "sex": parts["sex"],
                    "age": age_label,
                    "category_type": parts["category_type"],
                    "category": parts["category"],
                    "numerator": float(deaths[older].sum()),
                    "denominator": float(residents[older].sum()),
                    "value": None if withheld else float(value),
                    **limits,
                    "value_note": _reason(tables[0.95]) if withheld else None,
                }
            )
    return rows


def sii_arguments(area_code: str, period: str, sex: str, group: pd.DataFrame) -> dict:
    """marmot_assets.methods.sii's arguments for one area, period and sex: its deciles with a
    value, weighted by their residents, the seed from the group's key."""
    key = "|".join((SII_INDICATOR, area_code, period, sex))
    return {
        "values": group["value"].to_numpy(dtype=float),
        "populations": group["denominator"].to_numpy(dtype=float),
        "lower_cis": group["lower_ci_95"].to_numpy(dtype=float),
        "upper_cis": group["upper_ci_95"].to_numpy(dtype=float),
        "value_type": 0,
        "repetitions": 100_000,
        "seed": int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"),
    }


def sii_rows(values: pd.DataFrame) -> list[dict]:
    """The SII of life expectancy at birth across the national IMD deciles with a value."""
    from marmot_assets.methods import sii_each

    deciles = values[
        (values["indicator_id"] == INDICATORS[3, 0][0])
        & (values["category_type"] == "National IMD decile")
        & values["value"].notna()
    ]
    groups = []
    for (area_code, period, sex), group in deciles.groupby(["area_code", "period", "sex"]):
        group = group.assign(decile=group["category"].astype(int)).sort_values("decile")
        groups.append((area_code, period, sex, group))
    results = sii_each([sii_arguments(*key, group) for *key, group in groups])
    rows = []
    for (area_code, period, sex, group), result in zip(groups, results, strict=True):
        value = result["sii"]
        rows.append(
            {
                "indicator_id": SII_INDICATOR,
                "area_code": area_code,
                "area_type": "local_authority",
                "period": period,
                "period_sortable": int(group["period_sortable"].iloc[0]),
                "sex": sex,
                "age": "All ages",
                "category_type": None,
                "category": None,
                # not a count: the deciles' deaths are published (under control) on their rows
                "numerator": None,
                "denominator": None,
                "value": None if np.isnan(value) else value,
                "lower_ci_95": None if np.isnan(result["sii_lower"]) else result["sii_lower"],
                "upper_ci_95": None if np.isnan(result["sii_upper"]) else result["sii_upper"],
                "lower_ci_99_8": None,
                "upper_ci_99_8": None,
                "value_note": result["reason"],
            }
        )
    return rows


def model(dbt, session):
    dbt.config(materialized="table")
    inputs = dbt.ref("int_life_expectancy_inputs").df()
    values = pd.DataFrame(life_expectancy_rows(inputs), columns=VALUE_COLUMNS)
    frame = pd.concat(
        [values, pd.DataFrame(sii_rows(values), columns=VALUE_COLUMNS)], ignore_index=True
    )
    frame["source"] = SOURCE
    frame["is_partial"] = False
    # Typed explicitly: all-empty columns must still be text, the numbers doubles.
    for column in ("compared_to_england", "value_note", "coverage_note", "category_type"):
        frame[column] = frame[column].astype("string")
    frame["category"] = frame["category"].astype("string")
    for column in ("numerator", "denominator", "value", "lower_ci_95", "upper_ci_95",
                   "lower_ci_99_8", "upper_ci_99_8"):  # fmt: skip
        frame[column] = frame[column].astype("float64")
    frame["period_sortable"] = frame["period_sortable"].astype("int64")
    frame["coverage_months"] = frame["coverage_months"].astype("Int32")
    frame["is_partial"] = frame["is_partial"].astype(bool)
    return frame
