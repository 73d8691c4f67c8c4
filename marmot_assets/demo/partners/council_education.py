"""Council education: EYFSP results by LSOA (CSV a year), free school meals by ward (Excel
workbook a term) and NEET / not known by ward (CSV a month).

Every rate worsens with deprivation, as it does in Coventry, so the platform's gradients have
something to find: fewer children reach a good level of development in deprived areas (and
FSM children fewer than their neighbours), more pupils are eligible for free school meals, and
more 16-17 year olds are NEET or not known.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from pathlib import Path

from marmot_assets.demo.partners import ward_table

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


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    return [*_eyfs(inbox, lsoas, rng), *_fsm(inbox, place, lsoas, rng), *_neet(inbox, lsoas, rng)]


def _children_by_ward(lsoas) -> dict[str, int]:
    children: dict[str, int] = {}
    for lsoa in lsoas:
        children[lsoa.ward_code] = children.get(lsoa.ward_code, 0) + lsoa.population[1]
    return children


def _folder(inbox: Path, dataset: str) -> Path:
    folder = inbox / "council_education" / dataset
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _eyfs(inbox: Path, lsoas, rng) -> list[Path]:
    folder = _folder(inbox, "eyfs_results")
    written = []
    for step, year in enumerate(ACADEMIC_YEARS):
        path = folder / f"eyfsp_gld_by_lsoa_fsm_{year.replace('/', '-')}.csv"
        # Saved from Excel as "CSV UTF-8": byte order mark and CRLF.
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            out = csv.writer(f, lineterminator="\r\n")
            out.writerow(
                [
                    "LSOA code",
                    "LSOA name",
                    "Academic year",
                    "FSM status",
                    "Pupils assessed",
                    "Pupils reaching a good level of development",
                ]
            )
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
                    out.writerow([lsoa.code, lsoa.name, year, status, assessed, reaching])
        written.append(path)
    return written


def _fsm(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = _folder(inbox, "fsm_eligibility")
    children = _children_by_ward(lsoas)
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
    from openpyxl.writer.excel import ExcelWriter

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
    book.properties.created = book.properties.modified = WORKBOOK_TIME
    buffer = io.BytesIO()
    # ExcelWriter rather than Workbook.save, which overwrites `modified` with the clock.
    with _FixedTimeZip(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(book, archive).save()
    return buffer.getvalue()


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry one fixed time: zipfile stamps the clock on writestr and
    a file's mtime on write (openpyxl writes worksheets through temporary files)."""

    def write(self, filename, arcname=None, *args, **kwargs):
        self.writestr(arcname or Path(filename).name, Path(filename).read_bytes())

    def writestr(self, name, data, *args, **kwargs):
        if isinstance(name, str):
            info = zipfile.ZipInfo(name, date_time=WORKBOOK_TIME.timetuple()[:6])
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            name = info
        super().writestr(name, data, *args, **kwargs)


def _neet(inbox: Path, lsoas, rng) -> list[Path]:
    folder = _folder(inbox, "neet")
    wards = ward_table(lsoas)
    children = _children_by_ward(lsoas)
    written = []
    for step, (year, month) in enumerate(NEET_MONTHS):
        label = dt.date(year, month, 1).strftime("%b %Y")
        path = folder / f"nccis_neet_not_known_{year}-{month:02d}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f, lineterminator="\r\n")
            out.writerow(
                [
                    "Ward code",
                    "Ward name",
                    "Month",
                    "16-17 year olds known to the local authority",
                    "NEET",
                    "Activity not known",
                ]
            )
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
                out.writerow([ward["code"], ward["name"], label, cohort, neet, not_known])
        written.append(path)
    return written
