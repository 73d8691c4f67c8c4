"""The demo generator writes the real publishers' formats, deterministically from the seed."""

from __future__ import annotations

import csv
import io
import math
import re
from collections import defaultdict
from pathlib import Path

import pytest

from marmot_assets.config import load_place, read_indicator_catalogue
from marmot_assets.demo.generator import generate_demo_data
from marmot_assets.demo.publishers.mhclg import (
    IMD_FILE_1,
    IMD_FILE_2,
    IMD_FILE_6,
    LAYOUTS,
    N_LSOA_ENGLAND,
    imd_decile,
    imd_file_paths,
)
from marmot_assets.demo.publishers.ohid_fingertips import FINGERTIPS_FILE
from marmot_assets.demo.publishers.ons import CHANGES_FILE, LOOKUP_FILE
from marmot_assets.methods import wilson_ci
from marmot_assets.sources.population import DEMO_FILE as POPULATION_FILE

REFERENCE = Path(__file__).resolve().parents[1] / ".." / "shared" / "reference"
ENGLAND_FILE_1 = (
    REFERENCE / "imd2019" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation__England.csv"
)
ENGLAND_2025 = REFERENCE / "imd2025" / "IoD2025_IMD_LSOA21__England.csv"
# ONS's LSOA (2021) -> ward (2024) -> LAD (2024) lookup, as the Open Geography Portal writes it.
LOOKUP_HEADER = ["FID", "LSOA21CD", "LSOA21NM", "WD24CD", "WD24NM", "LAD24CD", "LAD24NM"]
# Written out here (not imported) so the test pins the documented Fingertips API header.
FINGERTIPS_HEADER = (
    "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,Age,"
    "Category Type,Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,"
    "Lower CI 99.8 limit,Upper CI 99.8 limit,Count,Denominator,Value note,Recent Trend,"
    "Compared to England value or percentiles,Compared to Region value or percentiles,"
    "Time period Sortable,New data,Compared to goal,Time period range"
).split(",")
Z95 = 1.959963984540054
LOWER_95, UPPER_95 = "Lower CI 95.0 limit", "Upper CI 95.0 limit"


@pytest.fixture(scope="module")
def place():
    return load_place("E08000026")


@pytest.fixture(scope="module")
def place_2011(place):
    """The same place on the older geography: LSOA 2011, wards 2019, IoD2019."""
    geography = place.geography.model_copy(
        update={
            "vintage": "LSOA11_WD19_LAD19", "lsoa_field": "LSOA11CD",
            "lsoa_name_field": "LSOA11NM", "ward_field": "WD19CD", "ward_name_field": "WD19NM",
            "lad_field": "LAD19CD", "lad_name_field": "LAD19NM",
        }
    )  # fmt: skip
    deprivation = type(place.deprivation)(release="IoD2019")
    return place.model_copy(update={"geography": geography, "deprivation": deprivation})


@pytest.fixture(scope="module")
def catalogue():
    return read_indicator_catalogue()


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory, place, catalogue) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generate_demo_data(out, place, catalogue)
    return out


