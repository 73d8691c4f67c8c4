"""An area's interval against a comparator's value, as Fingertips colours it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from marmot_assets.methods._common import series_template, to_float, wrap

POLARITIES: tuple[str, ...] = ("higher_is_better", "lower_is_better", "no_judgement")


def significance(value_lower, value_upper, comparator, polarity):
    """Compare an area's interval with a comparator's value, as Fingertips colours it.

    The area differs when the comparator lies strictly outside [value_lower, value_upper].
    ``polarity`` (scalar or one per row) is one of higher_is_better, lower_is_better,
    no_judgement. Returns "better" | "similar" | "worse" (or "higher" | "lower" | "similar" for
    no_judgement), and "not compared" when a limit or the comparator is missing. The same rule as
    the dbt macro ``compare_to_comparator``. Raises ValueError for any other polarity.

    Element-wise: a str for scalar input, else an object array (or Series) of str.
    """
    template = series_template(value_lower, value_upper, comparator, polarity)
    lo, hi, comp = to_float(value_lower), to_float(value_upper), to_float(comparator)
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
    return wrap(out, template, "significance")
