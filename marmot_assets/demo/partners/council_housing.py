"""Council housing: H-CLIC temporary accommodation counts, one CSV per quarter."""

from __future__ import annotations

import csv
from pathlib import Path

from marmot_assets.demo.partners import ward_table

QUARTERS = [f"{y}-{(y + 1) % 100:02d} Q{q}" for y in (2022, 2023) for q in (1, 2, 3, 4)]


def write(inbox: Path, place, lsoas, rng) -> list[Path]:
    folder = inbox / "council_housing" / "temporary_accommodation"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for step, quarter in enumerate(QUARTERS):
        path = folder / f"hclic_temporary_accommodation_{quarter.replace(' ', '_')}.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            out = csv.writer(f, lineterminator="\r\n")  # council exports come from Excel
            out.writerow(
                [
                    "Ward code",
                    "Ward name",
                    "Quarter",
                    "Households in temporary accommodation",
                    "Households with children",
                ]
            )
            for ward in ward_table(lsoas):
                # Rates per 1,000 households rise with deprivation and over time.
                households = ward["population"] / 2.4
                rate = 0.8 + 4.5 * ward["deprivation"] + 0.08 * step
                total = int(rng.poisson(households * rate / 1000))
                children = int(rng.binomial(total, 0.55 + 0.1 * ward["deprivation"]))
                out.writerow([ward["code"], ward["name"], quarter, total, children])
        written.append(path)
    return written
