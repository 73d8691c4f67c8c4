"""Demo deliveries of the partner agencies, written into the drop folders (inbox).

Each module here writes one partner's files in the format that partner really sends, from
its own seeded random generator, so adding a partner's demo never changes another's bytes.
A module exposes ``write(inbox: Path, place: PlaceConfig, lsoas, rng) -> list[Path]``; every
module of this package is a partner (helpers they share live here and in ``demo.files``).
"""

from __future__ import annotations

import importlib
import pkgutil
import zlib
from pathlib import Path

import numpy as np

from marmot_assets.partners.contract import get_contract


def write_partner_demo(inbox: Path, place, lsoas) -> list[Path]:
    written: list[Path] = []
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        rng = np.random.default_rng([place.demo.seed, zlib.crc32(module_info.name.encode())])
        written.extend(module.write(Path(inbox), place, lsoas, rng))
    return written


def drop_folder(inbox: Path, partner: str, dataset: str) -> Path:
    """The partner's drop folder for one dataset, ``inbox/<partner>/<dataset>`` (created)."""
    folder = Path(inbox) / partner / dataset
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def contract_header(name: str) -> list[str]:
    """The header row a partner's export writes for dataset ``name`` ("partner/dataset"): each
    column's first alias in the contract, which is the spelling of the partner's own system."""
    return [c.aliases[0] if c.aliases else c.name for c in get_contract(name).columns]


def children_by_ward(lsoas) -> dict[str, int]:
    """Children aged 0-15 (File_6's second column) per ward code."""
    children: dict[str, int] = {}
    for lsoa in lsoas:
        children[lsoa.ward_code] = children.get(lsoa.ward_code, 0) + lsoa.population[1]
    return children


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
