"""marmot_assets.methods against OHID's reference implementations and hand derivations.

Oracles:
* PHStatsMethods (``phstatsmethods`` on PyPI, OHID's Python port) for Wilson, Byar's (x >= 10),
  exact Poisson, crude rates and DSRs; it has no SII and no life expectancy.
* Life expectancy: the values PHE's life expectancy calculator publishes for the example in
  PHEindicatormethods' own test suite (tests/testthat/testLifeExpectancy.R), plus closed forms of
  the last two bands derived by hand from Chiang/Silcocks.
* SII: weighted least squares written out with sums, and the exact normal distribution of the
  slope (value_type 0) or its delta-method limit (value_types 1 and 2, tiny standard errors).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, norm

from marmot_assets import methods
from marmot_assets.methods import (
    ESP2013,
    DSRResult,
    StatsWarning,
    byars_ci,
    dsr,
    life_expectancy,
    rate_ci,
    significance,
    sii,
    wilson_ci,
)

Z95 = norm.ppf(0.975)
Z998 = norm.ppf(0.999)
REL = 1e-9  # the reference does the same arithmetic; 6 significant figures is far looser


@pytest.fixture(scope="module")
def ph():
    import PHStatsMethods

    return PHStatsMethods


def close(actual, expected, rel=REL, abs_=0.0):
    np.testing.assert_allclose(
        np.asarray(actual, float), np.asarray(expected, float), rtol=rel, atol=abs_, equal_nan=True
    )


# ------------------------------------------------------------------------------------------------
# z values


def test_z_constants_are_the_exact_normal_quantiles():
    # Written out as literals (importing computes nothing); they must be scipy's to the last bit.
    assert methods.Z95 == norm.ppf(0.975) == methods.z_value(0.95)
    assert methods.Z998 == norm.ppf(0.999) == methods.z_value(0.998)
    assert methods.z_value(0.9) == norm.ppf(0.95)


@pytest.mark.parametrize("confidence", [0, 1, 1.5, -0.1, "high", None])
def test_z_value_rejects_a_confidence_that_is_not_a_fraction(confidence):
    with pytest.raises(ValueError, match="confidence"):
        methods.z_value(confidence)


def test_public_api_is_exported():
    for name in methods.__all__:
        assert getattr(methods, name) is not None, name
    assert {"wilson_ci", "dsr", "sii", "allocate", "StatsWarning", "Z95"} <= set(methods.__all__)


# ------------------------------------------------------------------------------------------------
# Wilson


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_matches_phstatsmethods(ph, confidence):
    xs = [0, 1, 2, 5, 9, 10, 37, 99, 100, 0, 1, 3, 4999, 10000]
    ns = [100, 100, 100, 100, 100, 100, 100, 100, 100, 1, 1, 7, 10000, 10000]
    lower, upper = wilson_ci(np.array(xs), np.array(ns), confidence)
    exp_lo = [ph.wilson_lower(x, n, confidence) for x, n in zip(xs, ns, strict=True)]
    exp_hi = [ph.wilson_upper(x, n, confidence) for x, n in zip(xs, ns, strict=True)]
    close(lower, exp_lo, abs_=1e-15)
    close(upper, exp_hi, abs_=1e-15)


def test_wilson_matches_ph_proportion_table(ph):
    df = pd.DataFrame(
        {
            "x": [0.0, 48, 7, 82, 650, 750, 9, 100],
            "n": [100.0, 10000, 10000, 100, 1000, 10000, 10, 100],
        }
    )
    expected = ph.ph_proportion(df.copy(), "x", "n", confidence=[0.95, 0.998])
    lo, hi = wilson_ci(df.x, df.n)
    close(lo, expected["lower_95_ci"], abs_=1e-15)
    close(hi, expected["upper_95_ci"], abs_=1e-15)
    lo, hi = wilson_ci(df.x, df.n, 0.998)
    close(lo, expected["lower_99_8_ci"], abs_=1e-15)
    close(hi, expected["upper_99_8_ci"], abs_=1e-15)


def test_wilson_edges_by_hand():
    # x = 0: lower 0, upper (z² + z·|z|)/(2(n + z²)) = z²/(n + z²)
    lo, hi = wilson_ci(0, 10)
    assert lo == 0.0
    assert hi == pytest.approx(Z95**2 / (10 + Z95**2), rel=1e-12)
    # x = n is the mirror image
    lo, hi = wilson_ci(10, 10)
    assert hi == 1.0
    assert lo == pytest.approx(1 - Z95**2 / (10 + Z95**2), rel=1e-12)
    # tiny denominator
    lo, hi = wilson_ci(1, 1)
    assert (lo, hi) == (pytest.approx(1 / (1 + Z95**2), rel=1e-12), 1.0)
    # scalars come back as floats
    assert isinstance(lo, float)


def test_wilson_nan_and_series():
    x = pd.Series([1.0, None, 5.0], index=["a", "b", "c"])
    lo, hi = wilson_ci(x, pd.Series([10, 10, np.nan]))
    assert isinstance(lo, pd.Series) and list(lo.index) == ["a", "b", "c"]
    assert np.isfinite(lo["a"]) and np.isnan(lo["b"]) and np.isnan(lo["c"])
    assert np.isnan(hi["b"]) and np.isnan(hi["c"])
    # nullable integers with pd.NA
    lo, _ = wilson_ci(pd.array([1, pd.NA], dtype="Int64"), 10)
    assert np.isnan(lo[1]) and lo[0] > 0


@pytest.mark.parametrize("x, n", [(11, 10), (-1, 10), (0, 0), (1, -5)])
def test_wilson_rejects_invalid(x, n):
    with pytest.raises(ValueError):
        wilson_ci(x, n)


def test_confidence_must_be_a_fraction():
    with pytest.raises(ValueError, match="fraction"):
        wilson_ci(1, 10, confidence=95)


# ------------------------------------------------------------------------------------------------
# Byar's and exact Poisson


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_byars_matches_phstatsmethods_from_10(ph, confidence):
    xs = np.array([10, 11, 25, 100, 1234, 98765])
    lo, hi = byars_ci(xs, confidence)
    close(lo, [ph.byars_lower(x, confidence) for x in xs])
    close(hi, [ph.byars_upper(x, confidence) for x in xs])


def test_byars_below_10_is_still_byars():
    # PHEindicatormethods' byars_lower/upper are the approximation at every x (phstatsmethods
    # switches to exact below 10, so the formula is written out here instead).
    x = np.arange(1, 10, dtype=float)
    z = Z95
    lo, hi = byars_ci(x)
    close(lo, x * (1 - 1 / (9 * x) - z / (3 * np.sqrt(x))) ** 3)
    close(hi, (x + 1) * (1 - 1 / (9 * (x + 1)) + z / (3 * np.sqrt(x + 1))) ** 3)


def test_byars_edges():
    lo, hi = byars_ci(0)
    assert np.isnan(lo)  # 0·∞: undefined, NA in PHEindicatormethods
    assert hi == pytest.approx((1 - 1 / 9 + Z95 / 3) ** 3, rel=1e-12)
    lo, _ = byars_ci(1, 0.998)  # the formula goes negative: NA, as PHEindicatormethods
    assert np.isnan(lo)
    lo, hi = byars_ci([np.nan, 10])
    assert np.isnan(lo[0]) and np.isnan(hi[0]) and lo[1] > 0
    with pytest.raises(ValueError):
        byars_ci(-1)


@pytest.mark.parametrize("confidence, col", [(0.95, "95"), (0.998, "99_8")])
def test_rate_matches_ph_rate(ph, confidence, col):
    df = pd.DataFrame(
        {
            "x": [1.0, 2, 5, 9, 10, 11, 50, 100, 3, 7, 12000],
            "n": [100.0, 1000, 100, 100, 100, 100, 1000, 1000, 1, 0.5, 2_500_000],
        }
    )
    expected = ph.ph_rate(df.copy(), "x", "n", confidence=confidence)
    value, lo, hi = rate_ci(df.x, df.n, confidence)
    close(value, expected["Value"])
    close(lo, expected[f"lower_{col}_ci"])
    close(hi, expected[f"upper_{col}_ci"])


def test_rate_switches_method_at_10(ph):
    _, lo9, hi9 = rate_ci(9, 1, multiplier=1)
    assert lo9 == pytest.approx(chi2.ppf(0.025, 18) / 2, rel=1e-12)
    assert hi9 == pytest.approx(chi2.ppf(0.975, 20) / 2, rel=1e-12)
    _, lo10, hi10 = rate_ci(10, 1, multiplier=1)
    b_lo, b_hi = byars_ci(10)
    assert (lo10, hi10) == (pytest.approx(b_lo, rel=1e-12), pytest.approx(b_hi, rel=1e-12))
    # published exact Poisson 95% limits (Garwood tables) for small counts
    _, lo, hi = rate_ci(np.array([1, 5, 9]), 1, multiplier=1)
    close(lo, [0.0253, 1.6235, 4.1154], rel=0, abs_=5e-5)
    close(hi, [5.5716, 11.6683, 17.0848], rel=0, abs_=5e-5)


def test_rate_zero_count(ph):
    value, lo, hi = rate_ci(0, 250, multiplier=1000)
    assert value == 0.0 and lo == 0.0
    assert hi == pytest.approx(ph.exact_upper(0) / 250 * 1000, rel=REL)
    assert hi == pytest.approx(-np.log(0.025) / 250 * 1000, rel=1e-12)  # P(0 | μ) = 0.025


def test_rate_nan_vectorised_and_invalid():
    value, lo, hi = rate_ci(np.array([np.nan, 4]), np.array([100, np.nan]))
    assert np.isnan(value).all() and np.isnan(lo).all() and np.isnan(hi).all()
    with pytest.raises(ValueError):
        rate_ci(-1, 100)
    with pytest.raises(ValueError):
        rate_ci(1, 0)


# ------------------------------------------------------------------------------------------------
# DSR


def test_esp2013_constant(ph):
    esp = ph.euro_standard_pop()
    close(ESP2013, esp["euro_standard_pops"])
    assert len(ESP2013) == 19 and ESP2013.sum() == 100_000
    assert methods.ESP2013_BANDS[0] == "0-4" and methods.ESP2013_BANDS[-1] == "90+"
    with pytest.raises(ValueError):
        ESP2013[0] = 1  # read-only


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("confidence, col", [(0.95, "95"), (0.998, "99_8")])
def test_dsr_matches_ph_dsr(ph, seed, confidence, col):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 60, 19).astype(float)
    x[[0, 5]] = 0  # zero counts in some bands
    n = rng.integers(500, 20_000, 19).astype(float)
    df = pd.DataFrame({"x": x, "n": n, "esp": ESP2013})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = ph.ph_dsr(df, "x", "n", "esp", euro_standard_pops=False, confidence=confidence)
    result = dsr(x, n, ESP2013, confidence)
    value, lo, hi = result
    assert result.reason is None
    close(value, expected["Value"].iloc[0])
    close(lo, expected[f"lower_{col}_ci"].iloc[0])
    close(hi, expected[f"upper_{col}_ci"].iloc[0])


def test_dsr_by_hand_constant_rate():
    # the same rate in every band standardises to that rate, whatever the weights; the limits
    # are the brief's Dobson formula written out: DSR + sqrt(var/O)·(Byar's(O) − O)·multiplier.
    n = np.full(19, 2000.0)
    x = n * 0.01
    value, lo, hi = dsr(x, n, ESP2013, multiplier=1000)
    assert value == pytest.approx(10.0, rel=1e-12)
    total = x.sum()  # O in the formula
    var = (ESP2013**2 * x / n**2).sum() / ESP2013.sum() ** 2
    b_lo, b_hi = byars_ci(total)
    assert lo == pytest.approx(10 + np.sqrt(var / total) * (b_lo - total) * 1000, rel=1e-12)
    assert hi == pytest.approx(10 + np.sqrt(var / total) * (b_hi - total) * 1000, rel=1e-12)
    assert lo < 10 < hi


def test_dsr_total_count_below_10_is_nan_with_reason():
    x = np.zeros(19)
    x[[3, 10, 18]] = [2, 3, 4]  # O = 9
    result = dsr(x, np.full(19, 1000.0), ESP2013)
    value, lo, hi = result
    assert np.isnan(value) and np.isnan(lo) and np.isnan(hi)
    assert "below 10" in result.reason and result.total_count == 9
    x[0] = 1  # O = 10: published
    result = dsr(x, np.full(19, 1000.0), ESP2013)
    assert result.reason is None and np.isfinite(result.value) and result.lower < result.upper
    # all zero counts
    assert dsr(np.zeros(19), np.full(19, 10.0), ESP2013).reason is not None


def test_dsr_nan_counts_count_as_zero(ph):
    rng = np.random.default_rng(7)
    x = rng.integers(1, 40, 19).astype(float)
    n = rng.integers(1000, 5000, 19).astype(float)
    x_nan = x.copy()
    x_nan[[2, 7]] = np.nan
    x_zero = np.where(np.isnan(x_nan), 0.0, x_nan)
    close(tuple(dsr(x_nan, n, ESP2013)), tuple(dsr(x_zero, n, ESP2013)))
    df = pd.DataFrame({"x": x_nan, "n": n, "esp": ESP2013})
    expected = ph.ph_dsr(df, "x", "n", "esp", euro_standard_pops=False)
    close(dsr(x_nan, n, ESP2013).value, expected["Value"].iloc[0])


def test_dsr_result_object_and_2d():
    rng = np.random.default_rng(11)
    x = rng.integers(0, 30, (3, 19)).astype(float)
    x[1] = 0
    x[1, 4] = 5  # area 2 has O = 5
    n = rng.integers(1000, 3000, (3, 19)).astype(float)
    res = dsr(x, n, ESP2013)
    assert isinstance(res, DSRResult) and len(res) == 3
    for i in range(3):
        one = dsr(x[i], n[i], ESP2013)
        close(res.value[i], one.value)
        close(res.lower[i], one.lower)
        assert res.reason[i] == one.reason
    assert res.reason[0] is None and "below 10" in res.reason[1]
    assert res[0] is res.value


def test_dsr_rejects_invalid():
    x, n = np.ones(19), np.full(19, 100.0)
    with pytest.raises(ValueError):
        dsr(x[:18], n, ESP2013)
    with pytest.raises(ValueError):
        dsr(x, np.where(np.arange(19) == 3, 0.0, n), ESP2013)
    with pytest.raises(ValueError):
        dsr(x, np.where(np.arange(19) == 3, np.nan, n), ESP2013)
    with pytest.raises(ValueError):
        dsr(-x, n, ESP2013)


# ------------------------------------------------------------------------------------------------
# Life expectancy

AGES = [0, 1, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90]
# The example of PHEindicatormethods' test suite (tests/testthat/testLifeExpectancy.R) ...
# One line per ten or five age bands: `ruff format` would put each value on a line.
# fmt: off
POPS = [
    7060, 35059, 46974, 48489, 43219, 38561, 46009, 57208, 61435, 55601,
    50209, 56416, 46411, 39820, 37978, 37039, 33288, 23306, 11936, 11936,
]
DEATHS = [
    17, 9, 4, 8, 20, 15, 24, 33, 50, 71,
    100, 163, 263, 304, 536, 872, 1390, 1605, 1936, 1937,
]
# fmt: on
# ... and the results of PHE's life expectancy calculator (Excel) for it, quoted there.
# fmt: off
PUBLISHED_LE = [
    80.16960813, 79.36245674, 75.44193645, 70.47299936, 65.52909542,
    60.67510088, 55.78835987, 50.92752727, 46.06740425, 41.24505636,
    36.49322717, 31.83343842, 27.26027992, 22.9719144, 18.76856852,
    14.95858336, 11.51684445, 8.618849241, 6.163942934, 6.16210635,
]
PUBLISHED_LOWER = [
    79.88268548, 79.0898816, 75.17407307, 70.20675732, 65.26548673,
    60.41876577, 55.53801579, 50.68279939, 45.82666794, 41.00842831,
    36.26223216, 31.60996318, 27.04337271, 22.76653134, 18.57570352,
    14.77985004, 11.34831778, 8.451134045, 5.978358351, 5.887683386,
]
PUBLISHED_UPPER = [
    80.45653078, 79.63503188, 75.70979983, 70.7392414, 65.79270412,
    60.931436, 56.03870395, 51.17225516, 46.30814055, 41.48168441,
    36.72422219, 32.05691365, 27.47718713, 23.17729746, 18.96143352,
    15.13731667, 11.68537112, 8.786564437, 6.349527517, 6.436529314,
]
# fmt: on


def test_life_expectancy_matches_published_calculator():
    out = life_expectancy(DEATHS, POPS, AGES)
    assert list(out.columns) == ["start_age", "value", "lower", "upper"]
    assert out.start_age.tolist() == AGES
    assert out.attrs["reason"] is None
    close(out.value, PUBLISHED_LE, rel=1e-6)
    # The calculator uses z = 1.96; PHEindicatormethods (and we) use qnorm(0.975) = 1.959964.
    # Same standard error, so rescale the published half-widths to compare at 6 figures.
    pub_lo, pub_hi = np.array(PUBLISHED_LOWER), np.array(PUBLISHED_UPPER)
    se = (pub_hi - pub_lo) / 2 / 1.96
    close(out.lower, np.array(PUBLISHED_LE) - Z95 * se, rel=1e-6)
    close(out.upper, np.array(PUBLISHED_LE) + Z95 * se, rel=1e-6)


def test_life_expectancy_last_two_bands_by_hand():
    out = life_expectancy(DEATHS, POPS, AGES).set_index("start_age")
    # 90+: L = l/M so e = 1/M; Silcocks' variance (l/2)²·4/(D·M²)/l² = 1/(D·M²)
    D90, P90 = 1937, 11936
    M90 = D90 / P90
    e90, se90 = 1 / M90, 1 / (M90 * np.sqrt(D90))
    assert out.loc[90, "value"] == pytest.approx(e90, rel=1e-12)
    assert out.loc[90, "lower"] == pytest.approx(e90 - Z95 * se90, rel=1e-12)
    # 85-89: q = nM/(1 + nM(1 − a)), l90 = l85·(1 − q), d = l85·q, L = n(l90 + a·d)
    D85, P85, n, a = 1936, 11936, 5, 0.5
    M85 = D85 / P85
    q = n * M85 / (1 + n * M85 * (1 - a))
    l85 = 1.0  # e does not depend on the radix
    l90 = l85 * (1 - q)
    L85 = n * (l90 + a * (l85 - l90))
    e85 = (L85 + l90 * e90) / l85
    assert out.loc[85, "value"] == pytest.approx(e85, rel=1e-12)
    # Chiang: var(e85) = [q²(1−q)/D · l85²((1−a)n + e90)² + l90²·se90²] / l85²
    var85 = (q**2 * (1 - q) / D85 * l85**2 * ((1 - a) * n + e90) ** 2 + l90**2 * se90**2) / l85**2
    assert out.loc[85, "upper"] == pytest.approx(e85 + Z95 * np.sqrt(var85), rel=1e-12)


def test_life_expectancy_99_8_widens_by_z_ratio():
    a = life_expectancy(DEATHS, POPS, AGES)
    b = life_expectancy(DEATHS, POPS, AGES, confidence=0.998)
    close(b.value, a.value)
    close(b.upper - b.value, (a.upper - a.value) * Z998 / Z95, rel=1e-9)


def test_life_expectancy_labels_and_order():
    labels = ["0", "1-4"] + [f"{a} - {a + 4}" for a in range(5, 90, 5)] + ["90+"]
    order = np.random.default_rng(3).permutation(20)
    shuffled = life_expectancy(
        pd.Series(DEATHS)[order], np.array(POPS)[order], [labels[i] for i in order]
    )
    close(shuffled.value, life_expectancy(DEATHS, POPS, AGES).value)
    assert shuffled.start_age.tolist() == AGES


def test_life_expectancy_missing_bands_named():
    keep = [i for i, a in enumerate(AGES) if a not in (85, 90)]
    with pytest.raises(ValueError, match=r"missing age band\(s\) starting at 85, 90"):
        life_expectancy([DEATHS[i] for i in keep], [POPS[i] for i in keep], [AGES[i] for i in keep])
    with pytest.raises(ValueError, match=r"repeated age band\(s\) starting at 5"):
        life_expectancy(DEATHS + [1], POPS + [100], AGES + [5])
    with pytest.raises(ValueError, match=r"unknown age band\(s\) starting at 95"):
        life_expectancy(DEATHS[:-1] + [1], POPS[:-1] + [100], AGES[:-1] + [95])
    deaths = list(DEATHS)
    deaths[4] = None
    with pytest.raises(ValueError, match="starting at 15"):
        life_expectancy(deaths, POPS, AGES)


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda d, p: d.__setitem__(3, -5), "negative deaths"),
        (lambda d, p: p.__setitem__(5, 0), "zero or negative population"),
        (lambda d, p: p.__setitem__(18, 119), "more deaths than population"),
    ],
)
def test_life_expectancy_invalid_data_all_nan(change, reason):
    d, p = list(DEATHS), list(POPS)
    change(d, p)
    with pytest.warns(StatsWarning, match=reason):
        out = life_expectancy(d, p, AGES)
    assert out[["value", "lower", "upper"]].isna().all().all()
    assert reason in out.attrs["reason"]


def test_life_expectancy_small_population_all_nan():
    # fmt: off
    pops = [
        128, 152, 120, 176, 194, 180, 145, 149, 107, 185,
        165, 109, 100, 122, 133, 189, 123, 121, 147, 138,
    ]
    # fmt: on
    deaths = [58, 93, 78, 94, 59, 71, 80, 73, 69, 72, 91, 69, 78, 71, 54, 91, 82, 53, 50, 84]
    with pytest.warns(StatsWarning, match="5,000"):
        out = life_expectancy(deaths, pops, AGES)
    assert out.value.isna().all()


def test_life_expectancy_wide_interval_suppressed():
    # "Area 2" of PHEindicatormethods' wide-CI test, with its expected output (values kept only
    # where the 95% interval is at most 20 years wide; limits always shown).
    # fmt: off
    pops = [
        270, 235, 246, 248, 243, 238, 246, 257, 261, 355,
        350, 356, 346, 339, 337, 337, 333, 323, 311, 311,
    ]
    # fmt: on
    deaths = [17, 9, 4, 8, 20, 15, 24, 33, 50, 51, 10, 16, 26, 30, 36, 22, 13, 5, 6, 1]
    # fmt: off
    values = [
        19.22914685, 19.44120610, 18.33467808, 14.67659995, 11.81284556,
        11.63815414, 10.05641628, 9.93152356, 11.95846561,
    ] + [np.nan] * 11
    lower = [
        16.43900644, 16.53437505, 15.62922550, 12.08108630, 9.21823373,
        8.68414661, 6.54020385, 4.71570153, 2.37762283, -1.60695210,
        -10.33328815, -17.16409724, -26.91715103, -45.04820928, -76.27067271,
        -137.12203187, -195.39453664, -242.37480291, -266.74198466, -298.54880400,
    ]
    # fmt: on
    with pytest.warns(StatsWarning, match="wider than 20 years"):
        out = life_expectancy(deaths, pops, AGES)
    close(out.value, values, rel=1e-6)
    close(out.lower, lower, rel=1e-6)
    assert "40, 45" in out.attrs["reason"]


def test_life_expectancy_no_deaths_in_last_band():
    d = list(DEATHS)
    d[-1] = 0
    with pytest.warns(StatsWarning, match="no deaths in the 90"):
        out = life_expectancy(d, POPS, AGES)
    assert out[["value", "lower", "upper"]].isna().all().all()


def test_life_expectancy_zero_deaths_in_a_band_is_fine():
    d = list(DEATHS)
    d[2] = 0
    out = life_expectancy(d, POPS, AGES)
    assert out.attrs["reason"] is None and np.isfinite(out[["value", "lower", "upper"]]).all().all()
    assert out.value.iloc[0] > life_expectancy(DEATHS, POPS, AGES).value.iloc[0]


# ------------------------------------------------------------------------------------------------
# SII


def wls_by_hand(y, pop):
    """Slope and intercept of y on relative rank b, weighted by population share a."""
    a = np.asarray(pop, float) / np.sum(pop)
    b = np.cumsum(a) - a / 2
    b_bar = np.sum(a * b)
    y_bar = np.sum(a * y)
    weights = a * (b - b_bar) / np.sum(a * (b - b_bar) ** 2)  # slope = Σ weightsⱼ·yⱼ
    slope = np.sum(weights * y)
    intercept = y_bar - slope * b_bar
    return slope, intercept, weights


Y10 = np.array([75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3])
POP10 = np.array([7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534])
LO10 = np.array([72.7, 75.3, 80.9, 80.2, 77.1, 78.0, 79.0, 81.4, 75.8, 83.2])
HI10 = np.array([79.1, 81.4, 86.8, 87.1, 83.8, 84.2, 84.4, 86.9, 85.4, 89.4])


def test_sii_exact_line():
    # values exactly linear in relative rank: y = 10 + 5b → SII 5, RII (10 + 5)/10
    pop = np.array([100, 300, 200, 250, 150])
    a = pop / pop.sum()
    b = np.cumsum(a) - a / 2
    out = sii(10 + 5 * b, pop)
    assert out["sii"] == pytest.approx(5, rel=1e-12)
    assert out["rii"] == pytest.approx(1.5, rel=1e-12)
    assert np.isnan(out["sii_lower"]) and "no confidence limits" in out["reason"]


def test_sii_point_estimate_by_weighted_least_squares():
    slope, intercept, _ = wls_by_hand(Y10, POP10)
    out = sii(pd.Series(Y10), pd.Series(POP10), LO10, HI10, repetitions=1000, seed=0)
    assert out["sii"] == pytest.approx(slope, rel=1e-10)
    assert out["rii"] == pytest.approx((intercept + slope) / intercept, rel=1e-10)
    assert set(out) == {"sii", "rii", "sii_lower", "sii_upper", "rii_lower", "rii_upper", "reason"}
    assert out["reason"] is None


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_sii_limits_normal_values(confidence):
    # value_type 0: the simulated slope is Σ wⱼ·yⱼ with yⱼ ~ N(valueⱼ, seⱼ), exactly normal.
    slope, _, w = wls_by_hand(Y10, POP10)
    se = (HI10 - LO10) / 2 / Z95
    sd = np.sqrt(np.sum(w**2 * se**2))
    z = norm.ppf(confidence + (1 - confidence) / 2)
    out = sii(Y10, POP10, LO10, HI10, confidence=confidence, seed=12345)
    # simulation noise of a tail quantile from 1e5 draws is < 0.03 sd at 99.8%
    assert out["sii_lower"] == pytest.approx(slope - z * sd, abs=0.1 * sd)
    assert out["sii_upper"] == pytest.approx(slope + z * sd, abs=0.1 * sd)
    assert out["rii_lower"] < out["rii"] < out["rii_upper"]


@pytest.mark.parametrize("value_type", [1, 2])
def test_sii_limits_transformed_delta_method(value_type):
    # Tiny standard errors on the log/logit scale: the back-transformed draws are linear to first
    # order, so the slope's sd is sqrt(Σ (wⱼ·g'(tⱼ)·sⱼ)²), g' = v (rate) or v(1 − v) (proportion).
    v = np.array([0.30, 0.27, 0.22, 0.20, 0.16, 0.15]) * (100 if value_type == 1 else 1)
    pop = np.array([900, 1100, 1000, 950, 1200, 1000])
    s = np.array([1e-4, 2e-4, 1e-4, 3e-4, 2e-4, 1e-4])
    if value_type == 1:
        lo, hi, grad = v * np.exp(-Z95 * s), v * np.exp(Z95 * s), v
    else:
        logit = np.log(v / (1 - v))
        lo = 1 / (1 + np.exp(-(logit - Z95 * s)))
        hi = 1 / (1 + np.exp(-(logit + Z95 * s)))
        grad = v * (1 - v)
    slope, intercept, w = wls_by_hand(v, pop)
    sd = np.sqrt(np.sum((w * grad * s) ** 2))
    out = sii(v, pop, lo, hi, value_type=value_type, seed=99)
    assert out["sii"] == pytest.approx(slope, rel=1e-10)
    assert out["sii_lower"] == pytest.approx(slope - Z95 * sd, abs=0.05 * sd)
    assert out["sii_upper"] == pytest.approx(slope + Z95 * sd, abs=0.05 * sd)
    rii = (intercept + slope) / intercept
    assert out["rii_lower"] < rii < out["rii_upper"]


def test_sii_order_statistic_positions_and_seed():
    # phe_sii takes the round(reps·α/2)-th and round(reps·(1 − α/2))-th smallest of the draws.
    reps, seed = 1000, 2024
    out = sii(Y10, POP10, LO10, HI10, repetitions=reps, seed=seed)
    a = POP10 / POP10.sum()
    b = np.cumsum(a) - a / 2
    se = (HI10 - LO10) / 2 / Z95
    draws = np.random.default_rng(seed).normal(Y10, se, size=(reps, 10))
    X = np.column_stack([np.sqrt(a), b * np.sqrt(a)])
    coefs = np.linalg.lstsq(X, (draws * np.sqrt(a)).T, rcond=None)[0]
    sims = np.sort(coefs[1])
    assert out["sii_lower"] == pytest.approx(sims[25 - 1], rel=1e-9)
    assert out["sii_upper"] == pytest.approx(sims[975 - 1], rel=1e-9)
    again = sii(Y10, POP10, LO10, HI10, repetitions=reps, seed=seed)
    assert again == out
    other = sii(Y10, POP10, LO10, HI10, repetitions=reps, seed=seed + 1)
    assert other["sii_lower"] != out["sii_lower"]


def test_sii_limits_do_not_depend_on_the_chunks_drawn():
    # 100,000 draws of 10 deciles come in chunks; one generator gives the same values in one go
    reps, seed = 100_000, 7
    out = sii(Y10, POP10, LO10, HI10, repetitions=reps, seed=seed)
    a = POP10 / POP10.sum()
    se = (HI10 - LO10) / 2 / Z95
    draws = np.random.default_rng(seed).normal(Y10, se, size=(reps, 10))
    X = np.column_stack([np.sqrt(a), (np.cumsum(a) - a / 2) * np.sqrt(a)])
    slopes = np.sort((draws * np.sqrt(a)) @ np.linalg.solve(X.T @ X, X.T)[1])
    assert out["sii_lower"] == pytest.approx(slopes[2500 - 1], rel=1e-12)
    assert out["sii_upper"] == pytest.approx(slopes[97500 - 1], rel=1e-12)


def test_sii_each_gives_what_sii_gives_group_by_group():
    groups = [
        {"values": Y10 * f, "populations": POP10, "lower_cis": LO10 * f, "upper_cis": HI10 * f,
         "value_type": vt, "repetitions": 20_000, "seed": i}
        for i, (f, vt) in enumerate([(1.0, 0), (0.5, 1), (2.0, 0), (1.5, 1), (0.8, 0)])
    ]  # fmt: skip
    groups.append({"values": [1.0, 2, 3], "populations": [1, 1, 1]})  # a reason, no limits
    each = methods.sii_each(groups)
    assert len(each) == len(groups)
    for group, result in zip(groups, each, strict=True):
        expected = sii(**group)
        assert result.keys() == expected.keys()
        for k, v in expected.items():
            if isinstance(v, float) and np.isnan(v):
                assert np.isnan(result[k]), k
            else:
                assert result[k] == v, k
    assert each[0]["sii_lower"] != each[2]["sii_lower"]  # the groups' own draws, in order
    assert methods.sii_each([]) == []


def test_sii_fewer_than_five_quantiles():
    out = sii([1.0, 2, 3, 4], [10, 10, 10, 10], [0.5, 1.5, 2.5, 3.5], [1.5, 2.5, 3.5, 4.5])
    assert all(
        np.isnan(out[k]) for k in ("sii", "rii", "sii_lower", "sii_upper", "rii_lower", "rii_upper")
    )
    assert "4 quantile" in out["reason"]


def test_sii_missing_data_reasons():
    y = Y10.copy()
    y[3] = np.nan
    out = sii(y, POP10, LO10, HI10)
    assert np.isnan(out["sii"]) and "quantile(s) 4" in out["reason"]
    pop = POP10.copy()
    pop[0] = 0
    assert "quantile(s) 1" in sii(Y10, pop)["reason"]
    lo = LO10.copy()
    lo[9] = np.nan
    out = sii(Y10, POP10, lo, HI10)
    assert np.isfinite(out["sii"]) and np.isnan(out["sii_lower"]) and "10" in out["reason"]
    # a zero rate has no log: point estimates stand, limits do not
    out = sii(
        [0.0, 2, 3, 4, 5], [1, 1, 1, 1, 1], [0.0, 1, 2, 3, 4], [1.0, 3, 4, 5, 6], value_type=1
    )
    assert out["sii"] == pytest.approx(wls_by_hand(np.array([0.0, 2, 3, 4, 5]), np.ones(5))[0])
    assert np.isnan(out["sii_upper"]) and "rate of 0" in out["reason"]


def test_sii_rejects_invalid():
    with pytest.raises(ValueError):
        sii(Y10, POP10, LO10, HI10, value_type=3)
    with pytest.raises(ValueError):
        sii(Y10, POP10, LO10, HI10, repetitions=999)
    with pytest.raises(ValueError):
        sii(Y10 / 100, POP10, LO10, HI10, value_type=2)  # limits above 1
    with pytest.raises(ValueError):
        sii(Y10, POP10[:9], LO10, HI10)
    with pytest.raises(ValueError):
        sii(Y10, POP10, LO10)


# ------------------------------------------------------------------------------------------------
# significance


@pytest.mark.parametrize(
    "lo, hi, comp, polarity, expected",
    [
        (10, 20, 5, "higher_is_better", "better"),
        (10, 20, 25, "higher_is_better", "worse"),
        (10, 20, 15, "higher_is_better", "similar"),
        (10, 20, 5, "lower_is_better", "worse"),
        (10, 20, 25, "lower_is_better", "better"),
        (10, 20, 5, "no_judgement", "higher"),
        (10, 20, 25, "no_judgement", "lower"),
        (10, 20, 10, "higher_is_better", "similar"),  # on the bound: not significant
        (10, 20, 20, "lower_is_better", "similar"),
        (None, 20, 5, "higher_is_better", "not compared"),
        (10, np.nan, 5, "higher_is_better", "not compared"),
        (10, 20, None, "no_judgement", "not compared"),
    ],
)
def test_significance_cases(lo, hi, comp, polarity, expected):
    assert significance(lo, hi, comp, polarity) == expected


def test_significance_vectorised():
    lo = pd.Series([1.0, 1.0, 1.0, np.nan], index=[10, 11, 12, 13])
    hi = np.array([2.0, 2.0, 2.0, 2.0])
    comp = np.array([0.5, 3.0, 1.5, 1.5])
    pol = ["higher_is_better", "lower_is_better", "no_judgement", "lower_is_better"]
    out = significance(lo, hi, comp, pol)
    assert isinstance(out, pd.Series) and list(out.index) == [10, 11, 12, 13]
    assert out.tolist() == ["better", "better", "similar", "not compared"]
    arr = significance(
        np.array([1.0, 1.0]), np.array([2.0, 2.0]), np.array([0.0, 5.0]), "no_judgement"
    )
    assert isinstance(arr, np.ndarray) and arr.tolist() == ["higher", "lower"]


def test_significance_rejects_unknown_polarity():
    with pytest.raises(ValueError, match="polarity"):
        significance(1, 2, 3, "up")
    with pytest.raises(ValueError, match="polarity"):
        significance([1, 1], [2, 2], [3, 3], ["higher_is_better", None])
