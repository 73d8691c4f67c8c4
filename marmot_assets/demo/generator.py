"""Seeded demo data, written in the publishers' own file formats.

Why: the platform's parsers are built against real published files (ONS lookups, MHCLG Indices
of Deprivation CSVs, OHID Fingertips CSV downloads). The demo writes the same layouts, including
their traps (byte-order marks, quoted thousands separators, CRLF, quoted newlines, suppressed
rows), so a demo run exercises exactly the code that reads real data.

Everything is derived from ``place.demo.seed`` with one ``numpy.random.default_rng``: the same
seed gives byte-identical files. Nothing place-specific lives here: codes and names come from the
PlaceConfig, indicators from the catalogue.
"""

from __future__ import annotations

import csv
import math
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marmot_assets.config import Area, PlaceConfig

# Layout under the demo folder: fixed, because the parsers look there.
LOOKUP_FILE = Path("ons/geography/lsoa_ward_lad_lookup.csv")
IMD_DIR = Path("mhclg/deprivation")
IMD_FILE_1 = IMD_DIR / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
IMD_FILE_2 = IMD_DIR / "File_2_-_IoD2019_Domains_of_Deprivation.csv"
IMD_FILE_6 = IMD_DIR / "File_6_-_IoD2019_Population_Denominators.csv"
FINGERTIPS_FILE = Path("ohid/fingertips/indicators-by_indicator_id.csv")

# --- MHCLG IoD2019 -----------------------------------------------------------------------------
N_LSOA_ENGLAND = 32_844  # LSOAs (2011) ranked in IoD2019; rank 1 = most deprived
_IMD_KEY_HEADER = [
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
]
# File_1 and File_2 word the same columns differently: real files do, parsers must cope.
IMD_FILE_1_HEADER = _IMD_KEY_HEADER + [
    "Index of Multiple Deprivation (IMD) Rank",
    "Index of Multiple Deprivation (IMD) Decile",
]
# (domain label, correlation of its latent score with the IMD's), correlations as measured on
# a real place's File_2 ranks: income and employment track the IMD, living environment barely.
DOMAINS = [
    ("Index of Multiple Deprivation (IMD)", 1.0),
    ("Income", 0.97),
    ("Employment", 0.92),
    ("Education, Skills and Training", 0.93),
    ("Health Deprivation and Disability", 0.93),
    ("Crime", 0.77),
    ("Barriers to Housing and Services", 0.56),
    ("Living Environment", 0.30),
]
IMD_FILE_2_HEADER = _IMD_KEY_HEADER + [
    col
    for label, _ in DOMAINS
    for col in (
        f"{label} Rank (where 1 is most deprived)",
        f"{label} Decile (where 1 is most deprived 10% of LSOAs)",
    )
]
IMD_FILE_6_HEADER = _IMD_KEY_HEADER + [
    "Total population: mid 2015 (excluding prisoners)",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "Population aged 16-59: mid 2015 (excluding prisoners)",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)",
]
# A second local authority's rows in the national files, so parsers must filter to the place.
# Two candidates so the demo still works when the place is the first one.
OTHER_LAS = [("E08000025", "Birmingham"), ("E08000027", "Dudley")]
OTHER_LA_ROWS = 10
PLACE_LSOA_PREFIX = "E0199"  # real LSOA codes never reach E0199xxxx: clearly demo
OTHER_LSOA_PREFIX = "E0198"

# --- OHID Fingertips ---------------------------------------------------------------------------
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
Z95 = 1.959963984540054
Z998 = 3.090232306167813  # qnorm(0.999): 99.8% two-sided, as PHEindicatormethods (the brief's 2.967738 is 99.7%)
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
PROFILES = {
    "life_expectancy_birth": Profile({"Male": 79.4, "Female": 83.1}, 1.2, 6.0, 0.08, se=0.3,
                                     noise=0.6),
    "healthy_life_expectancy_birth": Profile({"Male": 63.1, "Female": 63.9}, 2.5, 0, -0.15, se=1.3),
    "life_expectancy_inequality_sii": Profile({"Male": 9.4, "Female": 7.6}, 1.0, 0, 0.05, se=0.9),
    "school_readiness_gld": Profile({"*": 71.0}, 3.0, 12.0, 0.4, share=0.0125, noise=1.0),
    "school_readiness_gld_fsm": Profile({"*": 56.5}, 3.0, 0, 0.5, share=0.003),
    "attainment_8": Profile({"*": 47.0}, 2.0, 0, 0.3, se=0.35),
    "neet_16_17": Profile({"*": 5.5}, 1.0, 4.0, -0.1, share=0.024, noise=0.8),
    "unemployment_model_based": Profile({"*": 4.6}, 1.2, 0, -0.1, share=0.5),
    "children_relative_low_income": Profile({"*": 19.5}, 5.5, 16.0, 0.3, share=0.19, noise=1.0),
    "fuel_poverty_lilee": Profile({"*": 13.2}, 3.0, 7.0, 0.1, share=0.42, noise=1.0),
    # NCMP small-area figures pool three school years of measurements: larger denominators.
    "reception_overweight_obese": Profile({"*": 22.3}, 0.8, 5.0, 0.1, share=0.035, noise=0.5),
    "year6_overweight_obese": Profile({"*": 35.8}, 2.2, 6.0, 0.3, share=0.035, noise=0.5),
    "low_life_satisfaction": Profile({"*": 5.0}, 0.8, 0, 0.1, share=0.003),
    "employment_gap_long_term_condition": Profile({"*": 10.5}, 1.5, 0, -0.1, se=1.6),
    "air_pollution_mortality_fraction": Profile({"*": 5.6}, 0.6, 0, -0.1, se=0.15),
}  # fmt: skip


