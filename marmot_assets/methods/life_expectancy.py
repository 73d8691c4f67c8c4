"""Life expectancy by the Chiang II abridged life table with Silcocks' last band
(phe_life_expectancy)."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from marmot_assets.methods._common import StatsWarning, to_float
from marmot_assets.methods.intervals import Z95, z_value

# Start ages of the 20 bands of the abridged life table: 0, 1-4, 5-9, ..., 85-89, 90+.
LE_START_AGES: tuple[int, ...] = (0, 1) + tuple(range(5, 95, 5))


def _start_age(label: Any) -> int:
    """Leading integer of an age band label (0, "1-4", "90+", "10 – 14"), as phe_life_expectancy."""
    if isinstance(label, (int, np.integer)):
        return int(label)
    if isinstance(label, (float, np.floating)) and float(label).is_integer():
        return int(label)
    m = re.search(r"\d+", str(label))
    if m is None:
        raise ValueError(f"cannot read a start age from age band {label!r}")
    return int(m.group())


def life_expectancy(deaths, populations, start_ages, confidence: float = 0.95) -> pd.DataFrame:
    """Life expectancy at each start age: Chiang II abridged life table (phe_life_expectancy).

    Needs the 20 bands 0, 1-4, 5-9, ..., 85-89, 90+ exactly once each (``start_ages`` as numbers
    0, 1, 5, ..., 90 or labels such as "1-4", "90+"; any order). A missing, repeated or unknown band
    raises ValueError naming it; so does a band whose deaths or population is missing.

    Method: aᵢ = 0.1 at age 0 and 0.5 otherwise; qᵢ = Mᵢnᵢ/(1 + Mᵢnᵢ(1 − aᵢ)) (capped at 1),
    l₀ = 100,000; Lᵢ = nᵢ(lᵢ₊₁ + aᵢdᵢ) and L = l/M in the last band; eᵢ = Tᵢ/lᵢ. Standard errors by
    Chiang's variance with Silcocks' term 4/(D·M²)·(l/2)² for the last band; limits e ∓ z·se.

    As PHEindicatormethods, all values are NaN (with a :class:`StatsWarning`) when any deaths are
    negative, any population is <= 0, deaths exceed the population in a band, the total
    population is <= 5,000, or the 90+ band has no deaths; and a value (not its limits) is NaN
    when its 95% interval is wider than 20 years. The reason is also in
    ``result.attrs["reason"]`` (None when nothing was suppressed).

    Returns a DataFrame with one row per start age, ascending: start_age, value, lower, upper.
    """
    d = to_float(deaths).ravel()
    p = to_float(populations).ravel()
    labels = list(start_ages.tolist() if hasattr(start_ages, "tolist") else start_ages)
    if not (len(d) == len(p) == len(labels)):
        raise ValueError(
            f"deaths ({len(d)}), populations ({len(p)}) and start_ages ({len(labels)}) "
            "must have the same length"
        )
    ages = [_start_age(a) for a in labels]
    expected = set(LE_START_AGES)
    missing = sorted(expected - set(ages))
    unknown = sorted(set(ages) - expected)
    repeated = sorted({a for a in ages if ages.count(a) > 1})
    problems = []
    if missing:
        problems.append("missing age band(s) starting at " + ", ".join(map(str, missing)))
    if unknown:
        problems.append("unknown age band(s) starting at " + ", ".join(map(str, unknown)))
    if repeated:
        problems.append("repeated age band(s) starting at " + ", ".join(map(str, repeated)))
    if problems:
        raise ValueError(
            "life expectancy needs the 20 age bands 0, 1-4, 5-9, ..., 85-89, 90+: "
            + "; ".join(problems)
        )
    order = np.argsort(ages, kind="stable")
    age = np.asarray(ages)[order]
    d, p = d[order], p[order]
    no_data = age[np.isnan(d) | np.isnan(p)]
    if no_data.size:
        raise ValueError(
            "deaths or population missing for age band(s) starting at "
            + ", ".join(map(str, no_data.tolist()))
        )

    out = pd.DataFrame(
        {"start_age": age.astype(int), "value": np.nan, "lower": np.nan, "upper": np.nan}
    )
    z = z_value(confidence)

    reason = None
    if np.any(d < 0):
        reason = "some age bands have negative deaths"
    elif np.any(p <= 0):
        reason = "some age bands have a zero or negative population"
    elif np.any(d > p):
        reason = "some age bands have more deaths than population"
    elif p.sum() <= 5000:
        reason = "the total population is 5,000 or less"
    elif d[-1] == 0:
        reason = "no deaths in the 90+ band (its life expectancy 1/M is unbounded)"
    if reason is not None:
        reason += "; life expectancy not calculated (PHEindicatormethods)"
        warnings.warn(reason, StatsWarning, stacklevel=2)
        out.attrs["reason"] = reason
        return out

    k = len(age)
    last = k - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        M = d / p
        n = np.empty(k)
        n[:last] = np.diff(age).astype(float)
        n[last] = 2.0 / M[last]
        a = np.where(age == 0, 0.1, 0.5)
        q = np.where(d <= p / n / a, M * n / (1.0 + M * n * (1.0 - a)), 1.0)
        q[last] = 1.0
        pr = 1.0 - q
        lx = 1e5 * np.concatenate(([1.0], np.cumprod(pr[:last])))  # survivors to each age
        lx_next = np.append(lx[1:], 0.0)
        dl = lx - lx_next
        L = np.empty(k)
        L[:last] = n[:last] * (lx_next[:last] + a[:last] * dl[:last])
        L[last] = lx[last] / M[last]
        T = np.cumsum(L[::-1])[::-1]
        e = np.where(lx == 0, 0.0, T / lx)

        sp = np.where(dl == 0, 0.0, q**2 * (1.0 - q) / d)
        sp[last] = 4.0 / (d[last] * M[last] ** 2)
        W = np.empty(k)
        e_next = np.append(e[1:], np.nan)
        W[:last] = sp[:last] * lx[:last] ** 2 * ((1.0 - a[:last]) * n[:last] + e_next[:last]) ** 2
        W[last] = (lx[last] / 2.0) ** 2 * sp[last]
        ST = np.cumsum(W[::-1])[::-1]
        se = np.sqrt(ST / lx**2)

    lower = e - z * se  # NaN where lx = 0 (everyone has died before that age), as R
    upper = e + z * se
    value = e
    with np.errstate(invalid="ignore"):
        wide = Z95 * se > 10  # the 95% interval is wider than 20 years (NaN -> False)
    notes = []
    if wide.any():
        value = np.where(wide, np.nan, value)
        notes.append(
            "life expectancy suppressed at start age(s) "
            + ", ".join(map(str, age[wide].tolist()))
            + ": 95% confidence interval wider than 20 years (PHEindicatormethods)"
        )
    out["value"], out["lower"], out["upper"] = value, lower, upper
    out.attrs["reason"] = "; ".join(notes) if notes else None
    for note in notes:
        warnings.warn(note, StatsWarning, stacklevel=2)
    return out
