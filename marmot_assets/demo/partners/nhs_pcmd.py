"""NHS Primary Care Mortality Database: death registrations, one CSV per calendar year.

Pseudonymised at source: the NHS number becomes DEATH_KEY (keyed HMAC-SHA-256); names, date
of birth and postcode are not sent. Deaths are drawn, LSOA by LSOA, from the demo's own
population estimates (``demo.publishers.population``, the same numbers the warehouse
divides by) and a Gompertz-Makeham mortality schedule by sex, raised where the LSOA is more
deprived nationally (its IMD rank), so that male life expectancy at birth is about ten years
shorter in the place's most deprived tenth than in its least. Each year's schedule is scaled
so that the place's expected life expectancy follows the demo Fingertips profile (England's
level and trend, the place worse by the profile's margin): the two sources tell one story.
A few patients of the area's practices live in a neighbouring authority (skipped by the door)
and a few addresses match no LSOA.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.generator import OTHER_LSOA_PREFIX
from marmot_assets.demo.partners import drop_folder
from marmot_assets.demo.partners.council_job_shop import demo_keys
from marmot_assets.demo.publishers.mhclg import N_LSOA_ENGLAND
from marmot_assets.demo.publishers.ohid_fingertips import N_PERIODS, PERIOD_KINDS, PROFILES
from marmot_assets.demo.publishers.population import write_population
from marmot_assets.methods.life_expectancy import LE_START_AGES, life_expectancy
from marmot_assets.sources.population import OPEN_AGE

# DEMO ONLY: a fixed, public key so the demo is byte-stable. A real key belongs to the
# data-sharing agreement, is held by the NHS, and is read from the environment only.
DEMO_ONLY_HMAC_KEY = b"DEMO-ONLY-nhs-pcmd-deaths-key-never-use-for-real-data"

YEARS = list(range(2019, 2025))  # so that 3- and 5-year pools (2020-24) exist
HEADER = [
    "DEATH_KEY", "REG_DATE_OF_DEATH", "DEC_SEX", "DEC_AGEC", "LSOA_CODE",
    "S_UNDERLYING_COD_ICD10",
]  # fmt: skip
SEX_CODES = {"Male": "1", "Female": "2"}
AGES = np.arange(OPEN_AGE + 1)

# Gompertz-Makeham m(x) = A + B·exp(c·x) from age 15, with infant and childhood rates below;
# the open band 90+ takes the rate at 93, about its residents' mean age.
SCHEDULE = {  # sex: (infant, age 1-14, A, B, c)
    "Male": (0.0042, 0.00011, 0.00025, 2.6e-5, 0.0950),
    "Female": (0.0035, 0.00009, 0.00012, 1.3e-5, 0.1000),
}
# log hazard ratio from the least to the most deprived LSOA in England, by sex (tuned so the
# place's most and least deprived tenths are about ten years apart for men, eight for women)
DEPRIVATION_LOG_HR = {"Male": 1.0, "Female": 0.9}
SHARE_ELSEWHERE, SHARE_NO_LSOA = 0.03, 0.004

# Underlying causes (ICD-10 as ONS codes them), weights under 75 and from 75.
CAUSES = [
    ("I219", 6, 4), ("I251", 9, 8), ("I64X", 3, 6), ("C349", 9, 5), ("C189", 3, 3),
    ("C509", 3, 2), ("C61X", 1, 3), ("C259", 3, 2), ("J440", 4, 5), ("J189", 2, 5),
    ("F03X", 1, 11), ("G309", 1, 5), ("K703", 4, 0.5), ("E119", 1, 1.5), ("X42X", 2, 0.2),
    ("X70X", 1.5, 0.1), ("V892", 1, 0.2), ("W19X", 0.5, 2), ("N189", 0.5, 1.5), ("R54X", 0, 2),
    ("U071", 2, 3),
]  # fmt: skip


def _base_rates(sex: str) -> np.ndarray:
    infant, child, a, b, c = SCHEDULE[sex]
    ages = np.where(AGES == OPEN_AGE, 93.0, AGES.astype(float))
    rates = a + b * np.exp(c * ages)
    rates[0], rates[1:15] = infant, child
    return rates


def _deprivation_factor(rank: int, sex: str) -> float:
    """Hazard ratio of an LSOA by its national IMD rank (1 most deprived), 1 at the middle."""
    return float(np.exp(DEPRIVATION_LOG_HR[sex] * (0.5 - rank / N_LSOA_ENGLAND)))


def target_life_expectancy(sex: str, year: int) -> float:
    """The place's life expectancy at birth the demo Fingertips profile gives a year: England's
    level in its first three-year period, its trend per period, the place worse by its margin
    (the middle year of a three-year period takes that period's level)."""
    profile = PROFILES["life_expectancy_birth"]
    years, last = PERIOD_KINDS["three_calendar_years"]
    first_middle = last - N_PERIODS + 1 + years // 2
    return profile.england[sex] + profile.trend * (year - first_middle) - profile.worse_by


def _bands(values: np.ndarray) -> np.ndarray:
    """Single years of age (last axis) summed into the 20 life-table bands."""
    edges = [*LE_START_AGES, OPEN_AGE + 1]
    pairs = zip(edges[:-1], edges[1:], strict=True)
    return np.stack([values[..., lo:hi].sum(axis=-1) for lo, hi in pairs], -1)


def _scale_to(target: float, expected: np.ndarray, population: np.ndarray) -> float:
    """The factor on every rate that gives the place's expected deaths ``target`` years of
    life expectancy at birth (bisection on the log scale: life expectancy falls as it rises)."""
    pop_bands = _bands(population)
    low, high = -2.0, 2.0
    for _ in range(50):
        mid = (low + high) / 2
        le = life_expectancy(_bands(expected * np.exp(mid)), pop_bands, LE_START_AGES)
        if le["value"].iloc[0] > target:
            low = mid
        else:
            high = mid
    return float(np.exp((low + high) / 2))


def demo_populations(place, lsoas) -> pd.DataFrame:
    """The demo's ONS estimates (mid_year, lsoa_code, sex, age, population), the very numbers
    the warehouse loads: written by the publisher's own demo writer, read back plainly (the
    source's strict parser is checked by its own tests, and takes seconds on this file)."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_population(Path(folder), place, lsoas)
        frame = pd.read_csv(path, dtype={"GEOGRAPHY_CODE": str, "C_AGE_NAME": str})
    return pd.DataFrame(
        {
            "mid_year": frame["DATE_NAME"].astype(str).str[-4:].astype(int),
            "lsoa_code": frame["GEOGRAPHY_CODE"],
            "sex": frame["GENDER_NAME"],
            "age": frame["C_AGE_NAME"].str.extract(r"(\d+)", expand=False).astype(int),
            "population": frame["OBS_VALUE"].astype(int),
        }
    )


def _deaths_of_year(rng, year, sex, cells, lsoas) -> list[tuple[str, int]]:
    """(LSOA code, age at death) of every death of one sex in one year."""
    codes = [x.code for x in lsoas]
    population = cells.loc[(year, sex)].reindex(codes).to_numpy(dtype=float)  # LSOA x age
    factors = np.array([_deprivation_factor(x.ranks[0], sex) for x in lsoas])
    expected = population * _base_rates(sex)[None, :] * factors[:, None]
    scale = _scale_to(target_life_expectancy(sex, year), expected.sum(0), population.sum(0))
    counts = rng.poisson(expected * scale)
    deaths = []
    for i, age in zip(*np.nonzero(counts), strict=True):
        for _ in range(int(counts[i, age])):
            # "90+" residents die at 90 and over: spread over the years that band holds.
            years = int(age) + (int(rng.geometric(0.25)) - 1 if age == OPEN_AGE else 0)
            deaths.append((codes[i], min(years, 105)))
    return deaths


def _causes(rng, ages: np.ndarray) -> list[str]:
    """An underlying cause for each death, drawn from the mix of its age group."""
    codes = np.array([code for code, _, _ in CAUSES])
    out = np.empty(len(ages), dtype=object)
    for older, column in ((False, 1), (True, 2)):
        weights = np.array([cause[column] for cause in CAUSES], dtype=float)
        chosen = (ages >= 75) == older
        out[chosen] = codes[
            rng.choice(len(CAUSES), size=int(chosen.sum()), p=weights / weights.sum())
        ]
    return out.tolist()


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "nhs_pcmd", "deaths")
    keys = demo_keys("PCMD", DEMO_ONLY_HMAC_KEY)
    populations = demo_populations(place, lsoas)
    cells = populations.pivot_table(
        index=["mid_year", "sex", "lsoa_code"], columns="age", values="population"
    ).sort_index()
    written = []
    for year in YEARS:
        days = (dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1
        rows = []
        for sex in SEX_CODES:
            deaths = _deaths_of_year(rng, year, sex, cells, lsoas)
            rows += [[lsoa_code, sex, age] for lsoa_code, age in deaths]
            # patients of the area's practices who lived elsewhere, and unmatched addresses
            for _ in range(int(rng.poisson(len(deaths) * SHARE_ELSEWHERE))):
                other = f"{OTHER_LSOA_PREFIX}{int(rng.integers(1, 11)):04d}"
                rows.append([other, sex, int(rng.integers(40, 100))])
            for _ in range(int(rng.poisson(len(deaths) * SHARE_NO_LSOA))):
                rows.append(["", sex, int(rng.integers(30, 90))])
        day = rng.integers(days, size=len(rows))
        causes = _causes(rng, np.array([age for _, _, age in rows]))
        out = []
        for (lsoa_code, sex, age), offset, cause in zip(rows, day, causes, strict=True):
            died = dt.date(year, 1, 1) + dt.timedelta(days=int(offset))
            out.append([next(keys), died.strftime("%d/%m/%Y"), SEX_CODES[sex], age, lsoa_code,
                        cause])  # fmt: skip
        out.sort(key=lambda r: (r[1][6:], r[1][3:5], r[1][:2], r[0]))  # by date, then key
        written.append(write_csv(folder / f"pcmd_deaths_{year}.csv", HEADER, out))
    return written
