"""Normal quantiles, and confidence limits of proportions, counts and crude rates
(phe_proportion, phe_rate)."""

from __future__ import annotations

import functools

import numpy as np

from marmot_assets.methods._common import check_not_negative, series_template, to_float, wrap

# The two z values the platform publishes, written out so that importing computes nothing.
# Each is exactly scipy.stats.norm.ppf of its upper tail (tests/test_stats.py checks they agree
# to the last bit): 95% two-sided is ppf(0.975), 99.8% two-sided is ppf(0.999), as
# PHEindicatormethods' qnorm (the brief's 2.967738 is 99.7%).
Z95 = 1.959963984540054
Z998 = 3.090232306167813


@functools.cache
def _normal_quantile(p: float) -> float:
    if p == 0.975:  # the 95% limits of nearly every call: scipy.stats not even imported
        return Z95
    if p == 0.999:
        return Z998
    return float(_stats().norm.ppf(p))


def _stats():
    """scipy.stats, imported when first needed (~0.5 s): dbt's Python models import these
    methods in dbt's own process, and most of them need no quantile but the two above."""
    from scipy import stats

    return stats


def z_value(confidence: float) -> float:
    """Two-sided normal quantile for a confidence level given as a fraction (0.95 -> 1.959964).

    Raises ValueError unless confidence is a number strictly between 0 and 1.
    """
    try:
        c = float(confidence)
    except (TypeError, ValueError):
        raise ValueError(f"confidence must be a number, got {confidence!r}") from None
    if not 0.0 < c < 1.0:
        raise ValueError(
            f"confidence must be a fraction between 0 and 1 (e.g. 0.95), got {confidence!r}"
        )
    return _normal_quantile(c + (1.0 - c) / 2.0)


def wilson_ci(x, n, confidence: float = 0.95):
    """Wilson score interval of the proportion x/n, as a fraction 0..1 (phe_proportion).

    ``lower, upper = (2x + z² ∓ z·sqrt(z² + 4x(1 − x/n))) / (2(n + z²))``.
    The lower limit is exactly 0 when x = 0 and the upper exactly 1 when x = n (the formula gives
    these up to rounding). NaN in, NaN out. Raises ValueError when x < 0, n <= 0 or x > n.

    Returns ``(lower, upper)``.
    """
    template = series_template(x, n)
    xa, na = to_float(x), to_float(n)
    check_not_negative(xa, "x (numerator)")
    if np.any(na <= 0):
        raise ValueError("n (denominator) must be > 0")
    if np.any(xa > na):
        raise ValueError("x (numerator) must not exceed n (denominator) for a proportion")
    z = z_value(confidence)
    xa, na = np.broadcast_arrays(xa, na)
    with np.errstate(divide="ignore", invalid="ignore"):
        root = z * np.sqrt(z * z + 4.0 * xa * (1.0 - xa / na))
        lower = (2.0 * xa + z * z - root) / 2.0 / (na + z * z)
        upper = (2.0 * xa + z * z + root) / 2.0 / (na + z * z)
    present = ~np.isnan(na)
    lower = np.where((xa == 0) & present, 0.0, lower)
    upper = np.where(xa == na, 1.0, upper)
    return wrap(lower, template, "lower"), wrap(upper, template, "upper")


def byars_lower(x: np.ndarray, z: float) -> np.ndarray:
    """Byar's lower limit of counts x at the normal quantile z (NaN where it would be < 0)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * np.sqrt(x))) ** 3
    # PHEindicatormethods sets a negative Byar's lower limit to NA; at x = 0 it is 0·∞ = NaN.
    return np.where(lower < 0, np.nan, lower)


def byars_upper(x: np.ndarray, z: float) -> np.ndarray:
    """Byar's upper limit of counts x at the normal quantile z."""
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
    template = series_template(x)
    xa = to_float(x)
    check_not_negative(xa, "x (count)")
    z = z_value(confidence)
    return (
        wrap(byars_lower(xa, z), template, "lower"),
        wrap(byars_upper(xa, z), template, "upper"),
    )


def poisson_count_limits(x: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    """Limits of a count: exact Poisson below 10, Byar's from 10 (phe_rate)."""
    z = z_value(confidence)
    alpha = 1.0 - float(confidence)
    small = x < 10
    with np.errstate(invalid="ignore"):
        exact_lower = _stats().chi2.ppf(alpha / 2.0, 2.0 * x) / 2.0
        exact_upper = _stats().chi2.ppf(1.0 - alpha / 2.0, 2.0 * x + 2.0) / 2.0
    # chi2 with 0 degrees of freedom is the point mass at 0: the exact lower limit of 0 is 0.
    exact_lower = np.where(x == 0, 0.0, exact_lower)
    lower = np.where(small, exact_lower, byars_lower(x, z))
    upper = np.where(small, exact_upper, byars_upper(x, z))
    nan = np.isnan(x)
    return np.where(nan, np.nan, lower), np.where(nan, np.nan, upper)


def rate_ci(x, n, confidence: float = 0.95, multiplier: float = 100_000):
    """Crude rate x/n·multiplier with its confidence limits (phe_rate).

    Byar's method for x >= 10, exact Poisson limits below (lower = chi2.ppf(α/2, 2x)/2, upper =
    chi2.ppf(1 − α/2, 2x + 2)/2; the lower limit of 0 events is 0), each divided by n and scaled.
    NaN in, NaN out. Raises ValueError when x < 0 or n <= 0.

    Returns ``(value, lower, upper)``.
    """
    template = series_template(x, n)
    xa, na = to_float(x), to_float(n)
    check_not_negative(xa, "x (count)")
    if np.any(na <= 0):
        raise ValueError("n (denominator) must be > 0")
    xa, na = np.broadcast_arrays(xa, na)
    lower, upper = poisson_count_limits(xa, confidence)
    m = float(multiplier)
    value = xa / na * m
    return (
        wrap(value, template, "value"),
        wrap(lower / na * m, template, "lower"),
        wrap(upper / na * m, template, "upper"),
    )
