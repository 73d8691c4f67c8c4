"""Seeded demo data, written in the publishers' own file formats.

Why: the platform's parsers are built against real published files (ONS lookups, MHCLG Indices
of Deprivation CSVs, OHID Fingertips CSV downloads). The demo writes the same layouts, including
their traps (byte-order marks, quoted thousands separators, CRLF, quoted newlines, suppressed
rows), so a demo run exercises exactly the code that reads real data.

This module holds the model every file is drawn from, the demo LSOAs (their wards, deprivation,
national ranks and populations), and ``generate_demo_data``, which writes the publishers' files
(``publishers/``: ONS lookup and population estimates, MHCLG, OHID Fingertips) and the
partners' deliveries (``partners/``).

Everything is derived from ``place.demo.seed`` with one ``numpy.random.default_rng``: the same
seed gives byte-identical files. Nothing place-specific lives here: codes and names come from the
PlaceConfig, indicators from the catalogue.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from marmot_assets.config import PlaceConfig
from marmot_assets.demo.publishers.mhclg import DOMAINS, N_LSOA_ENGLAND, write_imd_files
from marmot_assets.demo.publishers.ohid_fingertips import write_fingertips
from marmot_assets.demo.publishers.ons import write_lookup, write_lsoa_changes
from marmot_assets.demo.publishers.population import write_population

# A second local authority's rows in the national files, so parsers must filter to the place.
# Two candidates so the demo still works when the place is the first one.
OTHER_LAS = [("E08000025", "Birmingham"), ("E08000027", "Dudley")]
OTHER_LA_ROWS = 10
PLACE_LSOA_PREFIX = "E0199"  # real LSOA codes never reach E0199xxxx: clearly demo
OTHER_LSOA_PREFIX = "E0198"


@dataclass
class DemoLsoa:
    code: str
    name: str
    ward_code: str
    ward_name: str
    lad_code: str
    lad_name: str
    deprivation: float  # 0 least .. 1 most deprived (the ward's score, or random elsewhere)
    population: tuple[int, int, int, int, int] = (0, 0, 0, 0, 0)  # File_6 columns, in order
    ranks: tuple[int, ...] = ()  # national rank per DOMAINS entry


def generate_demo_data(
    out_dir: Path,
    place: PlaceConfig,
    catalogue: list[dict[str, str]],
    inbox_dir: Path | None = None,
) -> list[Path]:
    """Write the demo publisher files under ``out_dir`` and, given ``inbox_dir``, the partner
    agencies' demo deliveries into their drop folders; return the paths in writing order."""
    rng = np.random.default_rng(place.demo.seed)
    place_lsoas, other_lsoas = _demo_lsoas(rng, place)
    all_lsoas = place_lsoas + other_lsoas
    _assign_ranks(rng, all_lsoas, place.deprivation.england_lsoa_count)
    _assign_populations(rng, all_lsoas)
    # Real MHCLG files list LSOAs in code order, so the other authority's rows come first.
    all_lsoas.sort(key=lambda lsoa: lsoa.code)

    out_dir = Path(out_dir)
    written = [
        write_lookup(out_dir, place, place_lsoas),
        write_lsoa_changes(out_dir, place, lsoa_changes(place, place_lsoas)),
        *write_imd_files(out_dir, all_lsoas, place),
        write_fingertips(out_dir, rng, place, catalogue, place_lsoas),
        write_population(out_dir, place, place_lsoas),
    ]
    if inbox_dir is not None:
        from marmot_assets.demo.partners import write_partner_demo

        written += write_partner_demo(Path(inbox_dir), place, place_lsoas)
    return written


# --- small areas -------------------------------------------------------------------------------
def _demo_lsoas(rng: np.random.Generator, place: PlaceConfig):
    demo = place.demo
    if demo.lsoa_per_ward_max > len(string.ascii_uppercase):
        raise ValueError("lsoa_per_ward_max must be at most 26 (one letter per LSOA name)")
    place_lsoas: list[DemoLsoa] = []
    for ordinal, ward in enumerate(demo.wards, start=1):
        n = int(rng.integers(demo.lsoa_per_ward_min, demo.lsoa_per_ward_max + 1))
        for letter in string.ascii_uppercase[:n]:
            place_lsoas.append(
                DemoLsoa(
                    code=f"{PLACE_LSOA_PREFIX}{len(place_lsoas) + 1:04d}",
                    name=f"{place.name} DEMO {ordinal:03d}{letter}",
                    ward_code=ward.code,
                    ward_name=ward.name,
                    lad_code=place.code,
                    lad_name=place.name,
                    deprivation=ward.deprivation,
                )
            )
    other_code, other_name = next(la for la in OTHER_LAS if la[0] != place.code)
    other_lsoas = [
        DemoLsoa(
            code=f"{OTHER_LSOA_PREFIX}{i + 1:04d}",
            name=f"{other_name} DEMO 001{string.ascii_uppercase[i]}",
            ward_code="",
            ward_name="",
            lad_code=other_code,
            lad_name=other_name,
            deprivation=float(rng.uniform(0, 1)),
        )
        for i in range(OTHER_LA_ROWS)
    ]
    return place_lsoas, other_lsoas


