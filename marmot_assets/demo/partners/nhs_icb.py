"""NHS Coventry and Warwickshire: NCMP child measurements, one CSV per academic year.

Pseudonymised at source: the NHS number becomes ChildKey (keyed HMAC-SHA-256); names, date of
birth and postcode are not sent. Overweight and obesity rise with deprivation and from
Reception to Year 6, as the NCMP shows nationally. A few children at the city's schools live
in a neighbouring authority (skipped by the door) and a few postcodes match no LSOA. The
ICB's extracts before the last year still name LSOAs by their 2011 codes (as older real
extracts do) when the place is on LSOA 2021: the door converts them.
"""

from __future__ import annotations

from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.generator import OTHER_LSOA_PREFIX, lsoa11_codes
from marmot_assets.demo.partners import drop_folder
from marmot_assets.demo.partners.council_job_shop import demo_keys

# DEMO ONLY: a fixed, public key so the demo is byte-stable. A real key belongs to the
# data-sharing agreement, is held by the NHS, and is read from the environment only.
DEMO_ONLY_HMAC_KEY = b"DEMO-ONLY-nhs-icb-ncmp-key-never-use-for-real-data"

ACADEMIC_YEARS = ["2021/22", "2022/23", "2023/24"]
ON_LSOA_2011 = ACADEMIC_YEARS[:-1]  # extracts made before the ICB moved to LSOA 2021
CATEGORIES = ["Underweight", "Healthy weight", "Overweight", "Living with obesity"]
HEADER = ["ChildKey", "AcademicYear", "SchoolYear", "Sex", "PupilLSOACode", "PopulationBMIcategory"]


def _category_chances(school_year: str, dep: float, step: int) -> list[float]:
    """Underweight, healthy, overweight, obese: Coventry about 22% / 38% overweight or obese."""
    if school_year == "Reception":
        under, over, obese = 0.012, 0.12 + 0.02 * dep, 0.065 + 0.07 * dep
    else:
        under, over, obese = 0.015, 0.13 + 0.02 * dep, 0.16 + 0.13 * dep
    obese += 0.003 * step  # rising slowly year on year
    return [under, 1 - under - over - obese, over, obese]


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "nhs_icb", "child_measurements")
    keys = demo_keys("NCMP", DEMO_ONLY_HMAC_KEY)
    written = []
    on_2021 = place.geography.lsoa_year == 2021
    old_codes = lsoa11_codes(place, lsoas) if on_2021 else {}
    for step, year in enumerate(ACADEMIC_YEARS):
        rows = []
        for lsoa in lsoas:
            dep = lsoa.deprivation
            for school_year in ("Reception", "Year 6"):
                # One year's cohort is about 1.3% of residents, more where areas are younger;
                # about 94% of eligible children are measured.
                cohort = lsoa.population[0] * 0.0125 * (0.9 + 0.2 * dep) * 0.94
                n = int(rng.poisson(cohort))
                # About 3% live over the boundary but attend a city school; 0.5% of home
                # postcodes match no LSOA.
                homes = [
                    f"{OTHER_LSOA_PREFIX}{int(o):04d}"
                    if d < 0.03
                    else ""
                    if d < 0.035
                    else lsoa.code
                    for d, o in zip(rng.random(n), rng.integers(1, 11, size=n), strict=True)
                ]
                males = rng.random(n) < 0.51
                categories = rng.choice(4, size=n, p=_category_chances(school_year, dep, step))
                for home, male, category in zip(homes, males, categories, strict=True):
                    rows.append(
                        [
                            next(keys),
                            year,
                            school_year,
                            "Male" if male else "Female",
                            home,
                            CATEGORIES[int(category)],
                        ]
                    )
        if year in ON_LSOA_2011 and old_codes:
            _to_lsoa11(rows, old_codes)
        path = folder / f"ncmp_child_measurements_{year.replace('/', '-')}.csv"
        rows.sort(key=lambda r: (r[2], r[0]))  # by year group, then key
        written.append(write_csv(path, HEADER, rows))
    return written


def _to_lsoa11(rows: list[list[str]], old_codes: dict[str, list[str]]) -> None:
    """Each row's LSOA as a 2011 extract names it; a merged LSOA's children alternate between
    its two 2011 LSOAs (by row, so no random draw changes the other rows)."""
    for i, row in enumerate(rows):
        codes = old_codes.get(row[4])
        if codes:
            row[4] = codes[i % len(codes)]
