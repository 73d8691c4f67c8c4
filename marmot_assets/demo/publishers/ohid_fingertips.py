"""OHID Fingertips: the indicator download (``all_data/csv/by_indicator_id``) for England, the
region, the place and its wards, with Fingertips' traps (a quoted newline in a name, suppressed
small ward rows) and OHID's confidence limits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from marmot_assets.config import Area, PlaceConfig
from marmot_assets.demo.files import write_csv
from marmot_assets.methods import Z95, Z998, wilson_ci

if TYPE_CHECKING:
    from marmot_assets.demo.generator import DemoLsoa

FINGERTIPS_FILE = Path("ohid/fingertips/indicators-by_indicator_id.csv")
FINGERTIPS_HEADER = [
    "Indicator ID", "Indicator Name", "Parent Code", "Parent Name", "Area Code", "Area Name",
    "Area Type", "Sex", "Age", "Category Type", "Category", "Time period", "Value",
    "Lower CI 95.0 limit", "Upper CI 95.0 limit", "Lower CI 99.8 limit", "Upper CI 99.8 limit",
    "Count", "Denominator", "Value note", "Recent Trend",
    "Compared to England value or percentiles", "Compared to Region value or percentiles",
    "Time period Sortable", "New data", "Compared to goal", "Time period range",
]  # fmt: skip
AREA_TYPE_NAMES = {  # Fingertips area type id -> the Area Type text it publishes
    15: "England",
    6: "Region",
    502: "Counties & UAs (from Apr 2023)",
    501: "Districts & UAs (from Apr 2023)",
    8: "Ward",
}
SUPPRESSED_NOTE = "Value suppressed for disclosure control due to small count"
N_PERIODS = 6
# period_kind -> (years covered, last period's first year)
PERIOD_KINDS = {
    "calendar_year": (1, 2022),
    "academic_year": (1, 2022),
    "financial_year": (1, 2022),
    "three_calendar_years": (3, 2020),
}
ENGLAND_POPULATION = 56_300_000  # mid-2019, for denominators and interval widths
REGION_SHARE = 0.105  # a typical English region's share of England's population


@dataclass(frozen=True)
class Profile:
    """How one indicator's demo values behave (England level, direction, spread)."""

    england: dict[str, float]  # England value in the first period, by sex ("*" = any sex)
    worse_by: float  # how much worse the place is than England (sign set by polarity)
    gap: float  # most (1) vs least (0) deprived ward, worse when more deprived
    trend: float  # change per period, as signed
    share: float = 0.01  # proportions: denominator as a share of the population
    se: float = 0.5  # other methods: standard error at the place's population size
    noise: float = 0.5  # ward-level scatter around the deprivation gradient


# Keyed by the catalogue's stable indicator_id; values in the indicator's published unit.
# The place's level of an indicator the demo partners also measure (school readiness, NCMP;
# life expectancy through nhs_pcmd) matches what their demo data give, so the place value we
# compute lies within the Fingertips value's 99.8% interval (mart_fingertips_reconciliation).
PROFILES = {
    "life_expectancy_birth": Profile({"Male": 79.4, "Female": 83.1}, 1.2, 6.0, 0.08, se=0.3,
                                     noise=0.6),
    "healthy_life_expectancy_birth": Profile({"Male": 63.1, "Female": 63.9}, 2.5, 0, -0.15, se=1.3),
    "life_expectancy_inequality_sii": Profile({"Male": 9.4, "Female": 7.6}, 1.0, 0, 0.05, se=0.9),
    "school_readiness_gld": Profile({"*": 66.0}, 5.0, 12.0, 0.4, share=0.0125, noise=1.0),
    "school_readiness_gld_fsm": Profile({"*": 56.5}, 3.0, 0, 0.5, share=0.003),
    "attainment_8": Profile({"*": 47.0}, 2.0, 0, 0.3, se=0.35),
    "neet_16_17": Profile({"*": 5.5}, 1.0, 4.0, -0.1, share=0.024, noise=0.8),
    "unemployment_model_based": Profile({"*": 4.6}, 1.2, 0, -0.1, share=0.5),
    "children_relative_low_income": Profile({"*": 19.5}, 5.5, 16.0, 0.3, share=0.19, noise=1.0),
    "fuel_poverty_lilee": Profile({"*": 13.2}, 3.0, 7.0, 0.1, share=0.42, noise=1.0),
    # NCMP small-area figures pool three school years of measurements: larger denominators.
    "reception_overweight_obese": Profile({"*": 21.6}, 1.0, 5.0, 0.3, share=0.035, noise=0.5),
    "year6_overweight_obese": Profile({"*": 35.0}, 1.2, 6.0, 0.3, share=0.035, noise=0.5),
    "low_life_satisfaction": Profile({"*": 5.0}, 0.8, 0, 0.1, share=0.003),
    "employment_gap_long_term_condition": Profile({"*": 10.5}, 1.5, 0, -0.1, se=1.6),
    "air_pollution_mortality_fraction": Profile({"*": 5.6}, 0.6, 0, -0.1, se=0.15),
}  # fmt: skip


