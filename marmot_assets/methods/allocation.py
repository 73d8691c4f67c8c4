"""Proportionate universalism as arithmetic: split a budget between a universal offer and a
targeted offer that grows with need.

    universal_i = budget x universal_share x population_i / sum(population)
    targeted_i  = budget x (1 - universal_share) x population_i x need_i / sum(population x need)

``need`` is any indicator where a higher value means more need (a rate of children in low
income families, say); areas with no need value get no targeted share. The same formula is
the dbt model ``mart_allocation`` (a test checks they agree).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def allocate(
    budget: float,
    universal_share: float,
    population,
    need,
) -> pd.DataFrame:
    """Allocation per area: columns universal, targeted, total (same order as the inputs)."""
    if budget < 0:
        raise ValueError("budget must not be negative")
    if not 0 <= universal_share <= 1:
        raise ValueError("universal_share must be between 0 and 1")
    population = np.asarray(population, dtype=float)
    need = np.asarray(need, dtype=float)
    if population.shape != need.shape:
        raise ValueError("population and need must have the same length")
    if (population < 0).any() or np.isnan(population).any():
        raise ValueError("population must be known and not negative")
    if (need[~np.isnan(need)] < 0).any():
        raise ValueError("need must not be negative")
    universal = budget * universal_share * population / population.sum()
    weighted = population * np.nan_to_num(need, nan=0.0)
    if weighted.sum() > 0:
        targeted = budget * (1 - universal_share) * weighted / weighted.sum()
    else:  # no need anywhere: the targeted share is not spent on anyone in particular
        targeted = budget * (1 - universal_share) * population / population.sum()
    return pd.DataFrame(
        {"universal": universal, "targeted": targeted, "total": universal + targeted}
    )
