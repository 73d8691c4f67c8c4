"""Confidence limits of the slope and relative indices of inequality, by simulation.

The SII and RII point estimates are closed-form and computed in SQL (mart_inequality); their
limits need simulation from each quantile's standard error (100,000 draws, as OHID's phe_sii),
which SQL cannot do, so this Python model calls marmot_assets.methods.sii. The seed is derived
from the group's key, so a rebuild gives the same limits and mart_changes sees no noise.
"""

import hashlib

import pandas as pd

KEY = ["indicator_id", "period", "sex", "age", "quantile_scheme"]
# logit for proportions, log for rates (directly standardised ones too, as phe_sii's
# value_type 1); none for the rest (life expectancy, means: value_type 0)
VALUE_TYPES = {"proportion": 2, "rate": 1, "dsr": 1}


def model(dbt, session):
    dbt.config(materialized="table")
    from marmot_assets.methods import sii

    quantiles = dbt.ref("int_inequality_quantiles").df()
    rows = []
    for key, group in quantiles.groupby(KEY, sort=True):
        group = group.sort_values("quantile")
        value_type = VALUE_TYPES.get(group["method"].iloc[0], 0)
        # Proportions go in as fractions 0..1; the SII scales back by the multiplier.
        scale = float(group["multiplier"].iloc[0]) if value_type == 2 else 1.0
        seed = int.from_bytes(hashlib.sha256("|".join(map(str, key)).encode()).digest()[:8], "big")
        result = sii(
            group["value"].to_numpy(dtype=float) / scale,
            group["population"].to_numpy(dtype=float),
            group["lower_ci_95"].to_numpy(dtype=float) / scale,
            group["upper_ci_95"].to_numpy(dtype=float) / scale,
            value_type=value_type,
            repetitions=100_000,
            seed=seed,
        )
        rows.append(
            dict(
                zip(KEY, key, strict=False),
                quantiles=len(group),
                sii_lower=result["sii_lower"] * scale,
                sii_upper=result["sii_upper"] * scale,
                rii_lower=result["rii_lower"],
                rii_upper=result["rii_upper"],
                sii_reason=result["reason"],
            )
        )
    columns = [*KEY, "quantiles", "sii_lower", "sii_upper", "rii_lower", "rii_upper", "sii_reason"]
    frame = pd.DataFrame(rows, columns=columns)
    # Typed explicitly: an all-empty reason column must still be text, the limits doubles.
    frame["sii_reason"] = frame["sii_reason"].astype("string")
    for column in ("sii_lower", "sii_upper", "rii_lower", "rii_upper"):
        frame[column] = frame[column].astype("float64")
    return frame