def _periods(kind: str) -> list[tuple[str, str, str]]:
    """(Time period, Time period Sortable, Time period range) for the demo's periods."""
    years, last = PERIOD_KINDS[kind]
    out = []
    for start in range(last - N_PERIODS + 1, last + 1):
        if kind == "calendar_year":
            label = str(start)
        elif kind == "three_calendar_years":
            label = f"{start} - {(start + 2) % 100:02d}"
        else:  # academic and financial years print the same way: 2018/19
            label = f"{start}/{(start + 1) % 100:02d}"
        out.append((label, f"{start}0000", f"{years}y"))
    return out


def _compare(lower, upper, comparator, polarity: str) -> str:
    # As Fingertips colours it: the comparator outside the row's 95% interval is significant.
    if lower is None or comparator is None:
        return "Not compared"
    if lower <= comparator <= upper:
        return "Similar"
    higher = comparator < lower
    if polarity == "higher_is_better":
        return "Better" if higher else "Worse"
    if polarity == "lower_is_better":
        return "Worse" if higher else "Better"
    return "Higher" if higher else "Lower"


def _num(x) -> str:
    # Full float precision like Fingertips; empty cell for null.
    return "" if x is None else repr(float(x)) if isinstance(x, float) else str(x)


def _profile(row: dict[str, str]) -> Profile:
    if row["indicator_id"] in PROFILES:
        return PROFILES[row["indicator_id"]]
    # An indicator added to the catalogue later still gets plausible demo rows.
    level = 0.2 * float(row["multiplier"] or 1) if row["method"] == "proportion" else 50.0
    return Profile({"*": level}, level * 0.05, level * 0.2, 0.0)


@dataclass(frozen=True)
class _FtArea:
    code: str
    name: str
    area_type: str  # as Fingertips prints it
    level: str  # catalogue geography level: country, region, local_authority, ward
    parent: Area | None
    population: float
    deprivation: float = 0.0  # wards only


def _fingertips_areas(place: PlaceConfig, lsoas: list[DemoLsoa]) -> list[_FtArea]:
    """England, the region, the place and its wards, in Fingertips' parent order."""
    england, region, ft = place.england, place.region, place.fingertips
    ward_pop = {w.code: 0 for w in place.demo.wards}
    for x in lsoas:
        ward_pop[x.ward_code] += x.population[0]
    # The place's size comes from its demo LSOAs, so Fingertips denominators match File_6.
    areas = [_FtArea(england.code, england.name, AREA_TYPE_NAMES[15], "country", None,
                     ENGLAND_POPULATION)]  # fmt: skip
    if region:
        areas.append(_FtArea(region.code, region.name, AREA_TYPE_NAMES[6], "region", england,
                             ENGLAND_POPULATION * REGION_SHARE))  # fmt: skip
    areas.append(_FtArea(place.code, place.name, AREA_TYPE_NAMES[ft.place_area_type_id],
                         "local_authority", region or england, sum(ward_pop.values())))  # fmt: skip
    place_area = Area(code=place.code, name=place.name, area_type="local_authority")
    for w in place.demo.wards:
        areas.append(_FtArea(w.code, w.name, AREA_TYPE_NAMES[ft.ward_area_type_id], "ward",
                             place_area, max(ward_pop[w.code], 1), w.deprivation))  # fmt: skip
    return areas


def _true_levels(rng, prof: Profile, worse: float, england_level: float, areas) -> list[float]:
    """Underlying value per area: region and place worse than England, wards on a gradient."""
    wards = [a for a in areas if a.level == "ward"]
    mean_dep = float(np.mean([a.deprivation for a in wards])) if wards else 0.0
    place_level = england_level + worse * prof.worse_by + rng.normal(0, 0.2 * prof.noise)
    levels = []
    for a in areas:
        if a.level == "country":
            levels.append(england_level)
        elif a.level == "region":
            wobble = rng.normal(0, 0.1 * prof.noise)
            levels.append(england_level + worse * prof.worse_by / 2 + wobble)
        elif a.level == "local_authority":
            levels.append(place_level)
        else:
            gradient = worse * prof.gap * (a.deprivation - mean_dep)
            levels.append(place_level + gradient + rng.normal(0, prof.noise))
    return levels


