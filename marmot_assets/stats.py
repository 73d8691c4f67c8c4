"""OHID's statistical methods for indicators (brief, section 6).

Each function follows the method of the R package PHEindicatormethods (OHID) and agrees with it,
and with its Python port ``phstatsmethods`` where that covers the method, to 6 significant figures.
Distributions come from ``scipy.stats``; nothing here hand-writes a quantile function.

Conventions
-----------
* ``confidence`` is a fraction, 0.95 or 0.998 (any value strictly between 0 and 1 is accepted).
  The z value is the exact normal quantile ``norm.ppf(confidence + (1 - confidence) / 2)``:
  1.959964 for 95% and 3.090232 for 99.8%, as PHEindicatormethods' ``qnorm``.
* The element-wise functions (``wilson_ci``, ``byars_ci``, ``rate_ci``, ``significance``) take
  scalars, NumPy arrays or pandas Series, broadcast them together, and return the same kind:
  Python ``float``/``str`` for all-scalar input, a ``pandas.Series`` carrying the index of the first
  Series argument when any argument is a Series (values are aligned by position, not by index),
  otherwise a NumPy array. Missing inputs (None, NaN, pandas NA) give NaN (or "not compared").
* Invalid inputs that the reference implementation rejects (negative counts, a numerator above
  its denominator, a non-positive denominator) raise ``ValueError``.
* "Not published" results are NaN with a reason, never an exception: ``dsr`` returns a
  :class:`DSRResult` whose ``reason`` says why; ``sii`` returns a dict whose ``"reason"`` key says
  why; ``life_expectancy`` emits a :class:`StatsWarning` and stores the reason in
  ``DataFrame.attrs["reason"]``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as _st

__all__ = [
    "ESP2013",
    "ESP2013_BANDS",
    "LE_START_AGES",
    "POLARITIES",
    "DSRResult",
    "StatsWarning",
    "byars_ci",
    "dsr",
    "life_expectancy",
    "rate_ci",
    "significance",
    "sii",
    "wilson_ci",
]

# European Standard Population 2013 (brief, section 6): 19 five-year bands 0-4 ... 85-89, 90+.
ESP2013_BANDS: tuple[str, ...] = tuple(f"{a}-{a + 4}" for a in range(0, 90, 5)) + ("90+",)
ESP2013: np.ndarray = np.array(
    [
        5000,
        5500,
        5500,
        5500,
        6000,
        6000,
        6500,
        7000,
        7000,
        7000,
        7000,
        6500,
        6000,
        5500,
        5000,
        4000,
        2500,
        1500,
        1000,
    ],
    dtype=float,
)
ESP2013.flags.writeable = False

# Start ages of the 20 bands of the abridged life table: 0, 1-4, 5-9, ..., 85-89, 90+.
LE_START_AGES: tuple[int, ...] = (0, 1) + tuple(range(5, 95, 5))

POLARITIES: tuple[str, ...] = ("higher_is_better", "lower_is_better", "no_judgement")

# Standard errors of quantile values are derived from their 95% limits, as phe_sii does
# (it hard-codes qnorm(0.975) whatever the confidence asked of the SII).
_Z_INPUT_CI = float(_st.norm.ppf(0.975))

# Fewest total events for which a DSR is published (PHEindicatormethods, brief section 6).
DSR_MIN_TOTAL_COUNT = 10


class StatsWarning(UserWarning):
    """A result was suppressed to NaN (the reason is in the message)."""


# ----------------------------------------------------------------------------------------------
# helpers


def _z(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level given as a fraction."""
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"confidence must be a number, got {confidence!r}") from None
    if not 0.0 < c < 1.0:
        raise ValueError(
            f"confidence must be a fraction between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )
    return float(_st.norm.ppf(c + (1.0 - c) / 2.0))


def _to_float(a: Any) -> np.ndarray:
    """Any scalar/array/Series (None, NaN and pandas NA allowed) as a float ndarray."""
    if isinstance(a, (pd.Series, pd.Index)):
        return a.to_numpy(dtype=float, na_value=np.nan)
    if isinstance(a, pd.DataFrame):
        raise TypeError("pass a column (Series), not a DataFrame")
    try:
        return np.asarray(a, dtype=float)
    except (TypeError, ValueError):
        obj = np.asarray(a, dtype=object)
        missing = pd.isna(obj)
        out = np.where(missing, np.nan, obj)
        try:
            return out.astype(float)
        except (TypeError, ValueError):
            raise TypeError(f"expected numbers, got {a!r}") from None


def _series_template(*args: Any) -> pd.Series | None:
    for a in args:
        if isinstance(a, pd.Series):
            return a
    return None


def _wrap(arr: np.ndarray, template: pd.Series | None, name: str | None = None):
    """Return arr shaped like the inputs: float/str for scalars, Series, or ndarray."""
    arr = np.asarray(arr)
    if template is not None:
        if arr.shape != (len(template),):
            raise ValueError(
                f"result of shape {arr.shape} cannot carry the index of a Series of length "
                f"{len(template)}; pass inputs of the same length"
            )
        return pd.Series(arr, index=template.index, name=name)
    if arr.ndim == 0:
        v = arr.item()
        return v
    return arr


def _check_not_negative(arr: np.ndarray, what: str) -> None:
    if np.any(arr < 0):  # NaN compares False
        raise ValueError(f"{what} must be >= 0")


# ----------------------------------------------------------------------------------------------
# proportions, counts and rates


def wilson_ci(x, n, confidence: float = 0.95):
    """Wilson score interval of the proportion x/n, as a fraction 0..1 (phe_proportion).

    ``lower, upper = (2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``.
    The lower limit is exactly 0 when x = 0 and the upper exactly 1 when x = n (the formula gives
    these up to rounding). NaN in, NaN out. Raises ValueError when x < 0, n <= 0 or x > n.

    Returns ``(lower, upper)``.
    """
    template = _series_template(x, n)
    xa, na = _to_float(x), _to_float(n)
    _check_not_negative(xa, "x (numerator)")
    if np.any(na <= 0):
        raise ValueError("n (denominator) must be > 0")
    if np.any(xa > na):
        raise ValueError("x (numerator) must not exceed n (denominator) for a proportion")
    z = _z(confidence)
    xa, na = np.broadcast_arrays(xa, na)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = z * np.sqrt(z * z + 4.0 * xa * (1.0 - xa / na))
        lower = (2.0 * xa + z * z - root) / 2.0 / (na + z * z)
        upper = (2.0 * xa + z * z + root) / 2.0 / (na + z * z)
    present = ~np.isnan(na)
    lower = np.where((xa == 0) & present, 0.0, lower)
    upper = np.where(xa == na, 1.0, upper)
    return _wrap(lower, template, "lower"), _wrap(upper, template, "upper")


def _byars_lower(x: np.ndarray, z: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3
    # PHEindicatormethods sets a negative Byar's lower limit to NA; at x = 0 it is 0·∞ = NaN.
    return np.where(lower < 0, np.nan, lower)


def _byars_upper(x: np.ndarray, z: float) -> np.ndarray:
    x1 = x + 1.0
    return x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * np.sqrt(x1))) ** 3