@dataclass
class DemoLsoa:
    code: str
    name: str
    ward_code: str
    ward_name: str
    lad_code: str
    lad_name: str
    deprivation: float  # 0 least .. 1 most deprived (the ward's score, or random elsewhere)
    population: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # File_6 columns, in order
    ranks: tuple[int, ...] = ()  # national rank per DOMAINS entry


def generate_demo_data(
    out_dir: Path,
    place: PlaceConfig,
    catalogue: list[dict[str, str]],
    inbox_dir: Path | None = None,
) -> list[Path]:
    """Write the demo publisher files under ``out_dir`` and, given ``inbox_dir``, the partner
    agencies' demo deliveries into their drop folders; return the paths in writing order."""
    rng = np.random.default_rng(place.demo.seed)
    place_lsoas, other_lsoas = _demo_lsoas(rng, place)
    all_lsoas = place_lsoas + other_lsoas
    _assign_ranks(rng, all_lsoas)
    _assign_populations(rng, all_lsoas)
    # Real MHCLG files list LSOAs in code order, so the other authority's rows come first.
    all_lsoas.sort(key=lambda lsoa: lsoa.code)

    out_dir = Path(out_dir)
    written = [
        _write_lookup(out_dir, place, place_lsoas),
        *_write_imd_files(out_dir, all_lsoas),
        _write_fingertips(out_dir, rng, place, catalogue, place_lsoas),
    ]
    if inbox_dir is not None:
        from marmot_assets.demo.partners import write_partner_demo

        written += write_partner_demo(Path(inbox_dir), place, place_lsoas)
    return written


# --- small areas -------------------------------------------------------------------------------
def _demo_lsoas(rng: np.random.Generator, place: PlaceConfig):
    demo = place.demo
    if demo.lsoa_per_ward_max > len(string.ascii_uppercase):
        raise ValueError("lsoa_per_ward_max must be at most 26 (one letter per LSOA name)")
    place_lsoas: list[DemoLsoa] = []
    for ordinal, ward in enumerate(demo.wards, start=1):
        n = int(rng.integers(demo.lsoa_per_ward_min, demo.lsoa_per_ward_max + 1))
        for letter in string.ascii_uppercase[:n]:
            place_lsoas.append(
                DemoLsoa(
                    code=f"{PLACE_LSOA_PREFIX}{len(place_lsoas) + 1:04d}",
                    name=f"{place.name} DEMO {ordinal:03d}{letter}",
                    ward_code=ward.code,
                    ward_name=ward.name,
                    lad_code=place.code,
                    lad_name=place.name,
                    deprivation=ward.deprivation,
                )
            )
    other_code, other_name = next(la for la in OTHER_LAS if la[0] != place.code)
    other_lsoas = [
        DemoLsoa(
            code=f"{OTHER_LSOA_PREFIX}{i + 1:04d}",
            name=f"{other_name} DEMO 001{string.ascii_uppercase[i]}",
            ward_code="",
            ward_name="",
            lad_code=other_code,
            lad_name=other_name,
            deprivation=float(rng.uniform(0, 1)),
        )
        for i in range(OTHER_LA_ROWS)
    ]
    return place_lsoas, other_lsoas


def imd_decile(rank: int, n: int = N_LSOA_ENGLAND) -> int:
    """National decile of a rank as MHCLG assigns it: ceil(10 * rank / n).

    Checked against the real IoD2019 England file: decile d ends at rank floor(d * n / 10).
    """
    return (10 * rank + n - 1) // n


def _assign_ranks(rng: np.random.Generator, lsoas: list[DemoLsoa]) -> None:
    # A latent normal score per LSOA (low = deprived) follows its ward's deprivation with noise;
    # tuned so the most deprived ward sits mostly in deciles 1-2, the least in 8-10, and about
    # 10-20% of a typical place's LSOAs in decile 1.
    dep = np.array([lsoa.deprivation for lsoa in lsoas])
    imd_latent = 1.2 - 2.7 * dep + rng.normal(0, 0.5, len(lsoas))
    ranks_by_domain = []
    for _, rho in DOMAINS:
        # Each domain shares the IMD's latent score to its measured correlation (the IMD: 1).
        noise = rng.normal(0, imd_latent.std(), len(lsoas))
        ranks_by_domain.append(_unique_ranks(rho * imd_latent + math.sqrt(1 - rho * rho) * noise))
    for i, lsoa in enumerate(lsoas):
        lsoa.ranks = tuple(ranks[i] for ranks in ranks_by_domain)


