"""Demo deliveries of the partner agencies, written into the drop folders (inbox).

Each module here writes one partner's files in the format that partner really sends, from
its own seeded random generator, so adding a partner's demo never changes another's bytes.
A module exposes ``write(inbox: Path, place: PlaceConfig, lsoas, rng) -> list[Path]``.
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from pathlib import Path

import numpy as np


def write_partner_demo(inbox: Path, place, lsoas) -> list[Path]:
    written: list[Path] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rng = np.random.default_rng([place.demo.seed, zlib.crc32(module_info.name.encode())])
        written.extend(module.write(Path(inbox), place, lsoas, rng))
    return written


def ward_table(lsoas):
    """One entry per ward: code, name, deprivation score (0..1) and population."""
    wards: dict[str, dict] = {}
    for lsoa in lsoas:
        ward = wards.setdefault(
            lsoa.ward_code,
            {
                "code": lsoa.ward_code,
                "name": lsoa.ward_name,
                "deprivation": lsoa.deprivation,
                "population": 0,
            },
        )
        ward["population"] += lsoa.population[0]
    return list(wards.values())
