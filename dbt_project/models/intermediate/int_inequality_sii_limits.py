"""Confidence limits of the slope and relative indices of inequality, by simulation.

The SII and RII point estimates are closed-form and computed in SQL (mart_inequality); their
limits need simulation from each quantile's standard error (100,000 draws, as OHID's phe_sii),
which SQL cannot do, so this Python model calls marmot_assets.methods.sii. The seed is derived
from the group's key, so a rebuild gives the same limits and mart_changes sees no noise.

The limits are thus a function of the group's key, its rows and the method's code alone: each
row keeps a digest of all three (inputs_sha256), and a rebuild takes the limits of a group
whose digest is unchanged from the table it replaces instead of drawing them again. A partner
file touches a few groups; the simulation of the other hundred (~3 s) is not repeated.
"""

import hashlib
import inspect

import duckdb
import pandas as pd

KEY = ["indicator_id", "period", "sex", "age", "quantile_scheme"]
# logit for proportions, log for rates (directly standardised ones too, as phe_sii's
# value_type 1); none for the rest (life expectancy, means: value_type 0)
VALUE_TYPES = {"proportion": 2, "rate": 1, "dsr": 1}
INPUTS = ["quantile", "value", "population", "lower_ci_95", "upper_ci_95", "method", "multiplier"]
REPETITIONS = 100_000
LIMITS = ["quantiles", "sii_lower", "sii_upper", "rii_lower", "rii_upper", "sii_reason"]


def inputs_digest(key, group: pd.DataFrame, method_code: str) -> str:
    """SHA-256 of what a group's limits are computed from: the method's code and the number of
    draws, the group's key (its seed) and its rows (floats written exactly, by repr)."""
    digest = hashlib.sha256(f"{method_code}\n{REPETITIONS}\n{key!r}\n".encode())
    digest.update(group[INPUTS].to_csv(index=False, float_format=repr).encode())
    return digest.hexdigest()


def previous_limits(session, this) -> dict[str, dict]:
    """The limits the table being replaced holds, by inputs_sha256 (none on a first build, or
    from a table of another shape)."""
    try:
        frame = session.execute(f"select * from {this}").df()
    except duckdb.Error:
        return {}
    if not {"inputs_sha256", *LIMITS} <= set(frame.columns):
        return {}
    return {row["inputs_sha256"]: row for row in frame.to_dict("records")}


def proportion_scale(group: pd.DataFrame) -> float:
    """Proportions go in as fractions 0..1; the SII scales back by the multiplier."""
    return float(group["multiplier"].iloc[0]) if value_type(group) == 2 else 1.0


def value_type(group: pd.DataFrame) -> int:
    return VALUE_TYPES.get(group["method"].iloc[0], 0)


def sii_arguments(key, group: pd.DataFrame) -> dict:
    """marmot_assets.methods.sii's arguments for a group, its seed from the group's key."""
    scale = proportion_scale(group)
    seed = int.from_bytes(hashlib.sha256("|".join(map(str, key)).encode()).digest()[:8], "big")
    return {
        "values": group["value"].to_numpy(dtype=float) / scale,
        "populations": group["population"].to_numpy(dtype=float),
        "lower_cis": group["lower_ci_95"].to_numpy(dtype=float) / scale,
        "upper_cis": group["upper_ci_95"].to_numpy(dtype=float) / scale,
        "value_type": value_type(group),
        "repetitions": REPETITIONS,
        "seed": seed,
    }


def model(dbt, session):
    dbt.config(materialized="table")
    from marmot_assets.methods import _common, intervals, sii, sii_each

    # the method's code: its module and the modules it draws on
    method_code = "".join(
        inspect.getsource(m) for m in (inspect.getmodule(sii), _common, intervals)
    )
    quantiles = dbt.ref("int_inequality_quantiles").df()
    known = previous_limits(session, dbt.this)
    rows, drawn = [], []
    for key, group in quantiles.groupby(KEY, sort=True):
        group = group.sort_values("quantile")
        digest = inputs_digest(key, group, method_code)
        if digest in known:
            kept = known[digest]
            rows.append(
                dict(zip(KEY, key, strict=False), **{c: kept[c] for c in LIMITS})
                | {"inputs_sha256": digest}
            )
        else:
            drawn.append((len(rows), key, group, digest))
            rows.append(None)  # drawn below
    # every group to draw at once, on every core (the same limits as one by one)
    results = sii_each([sii_arguments(key, group) for _, key, group, _ in drawn])
    for (at, key, group, digest), result in zip(drawn, results, strict=True):
        scale = proportion_scale(group)
        rows[at] = dict(
            zip(KEY, key, strict=False),
            quantiles=len(group),
            sii_lower=result["sii_lower"] * scale,
            sii_upper=result["sii_upper"] * scale,
            rii_lower=result["rii_lower"],
            rii_upper=result["rii_upper"],
            sii_reason=result["reason"],
            inputs_sha256=digest,
        )
    frame = pd.DataFrame(rows, columns=[*KEY, *LIMITS, "inputs_sha256"])
    # Typed explicitly: an all-empty reason column must still be text, the limits doubles.
    frame["sii_reason"] = frame["sii_reason"].astype("string")
    frame["quantiles"] = frame["quantiles"].astype("int64")
    for column in ("sii_lower", "sii_upper", "rii_lower", "rii_upper"):
        frame[column] = frame[column].astype("float64")
    return frame
