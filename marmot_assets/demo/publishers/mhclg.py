"""MHCLG's English Indices of Deprivation 2019: File_1 (IMD), File_2 (domains) and File_6
(population denominators), national files holding every LSOA of England."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from marmot_assets.demo.files import write_csv

if TYPE_CHECKING:
    from marmot_assets.demo.generator import DemoLsoa

IMD_DIR = Path("mhclg/deprivation")
IMD_FILE_1 = IMD_DIR / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
IMD_FILE_2 = IMD_DIR / "File_2_-_IoD2019_Domains_of_Deprivation.csv"
IMD_FILE_6 = IMD_DIR / "File_6_-_IoD2019_Population_Denominators.csv"

N_LSOA_ENGLAND = 32_844  # LSOAs (2011) ranked in IoD2019; rank 1 = most deprived
_IMD_KEY_HEADER = [
    "LSOA code (2011)",
    "LSOA name (2011)",
    "Local Authority District code (2019)",
    "Local Authority District name (2019)",
]
# File_1 and File_2 word the same columns differently: real files do, parsers must cope.
IMD_FILE_1_HEADER = _IMD_KEY_HEADER + [
    "Index of Multiple Deprivation (IMD) Rank",
    "Index of Multiple Deprivation (IMD) Decile",
]
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
IMD_FILE_2_HEADER = _IMD_KEY_HEADER + [
    col
    for label, _ in DOMAINS
    for col in (
        f"{label} Rank (where 1 is most deprived)",
        f"{label} Decile (where 1 is most deprived 10% of LSOAs)",
    )
]
IMD_FILE_6_HEADER = _IMD_KEY_HEADER + [
    "Total population: mid 2015 (excluding prisoners)",
    "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "Population aged 16-59: mid 2015 (excluding prisoners)",
    "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "Working age population 18-59/64: for use with Employment Deprivation Domain "
    "(excluding prisoners)",
]


def imd_decile(rank: int, n: int = N_LSOA_ENGLAND) -> int:
    """National decile of a rank as MHCLG assigns it: ceil(10 * rank / n).

    Checked against the real IoD2019 England file: decile d ends at rank floor(d * n / 10).
    """
    return (10 * rank + n - 1) // n


def _thousands(n: int) -> str:
    # File_1 and File_6 print counts like "11,101"; the csv writer then quotes them.
    return f"{n:,}"


def write_imd_files(out_dir: Path, lsoas: list[DemoLsoa]) -> list[Path]:
    """MHCLG's CSVs: UTF-8 with BOM, CRLF, in LSOA code order. File_2 prints plain integers."""
    files = [
        (IMD_FILE_1, IMD_FILE_1_HEADER,
         lambda x: [_thousands(x.ranks[0]), imd_decile(x.ranks[0])]),
        (IMD_FILE_2, IMD_FILE_2_HEADER,
         lambda x: [v for rank in x.ranks for v in (rank, imd_decile(rank))]),
        (IMD_FILE_6, IMD_FILE_6_HEADER,
         lambda x: [_thousands(n) for n in x.population]),
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
