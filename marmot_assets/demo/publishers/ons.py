"""ONS's LSOA to ward to local authority lookup, as the Open Geography Portal publishes it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from marmot_assets.config import PlaceConfig
from marmot_assets.demo.files import write_csv

if TYPE_CHECKING:
    from marmot_assets.demo.generator import DemoLsoa

LOOKUP_FILE = Path("ons/geography/lsoa_ward_lad_lookup.csv")


def write_lookup(out_dir: Path, place: PlaceConfig, lsoas: list[DemoLsoa]) -> Path:
    """The lookup CSV: no BOM, LF; header names come from the place's geography vintage."""
    g = place.geography
    header = [
        "FID",
        g.lsoa_field,
        g.lsoa_name_field,
        g.ward_field,
        g.ward_name_field,
        g.lad_field,
        g.lad_name_field,
    ]
    rows = (
        [fid, x.code, x.name, x.ward_code, x.ward_name, x.lad_code, x.lad_name]
        for fid, x in enumerate(lsoas, start=1)
    )
    return write_csv(out_dir / LOOKUP_FILE, header, rows, line_end="\n")