def _unique_ranks(latent: np.ndarray) -> list[int]:
    """National ranks from latent normal scores; distinct, as no two LSOAs share a rank."""
    used: set[int] = set()
    ranks = []
    for z in latent:
        share = 0.5 * (1 + math.erf(float(z) / math.sqrt(2)))
        rank = min(max(math.ceil(share * N_LSOA_ENGLAND), 1), N_LSOA_ENGLAND)
        while rank in used:
            rank = rank % N_LSOA_ENGLAND + 1
        used.add(rank)
        ranks.append(rank)
    return ranks


def _assign_populations(rng: np.random.Generator, lsoas: list[DemoLsoa]) -> None:
    # Deprived areas are younger: more children, fewer people aged 60+.
    for lsoa in lsoas:
        total = int(np.clip(round(rng.normal(1650, 280)), 1200, 2500))
        child_share = np.clip(0.15 + 0.09 * lsoa.deprivation + rng.normal(0, 0.025), 0.08, 0.32)
        old_share = np.clip(0.27 - 0.12 * lsoa.deprivation + rng.normal(0, 0.03), 0.06, 0.40)
        children = int(round(total * child_share))
        older = int(round(total * old_share))
        middle = total - children - older
        # 18-59/64 = 16-59 less the 16-17s, plus men aged 60-64.
        working = int(round(0.955 * middle + 0.09 * older))
        lsoa.population = (total, children, middle, older, working)


# --- writers -----------------------------------------------------------------------------------
def _open_csv(path: Path, *, bom: bool, crlf: bool):
    path.parent.mkdir(parents=True, exist_ok=True)
    f = path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="")
    return f, csv.writer(f, lineterminator="\r\n" if crlf else "\n")


def _write_lookup(out_dir: Path, place: PlaceConfig, lsoas: list[DemoLsoa]) -> Path:
    # ONS's lookup CSV: no BOM, LF; header names come from the place's geography vintage.
    g = place.geography
    path = out_dir / LOOKUP_FILE
    f, w = _open_csv(path, bom=False, crlf=False)
    with f:
        w.writerow(["FID", g.lsoa_field, g.lsoa_name_field, g.ward_field, g.ward_name_field,
                    g.lad_field, g.lad_name_field])  # fmt: skip
        for fid, x in enumerate(lsoas, start=1):
            w.writerow([fid, x.code, x.name, x.ward_code, x.ward_name, x.lad_code, x.lad_name])
    return path


def _thousands(n: int) -> str:
    # File_1 and File_6 print counts like "11,101"; the csv writer then quotes them.
    return f"{n:,}"


def _write_imd_files(out_dir: Path, lsoas: list[DemoLsoa]) -> list[Path]:
    # MHCLG's CSVs: UTF-8 with BOM, CRLF, in LSOA code order. File_2 prints plain integers.
    files = [
        (IMD_FILE_1, IMD_FILE_1_HEADER,
         lambda x: [_thousands(x.ranks[0]), imd_decile(x.ranks[0])]),
        (IMD_FILE_2, IMD_FILE_2_HEADER,
         lambda x: [v for rank in x.ranks for v in (rank, imd_decile(rank))]),
        (IMD_FILE_6, IMD_FILE_6_HEADER,
         lambda x: [_thousands(n) for n in x.population]),
    ]  # fmt: skip
    paths = []
    for rel, header, values in files:
        f, w = _open_csv(out_dir / rel, bom=True, crlf=True)
        with f:
            w.writerow(header)
            w.writerows([x.code, x.name, x.lad_code, x.lad_name, *values(x)] for x in lsoas)
        paths.append(out_dir / rel)
    return paths


# --- Fingertips --------------------------------------------------------------------------------
def wilson_limits(count: int, denominator: int, z: float) -> tuple[float, float]:
    """Wilson score interval for a proportion (brief, section 6), as fractions."""
    centre = 2 * count + z * z
    half = z * math.sqrt(z * z + 4 * count * (1 - count / denominator))
    scale = 2 * (denominator + z * z)
    return (centre - half) / scale, (centre + half) / scale


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
        lo95, hi95 = wilson_limits(x, n, Z95)
        lo998, hi998 = wilson_limits(x, n, Z998)
        return [x / n * mult, lo95 * mult, hi95 * mult, lo998 * mult, hi998 * mult, x, n]
    # Published statistics: symmetric limits, wider for smaller populations.
    se = prof.se * math.sqrt(place_pop / pop)
    v = float(level)
    return [v, v - Z95 * se, v + Z95 * se, v - Z998 * se, v + Z998 * se, None, None]


def _write_fingertips(out_dir, rng, place: PlaceConfig, catalogue, lsoas) -> Path:
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

    path = out_dir / FINGERTIPS_FILE
    f, w = _open_csv(path, bom=False, crlf=False)
    with f:
        w.writerow(FINGERTIPS_HEADER)
        w.writerows(rows)
    return path
