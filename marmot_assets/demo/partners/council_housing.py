"""Council housing: H-CLIC temporary accommodation counts, one CSV per quarter."""

from __future__ import annotations

from pathlib import Path

from marmot_assets.demo.files import write_csv
from marmot_assets.demo.partners import contract_header, drop_folder, ward_table

QUARTERS = [f"{y}-{(y + 1) % 100:02d} Q{q}" for y in (2022, 2023) for q in (1, 2, 3, 4)]
HEADER = contract_header("council_housing/temporary_accommodation")


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = drop_folder(inbox, "council_housing", "temporary_accommodation")
    written = []
    for step, quarter in enumerate(QUARTERS):
        rows = []
        for ward in ward_table(lsoas):
            # Rates per 1,000 households rise with deprivation and over time.
            households = ward["population"] / 2.4
            rate = 0.8 + 4.5 * ward["deprivation"] + 0.08 * step
            total = int(rng.poisson(households * rate / 1000))
            children = int(rng.binomial(total, 0.55 + 0.1 * ward["deprivation"]))
            rows.append([ward["code"], ward["name"], quarter, total, children])
        path = folder / f"hclic_temporary_accommodation_{quarter.replace(' ', '_')}.csv"
        written.append(write_csv(path, HEADER, rows))  # council exports come from Excel: CRLF
    return written
