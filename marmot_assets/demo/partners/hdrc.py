"""Health Determinants Research Collaboration: the evidence register, as an Excel workbook with
title and notes rows above the header, sent each half-year as evaluations move from planned
to complete. Links point at example.org: the evaluations are invented for the demo."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from marmot_assets.demo.files import workbook_bytes
from marmot_assets.demo.partners import drop_folder

HEADER = [
    "Intervention",
    "Marmot principles",
    "Indicators",
    "Study design",
    "Population",
    "Key finding",
    "Effect size",
    "Status",
    "Link",
]
VERSIONS = ["2024 Q2", "2024 Q4", "2025 Q2"]
FIXED_TIME = dt.datetime(2024, 1, 1)  # openpyxl would stamp "now" into the file
# intervention, principles, indicators, design, population, finding, effect size,
# status in each version (None: not yet on the register)
EVALUATIONS = [
    (
        "Family Hubs integrated early years offer",
        "1;6",
        "school_readiness_gld;school_readiness_gld_fsm",
        "quasi-experimental",
        "Families with children under 5 living near a family hub",
        "Good level of development rose faster in hub catchments than in matched areas.",
        0.12,
        ("in progress", "complete", "complete"),
    ),
    (
        "Job Shop support for people facing the biggest barriers",
        "3",
        "unemployment_model_based",
        "before-after",
        "Job Shop clients with two or more barriers to work",
        "46% were in work or training within 12 months, against 31% before the new offer.",
        None,
        ("complete", "complete", "complete"),
    ),
    (
        "Free school meals auto-enrolment",
        "4;2",
        "school_readiness_gld_fsm",
        "quasi-experimental",
        "Pupils eligible for free school meals",
        "Take-up among eligible pupils rose by 9 percentage points.",
        0.09,
        ("in progress", "in progress", "complete"),
    ),
    (
        "Support workers for families in temporary accommodation",
        "5;1",
        "",
        "qualitative",
        "Families with children in temporary accommodation",
        "Families valued one named worker; school moves were the hardest part of a stay.",
        None,
        ("planned", "in progress", "complete"),
    ),
    (
        "Family Health and Lifestyle Service",
        "6;1",
        "reception_overweight_obese;year6_overweight_obese",
        "mixed methods",
        "Children and families referred for healthy weight support",
        "Children who completed the programme kept a healthier weight a year on.",
        -0.21,
        ("in progress", "in progress", "complete"),
    ),
    (
        "Social prescribing link workers",
        "6;5",
        "low_life_satisfaction",
        "before-after",
        "Adults referred by their general practice",
        "Wellbeing scores rose after six months.",
        0.35,
        ("complete", "complete", "complete"),
    ),
    (
        "Warm homes retrofit grants",
        "4;5;8",
        "fuel_poverty_lilee",
        "quasi-experimental",
        "Low-income owner-occupiers in homes rated EPC E to G",
        "Homes improved by two EPC bands on average; fewer winter GP visits.",
        -0.15,
        (None, "planned", "in progress"),
    ),
    (
        "NEET re-engagement coaching",
        "2;3",
        "neet_16_17",
        "RCT",
        "16-17 year olds not in education, employment or training",
        "Coached young people were more likely to be in education or work after six months.",
        0.18,
        ("planned", "in progress", "complete"),
    ),
    (
        "School streets",
        "8;5",
        "air_pollution_mortality_fraction",
        "before-after",
        "Primary schools on busy roads",
        "Nitrogen dioxide at school gates fell at drop-off time.",
        -0.3,
        (None, "in progress", "complete"),
    ),
    (
        "Community health champions",
        "7;6",
        "",
        "qualitative",
        "Residents from ethnic minority communities",
        "Champions built trust where services had not; language support mattered most.",
        None,
        ("complete", "complete", "complete"),
    ),
    (
        "Fairer employers pledge",
        "3;7",
        "employment_gap_long_term_condition",
        "mixed methods",
        "Employees of businesses signed up to the pledge",
        "",
        None,
        (None, None, "planned"),
    ),
    (
        "Infant feeding peer support",
        "1;6",
        "",
        "RCT",
        "New parents in the most deprived wards",
        "",
        None,
        (None, "planned", "planned"),
    ),
    (
        "Holiday activities and food programme",
        "1;4",
        "",
        "before-after",
        "Children eligible for free school meals, in school holidays",
        "Most children attended at least half the days offered.",
        None,
        ("complete", "complete", "complete"),
    ),
    (
        "Youth mental health drop-ins",
        "2;6",
        "low_life_satisfaction",
        "mixed methods",
        "Young people aged 11-18",
        "",
        None,
        (None, None, "in progress"),
    ),
]


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "hdrc", "evidence_register")
    written = []
    for version_index, version in enumerate(VERSIONS):
        rows = []
        for (
            name,
            principles,
            indicators,
            design,
            population,
            finding,
            effect,
            statuses,
        ) in EVALUATIONS:
            status = statuses[version_index]
            if status is None:
                continue
            done = status == "complete"
            slug = name.lower().replace(" ", "-")
            rows.append(
                [
                    name,
                    principles,
                    indicators,
                    design,
                    population,
                    finding if done else "",
                    effect if done else None,
                    status,
                    f"https://hdrc.example.org/evaluations/{slug}",
                ]
            )
        path = folder / f"hdrc_evidence_register_{version.replace(' ', '_')}.xlsx"
        path.write_bytes(_workbook(place.name, version, rows))
        written.append(path)
    return written


def _workbook(place_name: str, version: str, rows: list[list]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Register"
    sheet.append([f"{place_name} Health Determinants Research Collaboration: evidence register"])
    sheet.append(
        [
            f"Version {version}. One row per evaluation; principles and indicators "
            "are separated by ';'."
        ]
    )
    sheet.append([])
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    return workbook_bytes(book, FIXED_TIME)
