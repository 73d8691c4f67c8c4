"""Directly standardised rates with Dobson limits (phe_dsr), on the European Standard
Population 2013."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from marmot_assets.methods._common import check_not_negative, to_float
from marmot_assets.methods.intervals import byars_lower, byars_upper, z_value

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

# Fewest total events for which a DSR is published (PHEindicatormethods, brief section 6).
DSR_MIN_TOTAL_COUNT = 10


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


def _not_published(total: float) -> str:
    return (
        f"total count {total:g} is below {DSR_MIN_TOTAL_COUNT}: a directly standardised rate "
        "is not published (PHEindicatormethods, brief section 6)"
    )


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
    x = to_float(counts)
    n = to_float(populations)
    w = to_float(standard_populations)
    if x.ndim == 0 or x.ndim > 2:
        raise ValueError("counts must be 1-D (bands) or 2-D (areas x bands)")
    if n.shape != x.shape:
        raise ValueError(f"counts {x.shape} and populations {n.shape} differ in shape")
    if w.ndim != 1 or w.shape[0] != x.shape[-1]:
        raise ValueError(
            f"standard_populations needs one weight per band ({x.shape[-1]}), got shape {w.shape}"
        )
    check_not_negative(x, "counts")
    if np.any(np.isnan(n)):
        raise ValueError("populations cannot be missing")
    if np.any(n <= 0):
        raise ValueError("populations must all be > 0")
    if np.any(np.isnan(w)) or np.any(w < 0):
        raise ValueError("standard_populations must all be present and >= 0")
    z = z_value(confidence)
    m = float(multiplier)
    x = np.where(np.isnan(x), 0.0, x)

    total = x.sum(axis=-1)
    wsum = w.sum()
    value = (x * w / n).sum(axis=-1) / wsum * m
    var = (x * (w / n) ** 2).sum(axis=-1) / wsum**2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(var / total) * m
        lower = value + scale * (byars_lower(total, z) - total)
        upper = value + scale * (byars_upper(total, z) - total)

    suppressed = total < DSR_MIN_TOTAL_COUNT
    value, lower, upper = (np.where(suppressed, np.nan, a) for a in (value, lower, upper))

    if x.ndim == 1:
        return DSRResult(
            float(value),
            float(lower),
            float(upper),
            _not_published(float(total)) if suppressed else None,
            float(total),
        )
    reasons = np.array(
        [_not_published(o) if s else None for o, s in zip(total, suppressed, strict=True)],
        dtype=object,
    )
    return DSRResult(value, lower, upper, reasons, total)
