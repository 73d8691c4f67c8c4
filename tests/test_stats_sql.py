"""The dbt stats macros (dbt_project/macros/stats) agree with marmot_assets.methods.

No dbt run: the macro files are rendered with plain Jinja2 (as dbt would, all macros in one
namespace) and the SQL they produce is executed in an in-memory DuckDB over a grid of counts and
denominators, then compared with the Python functions to 1e-9 relative.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import jinja2
import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2, norm

from marmot_assets.methods import byars_ci, rate_ci, significance, wilson_ci

MACROS = Path(__file__).resolve().parents[1] / "dbt_project" / "macros"
REL = 1e-9


class _CompilerError(Exception):
    pass


class _Exceptions:
    """Stand-in for dbt's `exceptions` context object."""

    @staticmethod
    def raise_compiler_error(msg):
        raise _CompilerError(msg)


def _module(*paths: Path):
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    env.globals["exceptions"] = _Exceptions
    source = "\n".join(p.read_text(encoding="utf-8") for p in paths)
    return env.from_string(source).make_module()


@pytest.fixture(scope="module")
def m():
    return _module(*sorted((MACROS / "stats").glob("*.sql")))


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect(":memory:")
    yield c
    c.close()


def _close(sql_values, py_values):
    a = np.array([np.nan if v is None else v for v in sql_values], dtype=float)
    np.testing.assert_allclose(a, np.asarray(py_values, float), rtol=REL, atol=0, equal_nan=True)


@pytest.fixture(scope="module")
def grid():
    xs, ns = [], []
    for n in [1, 2, 3, 7, 10, 25, 100, 999, 12_345, 1_000_000]:
        for x in sorted({0, 1, 2, 5, 9, 10, 11, n // 3, n // 2, n - 1, n}):
            if 0 <= x <= n:
                xs.append(x)
                ns.append(n)
    return pd.DataFrame({"x": np.array(xs, dtype=np.int64), "n": np.array(ns, dtype=np.int64)})


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_stats_z(m, con, confidence):
    (z,) = con.sql(f"select {m.stats_z(confidence)}").fetchone()
    assert z == pytest.approx(norm.ppf(confidence + (1 - confidence) / 2), rel=1e-15)


def test_stats_z_refuses_other_levels(m):
    with pytest.raises(_CompilerError, match="0.95 or 0.998"):
        str(m.stats_z(0.9))
    with pytest.raises(_CompilerError):
        str(m.poisson_rate_lower("x", 0.99))


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_macros_match_python(m, con, grid, confidence):
    con.register("grid", grid)
    z = m.stats_z(confidence)
    rows = con.sql(
        f"select {m.wilson_lower('x', 'n', z)} as lo, {m.wilson_upper('x', 'n', z)} as hi from grid"
    ).fetchall()
    lo, hi = wilson_ci(grid.x, grid.n, confidence)
    _close([r[0] for r in rows], lo)
    _close([r[1] for r in rows], hi)


def test_wilson_macros_invalid_input_is_null(m, con):
    z = m.stats_z(0.95)
    row = con.sql(
        f"select {m.wilson_lower('x', 'n', z)}, {m.wilson_upper('x', 'n', z)} "
        "from (values (11, 10), (-1, 10), (0, 0), (null, 10)) t(x, n)"
    ).fetchall()
    assert all(v is None for r in row for v in r)


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_byars_macros_match_python(m, con, confidence):
    xs = pd.DataFrame({"x": np.r_[np.arange(0, 40), [99, 100, 1234, 98_765]].astype(float)})
    con.register("xs", xs)
    z = m.stats_z(confidence)
    rows = con.sql(f"select {m.byars_lower('x', z)}, {m.byars_upper('x', z)} from xs").fetchall()
    lo, hi = byars_ci(xs.x, confidence)
    _close([r[0] for r in rows], lo)  # NULL in SQL where Python gives NaN (x = 0, negative)
    _close([r[1] for r in rows], hi)
    assert rows[0][0] is None


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_poisson_rate_macros_match_rate_ci(m, con, grid, confidence):
    con.register("grid", grid)
    rows = con.sql(
        f"select {m.poisson_rate_lower('x', confidence)} / n * 100000, "
        f"{m.poisson_rate_upper('x', confidence)} / n * 100000 from grid"
    ).fetchall()
    _, lo, hi = rate_ci(grid.x, grid.n, confidence)
    _close([r[0] for r in rows], lo)
    _close([r[1] for r in rows], hi)


def test_poisson_macros_work_on_aggregates(m, con):
    # usable straight on sum(...) in a grouped query, over an integer column
    rows = con.sql(
        f"select g, sum(d) as x, {m.poisson_rate_lower('sum(d)', 0.95)} as lo, "
        f"{m.poisson_rate_upper('sum(d)', 0.95)} as hi "
        "from (values (1, 2), (1, 1), (2, 7), (2, 8)) t(g, d) group by g order by g"
    ).fetchall()
    _, lo, hi = rate_ci(np.array([3, 15]), 1, multiplier=1)
    _close([r[2] for r in rows], lo)
    _close([r[3] for r in rows], hi)


def test_poisson_macros_null_for_missing_negative_or_fractional(m, con):
    rows = con.sql(
        f"select {m.poisson_rate_lower('x', 0.95)}, {m.poisson_rate_upper('x', 0.95)} "
        "from (values (null), (-1.0), (2.5)) t(x)"
    ).fetchall()
    assert all(v is None for r in rows for v in r)


def test_exact_poisson_constants_are_scipy(m, con):
    rows = con.sql(
        f"select _pois_level, _pois_count, _pois_lower, _pois_upper "
        f"from {m.stats_exact_poisson_table()}"
    ).fetchall()
    assert len(rows) == 20
    for level, x, lo, hi in rows:
        c = {"95": 0.95, "99.8": 0.998}[level]
        a = 1 - c
        expected_lo = 0.0 if x == 0 else chi2.ppf(a / 2, 2 * x) / 2
        assert lo == pytest.approx(expected_lo, rel=1e-15, abs=0)
        assert hi == pytest.approx(chi2.ppf(1 - a / 2, 2 * x + 2) / 2, rel=1e-15)
    assert {(r[0], r[1]) for r in rows} == {(lv, x) for lv in ("95", "99.8") for x in range(10)}


def test_compare_to_comparator_macro_agrees_with_significance(con):
    # the project's existing macro and stats.significance implement the same rule
    macro = _module(MACROS / "compare_to_comparator.sql")
    cases = pd.DataFrame(
        [
            (lo, hi, c, p)
            for lo, hi in [(10.0, 20.0), (None, 20.0), (10.0, None)]
            for c in [5.0, 10.0, 15.0, 20.0, 25.0, None]
            for p in ["higher_is_better", "lower_is_better", "no_judgement"]
        ],
        columns=["lo", "hi", "comp", "pol"],
    )
    con.register("cases", cases)
    sql_out = [
        r[0]
        for r in con.sql(
            f"select {macro.compare_to_comparator('lo', 'hi', 'comp', 'pol')} from cases"
        ).fetchall()
    ]
    assert sql_out == significance(cases.lo, cases.hi, cases.comp, cases.pol).tolist()
