"""Council education: EYFSP results by LSOA (CSV a year), free school meals by ward (Excel
workbook a term) and NEET / not known by ward (CSV a month).

Every rate worsens with deprivation, as it does in Coventry, so the platform's gradients have
something to find: fewer children reach a good level of development in deprived areas (and
FSM children fewer than their neighbours), more pupils are eligible for free school meals, and
more 16-17 year olds are NEET or not known.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from marmot_assets.demo.files import workbook_bytes, write_csv
from marmot_assets.demo.partners import children_by_ward, drop_folder, ward_table

ACADEMIC_YEARS = ["2021/22", "2022/23", "2023/24"]  # comparable since the 2021 EYFS reforms
CENSUS_TERMS = [
    "Spring 2023",
    "Summer 2023",
    "Autumn 2023",
    "Spring 2024",
    "Summer 2024",
    "Autumn 2024",
]
NEET_MONTHS = [(2023 + (m > 12), (m - 1) % 12 + 1) for m in range(4, 16)]  # Apr 2023..Mar 2024
# Fixed workbook time: openpyxl would stamp "now" into docProps/core.xml and every zip entry.
WORKBOOK_TIME = dt.datetime(2024, 1, 1)
EYFS_HEADER = [
    "LSOA code",
    "LSOA name",
    "Academic year",
    "FSM status",
    "Pupils assessed",
    "Pupils reaching a good level of development",
]
NEET_HEADER = [
    "Ward code",
    "Ward name",
    "Month",
    "16-17 year olds known to the local authority",
    "NEET",
    "Activity not known",
]


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    return [*_eyfs(inbox, lsoas, rng), *_fsm(inbox, place, lsoas, rng), *_neet(inbox, lsoas, rng)]


def _eyfs(inbox: Path, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_education", "eyfs_results")
    written = []
    for step, year in enumerate(ACADEMIC_YEARS):
        rows = []
        for lsoa in lsoas:
            dep = lsoa.deprivation
            # A Reception cohort is about a sixteenth of the 0-15 population.
            cohort = int(rng.poisson(lsoa.population[1] / 16))
            unknown = int(rng.binomial(cohort, 0.02))
            fsm = int(rng.binomial(cohort - unknown, min(0.06 + 0.42 * dep, 0.9)))
            groups = {
                "FSM": (fsm, 0.54 - 0.06 * dep),
                "Non-FSM": (cohort - unknown - fsm, 0.74 - 0.10 * dep),
                "Unknown": (unknown, 0.55),
            }
            for status, (assessed, gld_rate) in groups.items():
                if assessed == 0:  # the export lists only groups with pupils in them
                    continue
                reaching = int(rng.binomial(assessed, gld_rate + 0.01 * step))
                rows.append([lsoa.code, lsoa.name, year, status, assessed, reaching])
        path = folder / f"eyfsp_gld_by_lsoa_fsm_{year.replace('/', '-')}.csv"
        # Saved from Excel as "CSV UTF-8": byte order mark and CRLF.
        written.append(write_csv(path, EYFS_HEADER, rows, encoding="utf-8-sig"))
    return written


def _fsm(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_education", "fsm_eligibility")
    children = children_by_ward(lsoas)
    written = []
    for step, term in enumerate(CENSUS_TERMS):
        rows = []
        for ward in ward_table(lsoas):
            dep = ward["deprivation"]
            # Pupils of school age (4-15) are about 12/16 of the ward's 0-15 population.
            pupils = int(rng.poisson(children[ward["code"]] * 12 / 16))
            # Eligibility grows each term (universal credit transitional protection).
            eligible = int(rng.binomial(pupils, 0.08 + 0.38 * dep + 0.004 * step))
            # Take-up is lower where eligibility is rarer (stigma, fewer auto-enrolments).
            taking = int(rng.binomial(eligible, 0.80 + 0.12 * dep))
            rows.append([ward["code"], ward["name"], term, pupils, eligible, taking])
        path = folder / f"fsm_eligibility_by_ward_{term.replace(' ', '_')}.xlsx"
        path.write_bytes(_workbook(place.name, term, rows))
        written.append(path)
    return written


def _workbook(place_name: str, term: str, rows: list[list]) -> bytes:
    """The council's workbook: notes sheet first, data sheet with two notes rows above the
    header. Written byte-stable: fixed document times and fixed zip entry times."""
    import openpyxl

    book = openpyxl.Workbook()
    about = book.active
    about.title = "About this data"
    for line in [
        ["Free school meals eligibility and take-up by ward of residence"],
        [
            f"Source: school census, {term}. Pupils in {place_name} schools and academies, "
            "counted by the ward of their home address."
        ],
        ["Eligible: pupils known to be eligible for free school meals on census day."],
        ["Taking a meal: eligible pupils who took a free school meal on census day."],
        ["Contact: school admissions and pupil data team."],
    ]:
        about.append(line)
    data = book.create_sheet("FSM by ward")
    data.append([f"Free school meals by ward, {term} census"])
    data.append(["Counts are not rounded or suppressed: for partnership use only."])
    data.append(
        [
            "Ward code",
            "Ward name",
            "Census term",
            "Pupils on roll",
            "Pupils eligible for FSM",
            "Eligible pupils taking a meal",
        ]
    )
    for row in rows:
        data.append(row)
    book.properties.creator = "Coventry City Council"
    return workbook_bytes(book, WORKBOOK_TIME, entry_mode=0o600)


def _neet(inbox: Path, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_education", "neet")
    wards = ward_table(lsoas)
    children = children_by_ward(lsoas)
    written = []
    for step, (year, month) in enumerate(NEET_MONTHS):
        label = dt.date(year, month, 1).strftime("%b %Y")
        rows = []
        for ward in wards:
            dep = ward["deprivation"]
            # Two year groups: about 2/16 of the 0-15 population.
            cohort = int(rng.poisson(children[ward["code"]] * 2 / 16))
            # NEET creeps up through the academic year as young people drop out.
            neet_rate = 0.020 + 0.055 * dep + 0.001 * step
            # Not known peaks in September-October, before activity is confirmed.
            not_known_rate = 0.010 + 0.020 * dep + (0.10 if month in (9, 10) else 0)
            neet = int(rng.binomial(cohort, neet_rate))
            not_known = int(rng.binomial(cohort - neet, not_known_rate))
            rows.append([ward["code"], ward["name"], label, cohort, neet, not_known])
        path = folder / f"nccis_neet_not_known_{year}-{month:02d}.csv"
        written.append(write_csv(path, NEET_HEADER, rows))
    return written
