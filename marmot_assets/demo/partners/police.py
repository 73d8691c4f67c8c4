"""Police: data.police.uk street-level crime files, one CSV per month for the whole force area.

The real files cover every place the force polices, so the demo adds rows for another local
authority's LSOAs (the door skips them) and rows with no location (no coordinates, no LSOA),
as real files have.
"""

from __future__ import annotations

import math
from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.generator import OTHER_LAS, OTHER_LSOA_PREFIX
from marmot_assets.demo.partners import drop_folder

MONTHS = [f"2024-{m:02d}" for m in range(1, 13)]
HEADER = [
    "Crime ID",
    "Month",
    "Reported by",
    "Falls within",
    "Longitude",
    "Latitude",
    "Location",
    "LSOA code",
    "LSOA name",
    "Crime type",
    "Last outcome category",
    "Context",
]
ASB = "Anti-social behaviour"
# Shares of all recorded incidents, close to a large English force's mix.
CRIME_TYPES = {
    "Violence and sexual offences": 0.36,
    ASB: 0.15,
    "Public order": 0.09,
    "Criminal damage and arson": 0.08,
    "Shoplifting": 0.07,
    "Vehicle crime": 0.06,
    "Other theft": 0.06,
    "Burglary": 0.04,
    "Other crime": 0.03,
    "Drugs": 0.025,
    "Robbery": 0.013,
    "Theft from the person": 0.012,
    "Bicycle theft": 0.01,
    "Possession of weapons": 0.01,
}
OUTCOMES = {
    "Investigation complete; no suspect identified": 0.34,
    "Unable to prosecute suspect": 0.30,
    "Under investigation": 0.10,
    "Status update unavailable": 0.05,
    "Local resolution": 0.05,
    "Awaiting court outcome": 0.04,
    "Court result unavailable": 0.03,
    "Offender given a caution": 0.03,
    "Further investigation is not in the public interest": 0.02,
    "Formal action is not in the public interest": 0.02,
    "Action to be taken by another organisation": 0.02,
}
# data.police.uk snaps each incident to an anonymous map point: a street or a kind of place.
POINTS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Road",
    "London Road",
    "Mill Lane",
    "Victoria Street",
    "Queens Road",
    "Parking Area",
    "Supermarket",
    "Petrol Station",
    "Shopping Area",
    "Sports/Recreation Area",
    "Further/Higher Educational Building",
    "Nightclub",
    "Hospital",
    "Bus/Coach Station",
    "Conference/Exhibition Centre",
]
CENTRE = (52.408, -1.510)  # demo points scatter around one centre; only their form matters
NO_LOCATION_SHARE = 0.01
OTHER_PLACE_LSOAS = 10


def file_name(month: str, force: str) -> str:
    """data.police.uk's name: 2024-01-west-midlands-street.csv (force without 'Police')."""
    slug = force.lower().removesuffix(" police").replace(" ", "-")
    return f"{month}-{slug}-street.csv"


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "police", "street_crime")
    force = place.lists.get("police_forces", ["Demo Police"])[0]
    other_code, other_name = next(la for la in OTHER_LAS if la[0] != place.code)
    # (code, name, deprivation, population, points, centre) for the place and a neighbour.
    areas = [(x.code, x.name, x.deprivation, x.population[0]) for x in lsoas]
    areas += [
        (
            f"{OTHER_LSOA_PREFIX}{i + 1:04d}",
            f"{other_name} {i + 1:03d}A",
            float(rng.uniform(0, 1)),
            1600,
        )
        for i in range(OTHER_PLACE_LSOAS)
    ]
    areas = [
        (
            code,
            name,
            dep,
            pop,
            list(rng.choice(POINTS, size=4, replace=False)),
            (CENTRE[0] + rng.normal(0, 0.025), CENTRE[1] + rng.normal(0, 0.04)),
        )
        for code, name, dep, pop in areas
    ]
    types, type_p = list(CRIME_TYPES), _normalised(CRIME_TYPES)
    outcomes, outcome_p = list(OUTCOMES), _normalised(OUTCOMES)
    written = []
    for step, month in enumerate(MONTHS):
        season = 1 + 0.12 * math.sin(2 * math.pi * (step - 3) / 12)  # summer peak
        rows = []
        for code, name, dep, population, points, (lat, lon) in areas:
            # Incidents per 1,000 residents a month rise steeply with deprivation.
            n = int(rng.poisson(population * (3 + 11 * dep) * season / 1000))
            for crime_type in rng.choice(types, size=n, p=type_p):
                is_asb = crime_type == ASB
                crime_id = "" if is_asb else rng.bytes(32).hex()
                outcome = "" if is_asb else str(rng.choice(outcomes, p=outcome_p))
                if rng.random() < NO_LOCATION_SHARE:
                    where = ["", "", "No Location", "", ""]
                else:
                    where = [
                        f"{lon + rng.normal(0, 0.004):.6f}",
                        f"{lat + rng.normal(0, 0.003):.6f}",
                        f"On or near {points[int(rng.integers(len(points)))]}",
                        code,
                        name,
                    ]
                rows.append([crime_id, month, force, force, *where, crime_type, outcome, ""])
        written.append(write_csv(folder / file_name(month, force), HEADER, rows, line_end="\n"))
    return written


def _normalised(shares: dict[str, float]) -> list[float]:
    total = sum(shares.values())
    return [v / total for v in shares.values()]