def _rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    with path.open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def _int(text: str) -> int:
    return int(text.replace(",", ""))


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path, place, catalogue):
    first = generate_demo_data(tmp_path / "a", place, catalogue)
    second = generate_demo_data(tmp_path / "b", place, catalogue)
    other_place = place.model_copy(
        update={"demo": place.demo.model_copy(update={"seed": place.demo.seed + 1})}
    )
    third = generate_demo_data(tmp_path / "c", other_place, catalogue)
    expected = [LOOKUP_FILE, CHANGES_FILE, IMD_FILE_1, IMD_FILE_2, IMD_FILE_6, FINGERTIPS_FILE]
    expected.append(Path(*POPULATION_FILE))
    assert [p.relative_to(tmp_path / "a") for p in first] == expected
    for a, b, c in zip(first, second, third, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert a.read_bytes() != c.read_bytes(), a.name


def test_lookup_has_the_real_wards_and_demo_lsoa_codes(demo_dir, place):
    raw = (demo_dir / LOOKUP_FILE).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    rows = _rows(demo_dir / LOOKUP_FILE)
    assert list(rows[0]) == LOOKUP_HEADER
    wards = {(r["WD24CD"], r["WD24NM"]) for r in rows}
    assert wards == {(w.code, w.name) for w in place.demo.wards}
    assert len(wards) == 18
    assert all(re.fullmatch(r"E0199\d{4}", r["LSOA21CD"]) for r in rows)
    assert all(re.fullmatch(r"Coventry DEMO \d{3}[A-Z]", r["LSOA21NM"]) for r in rows)
    assert [r["FID"] for r in rows] == [str(i) for i in range(1, len(rows) + 1)]
    per_ward = defaultdict(int)
    for r in rows:
        per_ward[r["WD24CD"]] += 1
    assert all(8 <= n <= 14 for n in per_ward.values())


def test_imd_files_match_mhclg_layout(demo_dir):
    raw = (demo_dir / IMD_FILE_1).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfLSOA code (2021),") and raw.endswith(b"\r\n")
    assert b'"' not in raw.split(b"\r\n", 1)[1]  # 2025 prints plain numbers
    file_2 = (demo_dir / IMD_FILE_2).read_bytes().decode("utf-8-sig")
    header_2 = next(csv.reader(io.StringIO(file_2)))
    assert len(header_2) == 20 and '"' not in file_2.split("\r\n", 1)[1]  # plain integers
    assert "Living Environment Decile (where 1 is most deprived 10% of LSOAs)" in header_2
    # The other authority's rows are there to be filtered out.
    file_1 = _rows(demo_dir / IMD_FILE_1, "utf-8-sig")
    lads = {r["Local Authority District code (2024)"] for r in file_1}
    assert lads == {"E08000026", "E08000025"}
    for r in _rows(demo_dir / IMD_FILE_6, "utf-8-sig"):
        total, young, middle, old, working = (_int(v) for v in list(r.values())[4:])
        assert 1200 <= total <= 2500 and young + middle + old == total
        assert 0.5 * middle < working < total


def test_imd_ranks_and_deciles(demo_dir):
    lookup = {r["LSOA21CD"]: r["WD24NM"] for r in _rows(demo_dir / LOOKUP_FILE)}
    rows = _rows(demo_dir / IMD_FILE_2, "utf-8-sig")
    ranks = defaultdict(list)
    for r in rows:
        values = [int(v) for v in list(r.values())[4:]]
        for rank, decile in zip(values[::2], values[1::2], strict=True):
            assert 1 <= rank <= N_LSOA_ENGLAND and decile == imd_decile(rank)
        if r["LSOA code (2021)"] in lookup:
            ranks[lookup[r["LSOA code (2021)"]]].append(values[0])
    mean = {ward: sum(v) / len(v) for ward, v in ranks.items()}
    assert mean["Foleshill"] < mean["Wainbody"]
    place_ranks = [rank for v in ranks.values() for rank in v]
    assert 0.10 <= sum(imd_decile(r) == 1 for r in place_ranks) / len(place_ranks) <= 0.20
    # File_1 carries the same IMD rank.
    rank = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
    file_1 = {r["LSOA code (2021)"]: int(r[rank])
              for r in _rows(demo_dir / IMD_FILE_1, "utf-8-sig")}  # fmt: skip
    assert file_1 == {r["LSOA code (2021)"]: int(list(r.values())[4]) for r in rows}


def test_a_place_on_iod2019_gets_the_2019_layout(tmp_path, place_2011, catalogue):
    generate_demo_data(tmp_path, place_2011, catalogue)
    file_1, file_2, file_6 = (tmp_path / p for p in imd_file_paths(place_2011))
    assert file_1.name == "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"
    raw = file_1.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfLSOA code (2011),") and raw.endswith(b"\r\n")
    assert re.search(rb',"\d{1,2},\d{3}",\d+\r\n', raw)  # a quoted thousands-separated rank
    assert list(_rows(tmp_path / LOOKUP_FILE)[0]) == [
        "FID", "LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM"
    ]  # fmt: skip
    ranks = [int(list(r.values())[4]) for r in _rows(file_2, "utf-8-sig")]
    assert max(ranks) <= 32_844 < N_LSOA_ENGLAND  # ranked among 2011's LSOAs
    for path, header in [
        (file_1, LAYOUTS["IoD2019"].file_1_header),
        (file_6, LAYOUTS["IoD2019"].file_6_header),
    ]:
        assert list(_rows(path, "utf-8-sig")[0]) == header


def _first_line(path: Path) -> bytes:
    return path.read_bytes().split(b"\r\n", 1)[0]


def test_decile_rule_and_headers_match_the_real_files(tmp_path, place_2011, catalogue):
    for r in _rows(ENGLAND_FILE_1, "utf-8-sig"):
        rank = _int(r["Index of Multiple Deprivation (IMD) Rank"])
        assert imd_decile(rank, 32_844) == int(r["Index of Multiple Deprivation (IMD) Decile"])
    for r in _rows(ENGLAND_2025):
        assert imd_decile(int(r["IMD_rank"]), 33_755) == int(r["IMD_decile"])
    # The 2019 files' headers byte for byte (the 2025 ones are only published as workbooks).
    generate_demo_data(tmp_path, place_2011, catalogue)
    for demo_file in imd_file_paths(place_2011):
        real = REFERENCE / "imd2019" / demo_file.name.replace(".csv", "__Coventry_E08000026.csv")
        assert _first_line(tmp_path / demo_file) == _first_line(real), demo_file.name


def test_fingertips_file(demo_dir, catalogue):
    raw = (demo_dir / FINGERTIPS_FILE).read_bytes()
    assert b"\r" not in raw
    with (demo_dir / FINGERTIPS_FILE).open(encoding="utf-8", newline="") as f:
        header, *rows = list(csv.reader(f))
    assert header == FINGERTIPS_HEADER and len(header) == 27
    assert all(len(r) == 27 for r in rows)
    rows = [dict(zip(header, r, strict=True)) for r in rows]

    periods = defaultdict(set)
    for r in rows:
        periods[r["Indicator ID"]].add(r["Time period"])
    for ind in catalogue:
        if ind["fingertips_id"]:
            assert len(periods[ind["fingertips_id"]]) >= 6, ind["indicator_id"]

    # Real traps: a quoted newline in a name, and suppressed ward rows.
    assert any(r["Indicator Name"].endswith("\n") for r in rows)
    suppressed = [r for r in rows if r["Value note"].startswith("Value suppressed")]
    assert len(suppressed) == 2 and all(r["Area Type"] == "Ward" for r in suppressed)
    assert all(r["Value"] == r["Count"] == r["Lower CI 95.0 limit"] == "" for r in suppressed)

    for r in rows:
        if r["Value"]:
            lo, v, hi = (float(r[k]) for k in (LOWER_95, "Value", UPPER_95))
            assert lo <= v <= hi
            assert float(r["Lower CI 99.8 limit"]) <= lo and hi <= float(r["Upper CI 99.8 limit"])
        if r["Area Type"] == "England":
            assert r["Parent Code"] == ""
            assert r["Compared to England value or percentiles"] == "Not compared"


def test_comparison_with_england_follows_polarity(demo_dir, catalogue):
    polarity = {r["fingertips_id"]: r["polarity"] for r in catalogue}
    rows = _rows(demo_dir / FINGERTIPS_FILE)
    england = {(r["Indicator ID"], r["Sex"], r["Time period"]): float(r["Value"])
               for r in rows if r["Area Type"] == "England"}  # fmt: skip
    for r in rows:
        if r["Area Type"] == "England" or not r["Value"]:
            continue
        comparator = england[r["Indicator ID"], r["Sex"], r["Time period"]]
        lo, hi = float(r["Lower CI 95.0 limit"]), float(r["Upper CI 95.0 limit"])
        if lo <= comparator <= hi:
            expected = "Similar"
        else:
            area_higher = comparator < lo
            higher_is_better = polarity[r["Indicator ID"]] == "higher_is_better"
            expected = "Better" if area_higher == higher_is_better else "Worse"
        assert r["Compared to England value or percentiles"] == expected


def test_wilson_limits_recomputed(demo_dir, catalogue):
    rows = _rows(demo_dir / FINGERTIPS_FILE)
    row = next(r for r in rows if r["Area Type"] == "Ward" and r["Count"])
    mult = next(float(c["multiplier"]) for c in catalogue
                if c["fingertips_id"] == row["Indicator ID"])  # fmt: skip
    x, n = int(row["Count"]), int(row["Denominator"])
    # Wilson score interval (brief, section 6), scaled by the indicator's multiplier.
    centre, half = 2 * x + Z95**2, Z95 * math.sqrt(Z95**2 + 4 * x * (1 - x / n))
    lower, upper = ((centre - half) / (2 * (n + Z95**2)) * mult,
                    (centre + half) / (2 * (n + Z95**2)) * mult)  # fmt: skip
    assert float(row["Value"]) == pytest.approx(x / n * mult, rel=1e-12)
    assert float(row["Lower CI 95.0 limit"]) == pytest.approx(lower, rel=1e-12)
    assert float(row["Upper CI 95.0 limit"]) == pytest.approx(upper, rel=1e-12)


def test_demo_limits_are_the_methods_wilson_limits_to_the_bit(demo_dir, catalogue):
    # The demo uses marmot_assets.methods.wilson_ci itself: every proportion row's limits are
    # exactly its result, scaled by the multiplier, at 95% and at 99.8%.
    multiplier = {c["fingertips_id"]: float(c["multiplier"] or 1) for c in catalogue}
    rows = [r for r in _rows(demo_dir / FINGERTIPS_FILE) if r["Count"] and r["Denominator"]]
    assert rows
    for r in rows:
        x, n, mult = int(r["Count"]), int(r["Denominator"]), multiplier[r["Indicator ID"]]
        for confidence, label in ((0.95, "95.0"), (0.998, "99.8")):
            lower, upper = wilson_ci(x, n, confidence)
            assert float(r[f"Lower CI {label} limit"]) == lower * mult
            assert float(r[f"Upper CI {label} limit"]) == upper * mult
