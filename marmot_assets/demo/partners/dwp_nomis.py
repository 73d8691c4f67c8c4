"""DWP via Nomis: claimant count by LSOA (NM_162_1), one CSV a month, in the layout the live
fetcher downloads (marmot_assets/partners/nomis.py: the same pinned columns, every field quoted)."""

from __future__ import annotations

import calendar
import csv
from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.partners import drop_folder
from marmot_assets.partners.nomis import COLUMNS, DATASET, lsoa_type

MONTHS = [(2024, m) for m in range(1, 13)]
GEOGRAPHY_TYPES = {
    "TYPE298": "2011 super output areas - lower layer",
    "TYPE151": "2021 super output areas - lower layer",
}
COUNT, SHARE = "Claimant count", "Claimants as a proportion of residents aged 16-64"


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "dwp_nomis", "claimant_count")
    geography_type = GEOGRAPHY_TYPES[lsoa_type(place)]
    # Each LSOA keeps its own level (noise once), then drifts a little month to month.
    base = {x.code: 1.0 + 7.0 * x.deprivation + float(rng.normal(0, 0.6)) for x in lsoas}
    written = []
    for step, (year, month) in enumerate(MONTHS):
        date = f"{year}-{month:02d}"
        rows = []
        for lsoa in lsoas:
            residents = lsoa.population[4]  # working-age residents: the 16-64 base
            percent = max(base[lsoa.code] + 0.03 * step + float(rng.normal(0, 0.15)), 0.2)
            claimants = int(rng.binomial(residents, percent / 100))
            # Small-area counts are published rounded to 5; the share uses the exact count.
            values = [
                (COUNT, 5 * round(claimants / 5)),
                (SHARE, round(100 * claimants / residents, 1)),
            ]
            for measure, value in values:
                rows.append(
                    [
                        date,
                        f"{calendar.month_name[month]} {year}",
                        lsoa.code,
                        lsoa.name,
                        geography_type,
                        "Total",
                        "All categories: Age 16+",
                        measure,
                        "Value",
                        value,
                    ]
                )
        path = folder / f"{DATASET}_{place.code}_{date}.csv"
        written.append(write_csv(path, COLUMNS, rows, line_end="\n", quoting=csv.QUOTE_ALL))
    return written
