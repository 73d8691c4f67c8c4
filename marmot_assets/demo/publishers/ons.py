"""ONS's LSOA to ward to local authority lookup, as the Open Geography Portal publishes it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from marmot_assets.config import PlaceConfig
from marmot_assets.demo.files import write_csv

if TYPE_CHECKING:
    from marmot_assets.demo.generator import DemoLsoa, LsoaChange

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


CHANGES_FILE = Path("ons/geography/lsoa11_lsoa21_lad22_lookup.csv")
CHANGES_HEADER = [
    "FID",
    "LSOA11CD",
    "LSOA11NM",
    "LSOA21CD",
    "LSOA21NM",
    "CHGIND",
    "LAD22CD",
    "LAD22NM",
    "LAD22NMW",
]


def write_lsoa_changes(out_dir: Path, place: PlaceConfig, changes: list[LsoaChange]) -> Path:
    """ONS's "LSOA (2011) to LSOA (2021) to Local Authority District (2022) Best Fit Lookup for
    EW (V3)" for the place, in its layout: no BOM, LF; LAD22NMW (the Welsh name) is empty for
    an English authority."""
    rows = (
        [fid, c.lsoa11_code, c.lsoa11_name, c.lsoa21_code, c.lsoa21_name, c.change_indicator,
         place.code, place.name, ""]
        for fid, c in enumerate(changes, start=1)
    )  # fmt: skip
    return write_csv(out_dir / CHANGES_FILE, CHANGES_HEADER, rows, line_end="\n")
