"""Council Family Hubs: monthly contacts by hub, ward of residence and service, one CSV a month.

Proportionate universalism: every ward gets the universal offer, and contacts per child grow
with ward deprivation, most steeply for the targeted services (early help, parenting support).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.partners import children_by_ward, drop_folder, ward_table

MONTHS = [(2024 + (m > 12), (m - 1) % 12 + 1) for m in range(4, 16)]  # Apr 2024..Mar 2025
# Monthly contacts per 1,000 children aged 0-15 in the least deprived ward, and how many
# times more there are in the most deprived (1 + targeting x deprivation).
SERVICES = {
    "Start for Life": (22.0, 1.0),
    "Health visiting": (38.0, 0.5),
    "Infant feeding": (9.0, 0.8),
    "Parenting support": (10.0, 2.0),
    "Early help": (12.0, 3.0),
    "SEND support": (5.0, 1.5),
}
SEASON = {8: 0.75, 12: 0.85}  # summer holidays and Christmas are quieter
OTHER_HUB_SHARE = 0.15  # families who use a hub other than their nearest
HEADER = [
    "Family Hub",
    "Ward code",
    "Ward of residence",
    "Service",
    "Month",
    "Contacts",
    "Children reached",
]


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_family_hubs", "contacts")
    hubs = list(place.lists.get("family_hubs", []))
    if not hubs:
        return []
    wards = ward_table(lsoas)
    children = children_by_ward(lsoas)
    # Which hub is nearest is illustrative: wards in code order, in blocks of two or three.
    nearest = {w["code"]: hubs[i * len(hubs) // len(wards)] for i, w in enumerate(wards)}
    written = []
    for year, month in MONTHS:
        label = dt.date(year, month, 1).strftime("%B %Y")
        rows = []
        for ward in wards:
            home = nearest[ward["code"]]
            other = hubs[(hubs.index(home) + 1) % len(hubs)]
            for service, (rate, targeting) in SERVICES.items():
                expected = (
                    children[ward["code"]]
                    / 1000
                    * rate
                    * (1 + targeting * ward["deprivation"])
                    * SEASON.get(month, 1.0)
                )
                for hub, share in ((home, 1 - OTHER_HUB_SHARE), (other, OTHER_HUB_SHARE)):
                    contacts = int(rng.poisson(expected * share))
                    if contacts == 0:  # the report lists only what happened
                        continue
                    # Several contacts per child in a month (follow-ups, weekly groups).
                    reached = max(1, int(rng.binomial(contacts, 0.65)))
                    rows.append(
                        [hub, ward["code"], ward["name"], service, label, contacts, reached]
                    )
        rows.sort(key=lambda r: (hubs.index(r[0]), r[1], list(SERVICES).index(r[3])))
        path = folder / f"family_hub_contacts_{year}-{month:02d}.csv"
        written.append(write_csv(path, HEADER, rows))  # from the case system via Excel: CRLF
    return written
