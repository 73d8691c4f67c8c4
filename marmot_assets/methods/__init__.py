"""OHID's statistical methods for indicators (brief, section 6), and the allocation arithmetic.

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

Modules
-------
``intervals`` (z values, ``wilson_ci``, ``byars_ci``, ``rate_ci``, exact Poisson limits),
``dsr`` (directly standardised rates on ESP2013), ``life_expectancy``, ``sii``,
``significance``, and ``allocation`` (the proportionate-universalism budget split);
``_common`` holds what they share. Import from the package: ``from marmot_assets.methods
import wilson_ci``.
"""

from marmot_assets.methods._common import StatsWarning
from marmot_assets.methods.allocation import allocate
from marmot_assets.methods.dsr import DSR_MIN_TOTAL_COUNT, ESP2013, ESP2013_BANDS, DSRResult, dsr
from marmot_assets.methods.intervals import Z95, Z998, byars_ci, rate_ci, wilson_ci, z_value
from marmot_assets.methods.life_expectancy import LE_START_AGES, life_expectancy
from marmot_assets.methods.significance import POLARITIES, significance
from marmot_assets.methods.sii import sii, sii_each

__all__ = [
    "DSR_MIN_TOTAL_COUNT",
    "ESP2013",
    "ESP2013_BANDS",
    "LE_START_AGES",
    "POLARITIES",
    "Z95",
    "Z998",
    "DSRResult",
    "StatsWarning",
    "allocate",
    "byars_ci",
    "dsr",
    "life_expectancy",
    "rate_ci",
    "significance",
    "sii",
    "sii_each",
    "wilson_ci",
    "z_value",
]
