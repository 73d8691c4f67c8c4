"""ONS mid-year small-area population estimates (Nomis NM_2014_1) for every LSOA of the place,
mid-2015 to mid-2024, by sex and single year of age, in the layout the live source downloads
(marmot_assets/sources/population.py: the pinned columns, every field quoted, LF).

The mid-2015 estimates add up, LSOA by LSOA, to the IoD File_6 denominators of the same demo
(total, 0-15, 16-59, 60+), so both sources tell one story; later years follow the place's
growth (a young university city: about -1% to mid-2021 after the census rebasing, +5.5% by
mid-2024) with each LSOA drifting a little. Ages follow a young age structure (a student bulge
at 19-22, median about 35), sexes the usual male share falling with age.

Its own generator (seed and this module's name), so adding it changed no other demo file.
"""

from __future__ import annotations

import csv
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from marmot_assets.config import PlaceConfig
from marmot_assets.demo.files import write_csv
from marmot_assets.sources.population import COLUMNS, DEMO_FILE, OPEN_AGE

if TYPE_CHECKING:
    from marmot_assets.demo.generator import DemoLsoa

# The place's population against mid-2015 (File_6's year).
GROWTH = {
    2015: 1.000, 2016: 1.010, 2017: 1.018, 2018: 1.022, 2019: 1.020,
    2020: 1.008, 2021: 0.987, 2022: 1.006, 2023: 1.030, 2024: 1.055,
}  # fmt: skip
AGES = np.arange(OPEN_AGE + 1)
BANDS = [(0, 15), (16, 59), (60, OPEN_AGE)]  # File_6's 0-15, 16-59, 60+


def _age_weights() -> np.ndarray:
    """Relative numbers at each single year of age (90 = 90 and over) of a young city."""
    w = np.interp(
        AGES,
        [0, 15, 17, 18, 19, 22, 23, 25, 30, 40, 50, 60, 70, 80, 89],
        [1.05, 0.98, 1.0, 1.35, 1.65, 1.65, 1.4, 1.25, 1.2, 1.1, 1.05, 0.95, 0.7, 0.4, 0.15],
    )
    w[OPEN_AGE] = 0.55  # everyone aged 90 and over
    return w


def _male_share() -> np.ndarray:
    return np.interp(AGES, [0, 17, 24, 59, 74, 84, 89, 90], [0.512, 0.512, 0.52, 0.50,
                     0.48, 0.44, 0.38, 0.30])  # fmt: skip


def _cells(rng: np.random.Generator, bands: tuple[int, int, int]) -> np.ndarray:
    """(sex, age) counts adding up to each band's count exactly: males row 0, females row 1."""
    weights, male = _age_weights(), _male_share()
    cells = np.zeros((2, len(AGES)), dtype=int)
    for (low, high), count in zip(BANDS, bands, strict=True):
        ages = slice(low, high + 1)
        p = np.concatenate([weights[ages] * male[ages], weights[ages] * (1 - male[ages])])
        drawn = rng.multinomial(count, p / p.sum())
        cells[0, ages], cells[1, ages] = np.split(drawn, 2)
    return cells


def _bands(lsoa: DemoLsoa, year: int, drift: float) -> tuple[int, int, int]:
    """The LSOA's 0-15, 16-59 and 60+ in ``year``: File_6's in 2015, its shares kept after."""
    total, children, middle, older, _ = lsoa.population
    if year == min(GROWTH):
        return children, middle, older
    grown = round(total * GROWTH[year] * (1 + drift) ** (year - min(GROWTH)))
    kids, old = round(grown * children / total), round(grown * older / total)
    return kids, grown - kids - old, old


def write_population(out_dir: Path, place: PlaceConfig, lsoas: list[DemoLsoa]) -> Path:
    rng = np.random.default_rng([place.demo.seed, zlib.crc32(b"ons_population_estimates")])
    drift = {x.code: float(rng.normal(0, 0.004)) for x in lsoas}
    rows = []
    for year in GROWTH:
        for lsoa in sorted(lsoas, key=lambda x: x.code):
            cells = _cells(rng, _bands(lsoa, year, drift[lsoa.code]))
            for s, sex in enumerate(("Male", "Female")):
                for age in AGES:
                    label = f"Aged {OPEN_AGE}+" if age == OPEN_AGE else f"Age {age}"
                    rows.append([year, lsoa.code, sex, label, int(cells[s, age])])
    return write_csv(
        Path(out_dir).joinpath(*DEMO_FILE), COLUMNS, rows, line_end="\n", quoting=csv.QUOTE_ALL
    )