def _assign_ranks(
    rng: np.random.Generator, lsoas: list[DemoLsoa], n_england: int = N_LSOA_ENGLAND
) -> None:
    # A latent normal score per LSOA (low = deprived) follows its ward's deprivation with noise;
    # tuned so the most deprived ward sits mostly in deciles 1-2, the least in 8-10, and about
    # 10-20% of a typical place's LSOAs in decile 1.
    dep = np.array([lsoa.deprivation for lsoa in lsoas])
    imd_latent = 1.2 - 2.7 * dep + rng.normal(0, 0.5, len(lsoas))
    ranks_by_domain = []
    for _, rho in DOMAINS:
        # Each domain shares the IMD's latent score to its measured correlation (the IMD: 1).
        noise = rng.normal(0, imd_latent.std(), len(lsoas))
        latent = rho * imd_latent + math.sqrt(1 - rho * rho) * noise
        ranks_by_domain.append(_unique_ranks(latent, n_england))
    for i, lsoa in enumerate(lsoas):
        lsoa.ranks = tuple(ranks[i] for ranks in ranks_by_domain)


def _unique_ranks(latent: np.ndarray, n_england: int = N_LSOA_ENGLAND) -> list[int]:
    """National ranks 1..n_england (the release's LSOAs in England) from latent normal scores;
    distinct, as no two LSOAs share a rank."""
    used: set[int] = set()
    ranks = []
    for z in latent:
        share = 0.5 * (1 + math.erf(float(z) / math.sqrt(2)))
        rank = min(max(math.ceil(share * n_england), 1), n_england)
        while rank in used:
            rank = rank % n_england + 1
        used.add(rank)
        ranks.append(rank)
    return ranks


def _assign_populations(rng: np.random.Generator, lsoas: list[DemoLsoa]) -> None:
    # Deprived areas are younger: more children, fewer people aged 60+.
    for lsoa in lsoas:
        total = int(np.clip(round(rng.normal(1650, 280)), 1200, 2500))
        child_share = np.clip(0.15 + 0.09 * lsoa.deprivation + rng.normal(0, 0.025), 0.08, 0.32)
        old_share = np.clip(0.27 - 0.12 * lsoa.deprivation + rng.normal(0, 0.03), 0.06, 0.40)
        children = int(round(total * child_share))
        older = int(round(total * old_share))
        middle = total - children - older
        # 18-59/64 = 16-59 less the 16-17s, plus men aged 60-64.
        working = int(round(0.955 * middle + 0.09 * older))
        lsoa.population = (total, children, middle, older, working)


# --- LSOA 2011 -> LSOA 2021 --------------------------------------------------------------------
# 2011 codes of demo LSOAs that 2021 split or merged (2021 gave their parts new codes).
LSOA11_ONLY_PREFIX = "E0197"
SPLIT_EVERY, SPLIT_AT, MERGE_AT = 6, 1, 4  # which wards (by order) hold a split or a merge


@dataclass(frozen=True)
class LsoaChange:
    """One row of ONS's LSOA 2011 -> LSOA 2021 lookup."""

    lsoa11_code: str
    lsoa11_name: str
    lsoa21_code: str
    lsoa21_name: str
    change_indicator: str  # U unchanged, S split, M merged


def lsoa_changes(place: PlaceConfig, lsoas: list[DemoLsoa]) -> list[LsoaChange]:
    """The demo's LSOA 2011 -> 2021 changes, derived from the place's (2021) LSOAs alone, with
    no random draw: in every sixth ward from the second, its first two LSOAs are the parts of
    one 2011 LSOA that was split; from the fifth, its first LSOA merges two 2011 LSOAs; every
    other LSOA is unchanged (ONS keeps the code). In ONS's order (2011 code, 2021 code)."""
    wards: dict[str, list[DemoLsoa]] = {}
    for lsoa in sorted(lsoas, key=lambda x: x.code):
        wards.setdefault(lsoa.ward_code, []).append(lsoa)
    rows: list[LsoaChange] = []
    serial = 0

    def old_code() -> tuple[str, str]:
        nonlocal serial
        serial += 1
        return f"{LSOA11_ONLY_PREFIX}{serial:04d}", f"{place.name} DEMO 2011 {serial:03d}"

    for ordinal, members in enumerate(wards.values()):
        changed: set[str] = set()
        if ordinal % SPLIT_EVERY == SPLIT_AT and len(members) >= 2:
            code, name = old_code()
            for part in members[:2]:
                rows.append(LsoaChange(code, name, part.code, part.name, "S"))
                changed.add(part.code)
        elif ordinal % SPLIT_EVERY == MERGE_AT:
            merged = members[0]
            for _ in range(2):
                code, name = old_code()
                rows.append(LsoaChange(code, name, merged.code, merged.name, "M"))
            changed.add(merged.code)
        kept = [x for x in members if x.code not in changed]
        rows += [LsoaChange(x.code, x.name, x.code, x.name, "U") for x in kept]
    return sorted(rows, key=lambda r: (r.lsoa11_code, r.lsoa21_code))


def lsoa11_codes(place: PlaceConfig, lsoas: list[DemoLsoa]) -> dict[str, list[str]]:
    """Each place LSOA's 2011 code(s), as an extract made before 2021 would name it: itself
    when unchanged, the 2011 LSOA a split part came from, the two 2011 LSOAs of a merge."""
    codes: dict[str, list[str]] = {}
    for change in lsoa_changes(place, lsoas):
        codes.setdefault(change.lsoa21_code, []).append(change.lsoa11_code)
    return codes
