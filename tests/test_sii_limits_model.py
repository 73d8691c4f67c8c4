"""The dbt Python model int_inequality_sii_limits: simulated limits, kept across rebuilds.

The model is called as dbt calls it (``model(dbt, session)``) with a real DuckDB session: a
rebuild takes a group's limits from the table it replaces only when the group's inputs are
unchanged, and gives exactly what drawing them again would.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb
import pandas as pd
import pytest

MODEL = (
    Path(__file__).resolve().parents[1]
    / "dbt_project"
    / "models"
    / "intermediate"
    / "int_inequality_sii_limits.py"
)
THIS = "limits"


def model_module():
    spec = importlib.util.spec_from_file_location("int_inequality_sii_limits", MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Ref:
    def __init__(self, frame):
        self.frame = frame

    def df(self):
        return self.frame


class _Dbt:
    """What the model uses of dbt's object: ref(), config() and this."""

    this = THIS

    def __init__(self, quantiles):
        self.quantiles = quantiles

    def ref(self, name):
        assert name == "int_inequality_quantiles"
        return _Ref(self.quantiles)

    def config(self, **_):
        pass


def quantiles(indicators: list[str]) -> pd.DataFrame:
    rows = []
    for indicator in indicators:
        for q in range(1, 6):
            value = 40.0 + 5 * q
            rows.append(
                {
                    "indicator_id": indicator, "period": "2024", "sex": "Persons",
                    "age": "All ages", "quantile_scheme": "Local deprivation quintile",
                    "quantile": q, "value": value, "population": 1000.0 + q,
                    "lower_ci_95": value - 3, "upper_ci_95": value + 3,
                    "method": "proportion", "multiplier": 100.0,
                }
            )  # fmt: skip
    return pd.DataFrame(rows)


def build(module, session, frame) -> pd.DataFrame:
    """One dbt build: the model's frame, then written over the table as dbt does."""
    result = module.model(_Dbt(frame), session)
    session.register("built", result)
    session.execute(f"create or replace table {THIS} as select * from built")
    return result


@pytest.fixture
def counted(monkeypatch):
    """The model's module with the simulation counted."""
    import marmot_assets.methods as methods

    calls = []
    real = methods.sii_each

    def sii_each(groups):
        calls.extend(group["seed"] for group in groups)
        return real(groups)

    monkeypatch.setattr(methods, "sii_each", sii_each)
    return model_module(), calls


def test_a_rebuild_draws_again_only_the_groups_whose_inputs_changed(counted):
    module, calls = counted
    session = duckdb.connect(":memory:")
    first = build(module, session, quantiles(["a", "b", "c"]))
    assert len(calls) == 3 and first["sii_lower"].notna().all()

    calls.clear()
    again = build(module, session, quantiles(["a", "b", "c"]))
    assert calls == []  # nothing changed: nothing drawn
    pd.testing.assert_frame_equal(again, first)

    calls.clear()
    changed = quantiles(["a", "b", "c"])
    changed.loc[(changed["indicator_id"] == "b") & (changed["quantile"] == 3), "value"] += 1e-9
    rebuilt = build(module, session, changed)
    assert len(calls) == 1  # only b
    fresh = module.model(_Dbt(changed), duckdb.connect(":memory:"))  # no table to reuse
    pd.testing.assert_frame_equal(rebuilt, fresh)
    b = rebuilt.indicator_id == "b"
    assert rebuilt.loc[b, "inputs_sha256"].item() != first.loc[b, "inputs_sha256"].item()
    assert (rebuilt.loc[~b, "inputs_sha256"] == first.loc[~b, "inputs_sha256"]).all()


def test_a_table_without_digests_is_not_trusted(counted):
    module, calls = counted
    session = duckdb.connect(":memory:")
    frame = quantiles(["a"])
    old = module.model(_Dbt(frame), duckdb.connect(":memory:")).drop(columns="inputs_sha256")
    session.register("old_limits", old)
    session.execute(f"create table {THIS} as select * from old_limits")
    calls.clear()
    build(module, session, frame)
    assert len(calls) == 1
