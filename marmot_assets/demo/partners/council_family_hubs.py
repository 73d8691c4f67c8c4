"""Council Family Hubs: monthly contacts by hub, ward of residence and service, one CSV a month,
and distinct children reached by hub and ward of residence, one CSV a financial quarter.

Proportionate universalism: every ward gets the universal offer, and contacts per child grow
with ward deprivation, most steeply for the targeted services (early help, parenting support).
A child is seen several times a month, by several services and over several months, so the
quarter's distinct children are well below the sum of the monthly counts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.partners import children_by_ward, contract_header, drop_folder, ward_table

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
# Of the children a hub counts in the three months and six services of a quarter, the share
# that are distinct children (the rest are the same child again, or in another service).
DISTINCT_IN_QUARTER = 0.42
HEADER = contract_header("council_family_hubs/contacts")
REACHED_HEADER = contract_header("council_family_hubs/children_reached")


def quarter_of(year: int, month: int) -> str:
    """The financial quarter of a month, as the hubs label it: 2024-25 Q1 = April-June 2024."""
    start = year - (month < 4)
    return f"{start}-{(start + 1) % 100:02d} Q{(month - 4) % 12 // 3 + 1}"


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_family_hubs", "contacts")
    hubs = list(place.lists.get("family_hubs", []))
    if not hubs:
        return []
    wards = ward_table(lsoas)
    children = children_by_ward(lsoas)
    # Which hub is nearest is illustrative: wards in code order, in blocks of two or three.
    nearest = {w["code"]: hubs[i * len(hubs) // len(wards)] for i, w in enumerate(wards)}
    # (quarter, hub, ward code) -> children counted in the quarter's monthly rows
    counted: dict[tuple[str, str, str], int] = defaultdict(int)
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
                    counted[quarter_of(year, month), hub, ward["code"]] += reached
                    rows.append(
                        [hub, ward["code"], ward["name"], service, label, contacts, reached]
                    )
        rows.sort(key=lambda r: (hubs.index(r[0]), r[1], list(SERVICES).index(r[3])))
        path = folder / f"family_hub_contacts_{year}-{month:02d}.csv"
        written.append(write_csv(path, HEADER, rows))  # from the case system via Excel: CRLF
    return written + write_children_reached(inbox, hubs, wards, children, counted, rng)


def write_children_reached(inbox: Path, hubs, wards, children, counted, rng) -> list[Path]:
    """One CSV per quarter: distinct children per hub and ward, never more than the ward's
    children (drawn after the monthly files, so their bytes do not depend on these)."""
    folder = drop_folder(inbox, "council_family_hubs", "children_reached")
    names = {w["code"]: w["name"] for w in wards}
    written = []
    for quarter in dict.fromkeys(quarter_of(y, m) for y, m in MONTHS):
        rows = []
        for hub in hubs:
            for code in sorted(names):
                total = counted.get((quarter, hub, code), 0)
                if total == 0:
                    continue
                distinct = max(1, int(rng.binomial(total, DISTINCT_IN_QUARTER)))
                rows.append([hub, code, names[code], quarter, min(distinct, children[code])])
        path = folder / f"family_hub_children_reached_{quarter.replace(' ', '_')}.csv"
        written.append(write_csv(path, REACHED_HEADER, rows))
    return written