def byars_ci(x, confidence: float = 0.95):
    """Byar's approximate confidence limits of an observed count x (byars_lower/byars_upper).

    ``lower = x(1 − 1/(9x) − z/(3√x))³``, ``upper = (x+1)(1 − 1/(9(x+1)) + z/(3√(x+1)))³``.
    This is the approximation alone at every x (PHEindicatormethods' internal functions); use
    :func:`rate_ci` for the published method that switches to exact Poisson limits below 10.
    Like PHEindicatormethods, a lower limit that would be negative (tiny x, high confidence) is
    NaN, and so is the lower limit at x = 0. Raises ValueError when x < 0.

    Returns ``(lower, upper)``.
    """
    template = _series_template(x)
    xa = _to_float(x)
    _check_not_negative(xa, "x (count)")
    z = _z(confidence)
    return (
        _wrap(_byars_lower(xa, z), template, "lower"),
        _wrap(_byars_upper(xa, z), template, "upper"),
    )


def _poisson_count_limits(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a count: exact Poisson below 10, Byar's from 10 (phe_rate)."""
    z = _z(confidence)
    alpha = 1.0 - float(confidence)
    small = x < 10
    with np.errstate(invalid="ignore"):
        exact_lower = _st.chi2.ppf(alpha / 2.0, 2.0 * x) / 2.0
        exact_upper = _st.chi2.ppf(1.0 - alpha / 2.0, 2.0 * x + 2.0) / 2.0
    # chi2 with 0 degrees of freedom is the point mass at 0: the exact lower limit of 0 is 0.
    exact_lower = np.where(x == 0, 0.0, exact_lower)
    lower = np.where(small, exact_lower, _byars_lower(x, z))
    upper = np.where(small, exact_upper, _byars_upper(x, z))
    nan = np.isnan(x)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def rate_ci(x, n, confidence: float = 0.95, multiplier: float = 100_000):
    """Crude rate x/n·multiplier with its confidence limits (phe_rate).

    Byar's method for x >= 10, exact Poisson limits below (lower = chi2.ppf(α/2, 2x)/2, upper =
    chi2.ppf(1 − α/2, 2x + 2)/2; the lower limit of 0 events is 0), each divided by n and scaled.
    NaN in, NaN out. Raises ValueError when x < 0 or n <= 0.

    Returns ``(value, lower, upper)``.
    """
    template = _series_template(x, n)
    xa, na = _to_float(x), _to_float(n)
    _check_not_negative(xa, "x (count)")
    if np.any(na <= 0):
        raise ValueError("n (denominator) must be > 0")
    xa, na = np.broadcast_arrays(xa, na)
    lower, upper = _poisson_count_limits(xa, confidence)
    m = float(multiplier)
    value = xa / na * m
    return (
        _wrap(value, template, "value"),
        _wrap(lower / na * m, template, "lower"),
        _wrap(upper / na * m, template, "upper"),
    )


# ----------------------------------------------------------------------------------------------
# directly standardised rates


@dataclass(frozen=True)
class DSRResult:
    """A directly standardised rate. Unpacks to three: ``value, lower, upper = dsr(...)``.

    ``reason`` is None when the rate is published, else a sentence saying why the three are NaN
    (total count below 10). For 2-D input (one row per area) ``value``/``lower``/``upper`` are
    arrays and ``reason`` is an object array of str/None, one per row. ``total_count`` is O = Σx.
    """

    value: Any
    lower: Any
    upper: Any
    reason: Any = None
    total_count: Any = None

    def __iter__(self) -> Iterator[Any]:
        return iter((self.value, self.lower, self.upper))

    def __len__(self) -> int:
        return 3

    def __getitem__(self, i):
        return (self.value, self.lower, self.upper)[i]


def dsr(
    counts, populations, standard_populations, confidence: float = 0.95, multiplier: float = 100_000
) -> DSRResult:
    """Directly standardised rate with Dobson confidence limits (phe_dsr / calculate_dsr).

    ``DSR = Σ wᵢxᵢ/nᵢ / Σwᵢ · multiplier``, ``var = Σ wᵢ²xᵢ/nᵢ² / (Σwᵢ)²``, and with O = Σxᵢ the
    limits ``DSR + sqrt(var/O)·(L(O) − O)·multiplier`` where L is Byar's lower/upper limit of O.

    ``counts`` and ``populations`` hold one value per standardisation band (last axis); pass 2-D
    arrays (areas × bands) for several areas at once. ``standard_populations`` has one weight per
    band, e.g. :data:`ESP2013` for the 19 ESP bands 0-4 ... 90+. As PHEindicatormethods, a missing
    count counts as 0; populations must be present and > 0 (ValueError otherwise), counts >= 0.

    When O < 10 the DSR is not published: value, lower and upper are NaN and ``reason`` says so.
    Returns a :class:`DSRResult` (unpacks to ``value, lower, upper``; has ``.reason``).
    """
    x = _to_float(counts)
    n = _to_float(populations)
    w = _to_float(standard_populations)
    if x.ndim == 0 or x.ndim > 2:
        raise ValueError("counts must be 1-D (bands) or 2-D (areas x bands)")
    if n.shape != x.shape:
        raise ValueError(f"counts {x.shape} and populations {n.shape} differ in shape")
    if w.ndim != 1 or w.shape[0] != x.shape[-1]:
        raise ValueError(
            f"standard_populations needs one weight per band ({x.shape[-1]}), got shape {w.shape}"
        )
    _check_not_negative(x, "counts")
    if np.any(np.isnan(n)):
        raise ValueError("populations cannot be missing")
    if np.any(n <= 0):
        raise ValueError("populations must all be > 0")
    if np.any(np.isnan(w)) or np.any(w < 0):
        raise ValueError("standard_populations must all be present and >= 0")
    z = _z(confidence)
    m = float(multiplier)
    x = np.where(np.isnan(x), 0.0, x)

    total = x.sum(axis=-1)
    wsum = w.sum()
    value = (x * w / n).sum(axis=-1) / wsum * m
    var = (x * (w / n) ** 2).sum(axis=-1) / wsum**2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(var / total) * m
        lower = value + scale * (_byars_lower(total, z) - total)
        upper = value + scale * (_byars_upper(total, z) - total)

    suppressed = total < DSR_MIN_TOTAL_COUNT
    value, lower, upper = (np.where(suppressed, np.nan, a) for a in (value, lower, upper))

    def why(o: float) -> str:
        return (
            f"total count {o:g} is below {DSR_MIN_TOTAL_COUNT}: a directly standardised rate "
            "is not published (PHEindicatormethods, brief section 6)"
        )

    if x.ndim == 1:
        return DSRResult(
            float(value),
            float(lower),
            float(upper),
            why(float(total)) if suppressed else None,
            float(total),
        )
    reasons = np.array(
        [why(o) if s else None for o, s in zip(total, suppressed, strict=True)], dtype=object
    )
    return DSRResult(value, lower, upper, reasons, total)


# ----------------------------------------------------------------------------------------------
# life expectancy


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
    d = _to_float(deaths).ravel()
    p = _to_float(populations).ravel()
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
    z = _z(confidence)

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
        l = 1e5 * np.concatenate(([1.0], np.cumprod(pr[:last])))
        l_next = np.append(l[1:], 0.0)
        dl = l - l_next
        L = np.empty(k)
        L[:last] = n[:last] * (l_next[:last] + a[:last] * dl[:last])
        L[last] = l[last] / M[last]
        T = np.cumsum(L[::-1])[::-1]
        e = np.where(l == 0, 0.0, T / l)

        sp = np.where(dl == 0, 0.0, q**2 * (1.0 - q) / d)
        sp[last] = 4.0 / (d[last] * M[last] ** 2)
        W = np.empty(k)
        e_next = np.append(e[1:], np.nan)
        W[:last] = sp[:last] * l[:last] ** 2 * ((1.0 - a[:last]) * n[:last] + e_next[:last]) ** 2
        W[last] = (l[last] / 2.0) ** 2 * sp[last]
        ST = np.cumsum(W[::-1])[::-1]
        se = np.sqrt(ST / l**2)

    lower = e - z * se  # NaN where l = 0 (everyone has died before that age), as R
    upper = e + z * se
    value = e
    with np.errstate(invalid="ignore"):
        wide = _Z_INPUT_CI * se > 10  # the 95% interval is wider than 20 years (NaN -> False)
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


# ----------------------------------------------------------------------------------------------
# slope and relative index of inequality


_SII_KEYS = ("sii", "rii", "sii_lower", "sii_upper", "rii_lower", "rii_upper")


def _sii_nan(reason: str, **known: float) -> dict:
    out = {k: np.nan for k in _SII_KEYS}
    out.update(known)
    out["reason"] = reason
    return out


def _quantile_list(mask: np.ndarray) -> str:
    return ", ".join(str(i + 1) for i in np.flatnonzero(mask))


def sii(
    values,
    populations,
    lower_cis=None,
    upper_cis=None,
    value_type: int = 0,
    confidence: float = 0.95,
    repetitions: int = 100_000,
    seed=None,
) -> dict:
    """Slope and relative index of inequality with simulated limits (phe_sii, transform=FALSE).

    ``values`` (one per quantile, ordered from the most to the least deprived) and
    ``populations``: aⱼ is the population share, bⱼ = cumulative share − aⱼ/2, and ``y·√a`` is
    regressed on ``[√a, b·√a]`` without intercept; SII is the slope (fitted value at the least
    deprived end minus at the most deprived end) and RII = (intercept + SII) / intercept.

    ``lower_cis``/``upper_cis`` are each quantile's **95%** limits (as phe_sii, whatever
    ``confidence``). ``value_type`` 0 (other), 1 (rate) or 2 (proportion, as a fraction 0..1):
    for 1 and 2 the values and limits are log- or logit-transformed before the standard error
    ``se = (upper − lower) / (2 · 1.959964)`` is taken, ``repetitions`` values per quantile are
    drawn from Normal(transformed value, se) with ``numpy.random.default_rng(seed)`` and
    back-transformed, and the SII/RII limits are the order statistics at positions
    ``round(repetitions · (1 − confidence)/2)`` and ``round(repetitions · (1 + confidence)/2)``.

    Returns a dict with keys sii, rii, sii_lower, sii_upper, rii_lower, rii_upper (floats) and
    ``reason``: None when everything was computed, else why some or all are NaN. All are NaN
    (with a reason) when there are fewer than 5 (or more than 100) quantiles, or a value or
    population is missing or a population <= 0. The limits alone are NaN (with a reason) when no
    limits were given, some are missing, or a rate or proportion sits on the edge of its range
    (0, or 1 for a proportion) where the transform is undefined. Raises ValueError for a bad
    ``value_type``, ``repetitions`` < 1000, inputs of different lengths, negative rates, or
    proportions outside 0..1.
    """
    if value_type not in (0, 1, 2):
        raise ValueError("value_type must be 0 (other), 1 (rate) or 2 (proportion)")
    if int(repetitions) != repetitions or repetitions < 1000:
        raise ValueError("repetitions must be a whole number >= 1000")
    repetitions = int(repetitions)
    _z(confidence)  # validates
    y = _to_float(values).ravel()
    pop = _to_float(populations).ravel()
    has_cis = lower_cis is not None and upper_cis is not None
    if (lower_cis is None) != (upper_cis is None):
        raise ValueError("give both lower_cis and upper_cis, or neither")
    lo = _to_float(lower_cis).ravel() if has_cis else np.full_like(y, np.nan)
    hi = _to_float(upper_cis).ravel() if has_cis else np.full_like(y, np.nan)
    if not (len(y) == len(pop) == len(lo) == len(hi)):
        raise ValueError("values, populations and limits must have the same length")
    if value_type == 1 and (np.any(y < 0) or np.any(lo < 0) or np.any(hi < 0)):
        raise ValueError("rates (value_type=1) and their limits must be >= 0")
    if value_type == 2 and any(np.any((v < 0) | (v > 1)) for v in (y, lo, hi)):
        raise ValueError("proportions (value_type=2) and their limits must be fractions 0..1")

    k = len(y)
    if k < 5 or k > 100:
        return _sii_nan(f"{k} quantile(s): the SII needs between 5 and 100 quantiles")
    bad = np.isnan(y) | np.isnan(pop) | ~(pop > 0)
    if bad.any():
        return _sii_nan(
            "missing value or non-positive population in quantile(s) "
            + _quantile_list(bad)
            + " (counting from the most deprived)"
        )

    a = pop / pop.sum()
    b = np.cumsum(a) - a / 2.0
    sqrt_a = np.sqrt(a)
    X = np.column_stack([sqrt_a, b * sqrt_a])
    (intercept, slope), *_ = np.linalg.lstsq(X, y * sqrt_a, rcond=None)
    point = {"sii": float(slope), "rii": float((intercept + slope) / intercept)}

    if not has_cis:
        return _sii_nan(
            "no confidence limits given for the quantile values: SII/RII limits not computed",
            **point,
        )
    missing_ci = np.isnan(lo) | np.isnan(hi)
    if missing_ci.any():
        return _sii_nan(
            "missing confidence limit in quantile(s) "
            + _quantile_list(missing_ci)
            + ": SII/RII limits not computed",
            **point,
        )

    if value_type == 1:

        def fwd(v):
            return np.log(v)

        def back(t):
            return np.exp(t)
    elif value_type == 2:

        def fwd(v):
            return np.log(v / (1.0 - v))

        def back(t):
            return 1.0 / (1.0 + np.exp(-t))
    else:

        def fwd(v):
            return v

        def back(t):
            return t

    with np.errstate(divide="ignore"):
        ty, tlo, thi = fwd(y), fwd(lo), fwd(hi)
    edge = ~(np.isfinite(ty) & np.isfinite(tlo) & np.isfinite(thi))
    if edge.any():
        kind = "rate of 0" if value_type == 1 else "proportion of 0 or 1"
        return _sii_nan(
            f"{kind} (value or limit) in quantile(s) {_quantile_list(edge)}: the "
            "transform is undefined, SII/RII limits not computed",
            **point,
        )
    se = (thi - tlo) / _Z_INPUT_CI / 2.0
    if np.any(se < 0):
        raise ValueError("an upper confidence limit is below its lower limit")

    # Least-squares operator: coefficients = (XᵀX)⁻¹Xᵀ · (y·√a), for every simulated y at once.
    op = np.linalg.solve(X.T @ X, X.T)  # 2 x k
    rng = np.random.default_rng(seed)
    sims_sii = np.empty(repetitions)
    sims_rii = np.empty(repetitions)
    chunk = max(1, 2_000_000 // k)
    for start in range(0, repetitions, chunk):
        stop = min(repetitions, start + chunk)
        draws = rng.normal(ty, se, size=(stop - start, k))
        coef = (back(draws) * sqrt_a) @ op.T  # reps x 2
        sims_sii[start:stop] = coef[:, 1]
        sims_rii[start:stop] = (coef[:, 0] + coef[:, 1]) / coef[:, 0]
    sims_sii.sort()
    sims_rii.sort()
    upper_p = float(confidence) + (1.0 - float(confidence)) / 2.0
    pos_lower = min(max(round(repetitions * (1.0 - upper_p)), 1), repetitions)
    pos_upper = min(max(round(repetitions * upper_p), 1), repetitions)
    return {
        **point,
        "sii_lower": float(sims_sii[pos_lower - 1]),
        "sii_upper": float(sims_sii[pos_upper - 1]),
        "rii_lower": float(sims_rii[pos_lower - 1]),
        "rii_upper": float(sims_rii[pos_upper - 1]),
        "reason": None,
    }


# ----------------------------------------------------------------------------------------------
# significance against a comparator


def significance(value_lower, value_upper, comparator, polarity):
    """Compare an area's interval with a comparator's value, as Fingertips colours it.

    The area differs when the comparator lies strictly outside [value_lower, value_upper].
    ``polarity`` (scalar or one per row) is one of higher_is_better, lower_is_better,
    no_judgement. Returns "better" | "similar" | "worse" (or "higher" | "lower" | "similar" for
    no_judgement), and "not compared" when a limit or the comparator is missing. The same rule as
    the dbt macro ``compare_to_comparator``. Raises ValueError for any other polarity.

    Element-wise: a str for scalar input, else an object array (or Series) of str.
    """
    template = _series_template(value_lower, value_upper, comparator, polarity)
    lo, hi, comp = _to_float(value_lower), _to_float(value_upper), _to_float(comparator)
    pol = np.asarray(
        polarity.to_numpy(dtype=object) if isinstance(polarity, pd.Series) else polarity,
        dtype=object,
    )
    pol = np.where(pd.isna(pol), None, pol)  # pandas NA cannot be compared
    known = np.isin(pol, np.array(POLARITIES, dtype=object))
    if not np.all(known):
        bad = sorted({repr(v) for v in np.atleast_1d(pol)[~np.atleast_1d(known)]})
        raise ValueError(f"polarity must be one of {', '.join(POLARITIES)}; got {', '.join(bad)}")
    lo, hi, comp, pol = np.broadcast_arrays(lo, hi, comp, pol)
    with np.errstate(invalid="ignore"):
        higher = comp < lo  # comparator below the interval: the area is significantly higher
        lower = comp > hi
    missing = np.isnan(lo) | np.isnan(hi) | np.isnan(comp)
    hib = pol == "higher_is_better"
    lib = pol == "lower_is_better"
    out = np.select(
        [missing, higher & hib, higher & lib, higher, lower & hib, lower & lib, lower],
        ["not compared", "better", "worse", "higher", "worse", "better", "lower"],
        default="similar",
    ).astype(object)
    return _wrap(out, template, "significance")
