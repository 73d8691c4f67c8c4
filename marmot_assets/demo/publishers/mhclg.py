"""MHCLG's English Indices of Deprivation: File_1 (IMD), File_2 (domains) and File_6
(population denominators), national files holding every LSOA of England, in the layout of the
place's release.

IoD2019 (LSOA 2011) as published in CSV; IoD2025 (LSOA 2021, local authorities 2024) as the
CSV exports of its workbooks: the same columns under the 2025 headers, denominators for
mid-2022, numbers without thousands separators (as in its File_7 CSV)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from marmot_assets.config import DeprivationConfig, PlaceConfig
from marmot_assets.demo.files import write_csv

if TYPE_CHECKING:
    from marmot_assets.demo.generator import DemoLsoa

IMD_DIR = Path("mhclg/deprivation")
# The default release's England LSOA count (IoD2025: 33,755 LSOAs (2021)); rank 1 = most
# deprived. A place on another release: DeprivationConfig.england_lsoa_count.
N_LSOA_ENGLAND = DeprivationConfig().england_lsoa_count

# (domain label, correlation of its latent score with the IMD's), correlations as measured on
# a real place's File_2 ranks: income and employment track the IMD, living environment barely.
DOMAINS = [
    ("Index of Multiple Deprivation (IMD)", 1.0),
    ("Income", 0.97),
    ("Employment", 0.92),
    ("Education, Skills and Training", 0.93),
    ("Health Deprivation and Disability", 0.93),
    ("Crime", 0.77),
    ("Barriers to Housing and Services", 0.56),
    ("Living Environment", 0.30),
]
_RANK = "Rank (where 1 is most deprived)"
_DECILE = "Decile (where 1 is most deprived 10% of LSOAs)"


def _key_header(lsoa_year: int, lad_year: int) -> list[str]:
    return [
        f"LSOA code ({lsoa_year})",
        f"LSOA name ({lsoa_year})",
        f"Local Authority District code ({lad_year})",
        f"Local Authority District name ({lad_year})",
    ]


def _domains_header(key: list[str]) -> list[str]:
    return key + [col for label, _ in DOMAINS for col in (f"{label} {_RANK}", f"{label} {_DECILE}")]


@dataclass(frozen=True)
class Layout:
    """One release's headers and whether its counts print thousands separators."""

    file_1_header: list[str]
    file_2_header: list[str]
    file_6_header: list[str]
    thousands: bool


_KEY_2019 = _key_header(2011, 2019)
_KEY_2025 = _key_header(2021, 2024)
LAYOUTS = {
    # File_1 and File_2 word the same columns differently: real files do, parsers must cope.
    "IoD2019": Layout(
        file_1_header=_KEY_2019
        + [
            "Index of Multiple Deprivation (IMD) Rank",
            "Index of Multiple Deprivation (IMD) Decile",
        ],
        file_2_header=_domains_header(_KEY_2019),
        file_6_header=_KEY_2019
        + [
            "Total population: mid 2015 (excluding prisoners)",
            "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
            "Population aged 16-59: mid 2015 (excluding prisoners)",
            "Older population aged 60 and over: mid 2015 (excluding prisoners)",
            "Working age population 18-59/64: for use with Employment Deprivation Domain "
            "(excluding prisoners)",
        ],
        thousands=True,
    ),
    "IoD2025": Layout(
        file_1_header=_KEY_2025
        + [
            f"Index of Multiple Deprivation (IMD) {_RANK}",
            f"Index of Multiple Deprivation (IMD) {_DECILE}",
        ],
        file_2_header=_domains_header(_KEY_2025),
        file_6_header=_KEY_2025
        + [
            "Total population: mid 2022",
            "Dependent Children aged 0-15: mid 2022",
            "Population aged 16-59: mid 2022",
            "Older population aged 60 and over: mid 2022",
            "Working age population 18-66 (for use with Employment Deprivation Domain): mid 2022",
        ],
        thousands=False,
    ),
}
# The IoD2019 headers by their old names (tests and docs quote them).
IMD_FILE_1_HEADER = LAYOUTS["IoD2019"].file_1_header
IMD_FILE_2_HEADER = LAYOUTS["IoD2019"].file_2_header
IMD_FILE_6_HEADER = LAYOUTS["IoD2019"].file_6_header


def imd_decile(rank: int, n: int = N_LSOA_ENGLAND) -> int:
    """National decile of a rank as MHCLG assigns it: ceil(10 * rank / n).

    Checked against the real IoD2019 England file: decile d ends at rank floor(d * n / 10).
    """
    return (10 * rank + n - 1) // n


def _thousands(n: int) -> str:
    # IoD2019's File_1 and File_6 print counts like "11,101"; the csv writer then quotes them.
    return f"{n:,}"


def imd_file_paths(place: PlaceConfig | None = None) -> tuple[Path, Path, Path]:
    """Where the demo writes File_1, File_2 and File_6: the place's file names (a file the
    place does not read under the release's default name)."""
    d = DeprivationConfig() if place is None else place.deprivation
    defaults = DeprivationConfig(release=d.release)
    return tuple(
        IMD_DIR / (getattr(d, name) or getattr(defaults, name))
        for name in ("imd_file", "domains_file", "population_file")
    )


# Where the demo writes the default release's files.
IMD_FILE_1, IMD_FILE_2, IMD_FILE_6 = imd_file_paths()


def write_imd_files(
    out_dir: Path, lsoas: list[DemoLsoa], place: PlaceConfig | None = None
) -> list[Path]:
    """MHCLG's CSVs in the place's release layout (the default release without a place):
    UTF-8 with BOM, CRLF, in LSOA code order. File_2 prints plain integers."""
    release = DeprivationConfig() if place is None else place.deprivation
    layout, n = LAYOUTS[release.release], release.england_lsoa_count
    count = _thousands if layout.thousands else (lambda v: v)
    file_1, file_2, file_6 = imd_file_paths(place)
    files = [
        (file_1, layout.file_1_header,
         lambda x: [count(x.ranks[0]), imd_decile(x.ranks[0], n)]),
        (file_2, layout.file_2_header,
         lambda x: [v for rank in x.ranks for v in (rank, imd_decile(rank, n))]),
        (file_6, layout.file_6_header,
         lambda x: [count(v) for v in x.population]),
    ]  # fmt: skip
    return [
        write_csv(
            out_dir / rel,
            header,
            ([x.code, x.name, x.lad_code, x.lad_name, *values(x)] for x in lsoas),
            encoding="utf-8-sig",
        )
        for rel, header, values in files
    ]
