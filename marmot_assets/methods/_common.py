"""What the methods share: input coercion, result shaping and StatsWarning."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


class StatsWarning(UserWarning):
    """A result was suppressed to NaN (the reason is in the message)."""


def to_float(a: Any) -> np.ndarray:
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


def series_template(*args: Any) -> pd.Series | None:
    """The first Series among the arguments (its index shapes the result), else None."""
    for a in args:
        if isinstance(a, pd.Series):
            return a
    return None


def wrap(arr: np.ndarray, template: pd.Series | None, name: str | None = None):
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
        return arr.item()
    return arr


def check_not_negative(arr: np.ndarray, what: str) -> None:
    if np.any(arr < 0):  # NaN compares False
        raise ValueError(f"{what} must be >= 0")