def _observe(
    rng, prof: Profile, proportion: bool, mult: float, level: float, pop: float, place_pop: float
) -> list:
    """[value, lower95, upper95, lower99.8, upper99.8, count, denominator] for one area."""
    if proportion:
        # A real count out of a real denominator, with OHID's Wilson limits.
        n = max(int(round(pop * prof.share * rng.lognormal(0, 0.04))), 20)
        x = int(rng.binomial(n, min(max(level / mult, 0.005), 0.995)))
        lo95, hi95 = wilson_ci(x, n, 0.95)
        lo998, hi998 = wilson_ci(x, n, 0.998)
        return [x / n * mult, lo95 * mult, hi95 * mult, lo998 * mult, hi998 * mult, x, n]
    # Published statistics: symmetric limits, wider for smaller populations.
    se = prof.se * math.sqrt(place_pop / pop)
    v = float(level)
    return [v, v - Z95 * se, v + Z95 * se, v - Z998 * se, v + Z998 * se, None, None]


def write_fingertips(out_dir, rng, place: PlaceConfig, catalogue, lsoas) -> Path:
    """The download for every catalogue indicator with a Fingertips id, in the periods and
    geography levels the catalogue gives; values drawn from ``rng``."""
    areas = _fingertips_areas(place, lsoas)
    place_pop = next(a.population for a in areas if a.level == "local_authority")
    indicators = [r for r in catalogue if r.get("fingertips_id")]
    # Real traps: one indicator's name carries a quoted trailing newline (as OHID's campylobacter
    # download does), and two small ward rows of one proportion indicator are suppressed.
    newline_id = indicators[0]["fingertips_id"] if indicators else None
    ward_proportions = [r["fingertips_id"] for r in indicators if r["method"] == "proportion"
                        and "ward" in r["geography_levels"].split("|")]  # fmt: skip
    suppress_id = ward_proportions[0] if ward_proportions else None

    rows = []
    for ind in indicators:
        fid, polarity, prof = ind["fingertips_id"], ind["polarity"], _profile(ind)
        levels = ind["geography_levels"].split("|")
        worse = -1.0 if polarity == "higher_is_better" else 1.0
        mult = float(ind["multiplier"] or 1)
        proportion = ind["method"] == "proportion"
        name = ind["indicator_name"] + ("\n" if fid == newline_id else "")
        periods = _periods(ind["period_kind"])
        for sex in ind["sexes"].split("|"):
            base = prof.england.get(sex, prof.england.get("*", min(prof.england.values())))
            for t, (label, sortable, span) in enumerate(periods):
                # A gentle trend with a small wobble, so no series is a straight line.
                england_level = base + prof.trend * t + rng.normal(0, 0.1 * prof.noise)
                true = _true_levels(rng, prof, worse, england_level, areas)
                obs = [_observe(rng, prof, proportion, mult, lv, a.population, place_pop)
                       for lv, a in zip(true, areas, strict=True)]  # fmt: skip
                comparators = {a.level: o[0] for a, o in zip(areas, obs, strict=True)}
                suppressed: set[str] = set()
                if fid == suppress_id and t == 0:  # the two wards with the smallest counts
                    ward_obs = [
                        (o[5], a.code) for a, o in zip(areas, obs, strict=True) if a.level == "ward"
                    ]
                    suppressed = {code for _, code in sorted(ward_obs)[:2]}
                for a, o in zip(areas, obs, strict=True):
                    if a.level not in levels:
                        continue
                    value, lo95, hi95, lo998, hi998, count, denom = o
                    note = ""
                    if a.code in suppressed:
                        value = lo95 = hi95 = lo998 = hi998 = count = None
                        note = SUPPRESSED_NOTE
                    vs_england = "Not compared" if a.level == "country" else _compare(
                        lo95, hi95, comparators["country"], polarity)  # fmt: skip
                    vs_region = "Not compared" if a.level in ("country", "region") else _compare(
                        lo95, hi95, comparators.get("region"), polarity)  # fmt: skip
                    numbers = [_num(v) for v in (value, lo95, hi95, lo998, hi998, count, denom)]
                    parent = (a.parent.code, a.parent.name) if a.parent else ("", "")
                    rows.append([
                        fid, name, *parent, a.code, a.name, a.area_type, sex,
                        ind["age"], "", "", label, *numbers, note,
                        "Cannot be calculated" if t == len(periods) - 1 else "",
                        vs_england, vs_region, sortable, "", "", span,
                    ])  # fmt: skip

    return write_csv(out_dir / FINGERTIPS_FILE, FINGERTIPS_HEADER, rows, line_end="\n")
