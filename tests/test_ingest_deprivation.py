"""MHCLG deprivation parser on real files: the published IoD2019 files (LSOA 2011,
../shared/reference/imd2019) for a place configured on LSOA 2011, and IoD2025 (LSOA 2021, the
default) as re-shaped copies (../shared/reference/imd2025) and in MHCLG's long-header layout."""

from __future__ import annotations

import csv

import pytest

from marmot_assets.config import DeprivationConfig, GeographyConfig
from marmot_assets.demo.publishers.mhclg import LAYOUTS
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.mhclg import DOMAINS, parse_imd

F1_ENGLAND = "imd2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation__England.csv"
F1 = "imd2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation__Coventry_E08000026.csv"
F2 = "imd2019/File_2_-_IoD2019_Domains_of_Deprivation__Coventry_E08000026.csv"
F6 = "imd2019/File_6_-_IoD2019_Population_Denominators__Coventry_E08000026.csv"
E25 = "imd2025/IoD2025_IMD_LSOA21__England.csv"
C25 = "imd2025/IoD2025_LSOA21__Coventry_E08000026.csv"


@pytest.fixture
def coventry_2011(coventry):
    """Coventry configured on the LSOA 2011 lookup with IoD2019."""
    geography = GeographyConfig(
        vintage="LSOA11_WD19_LAD19",
        lsoa_field="LSOA11CD",
        lsoa_name_field="LSOA11NM",
        ward_field="WD19CD",
        ward_name_field="WD19NM",
        lad_field="LAD19CD",
        lad_name_field="LAD19NM",
        arcgis_query_url="https://example.invalid/LSOA11_WD19_LAD19_EW_LU/FeatureServer/0/query",
    )
    return coventry.model_copy(
        update={"geography": geography, "deprivation": DeprivationConfig(release="IoD2019")}
    )


@pytest.fixture(scope="module")
def coventry_2025(reference):
    """The rows of the re-shaped IoD2025 Coventry file, as text."""
    with (reference / C25).open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_england_file_is_filtered_to_the_place(reference, coventry_2011):
    frame = parse_imd(reference / F1_ENGLAND, coventry_2011)
    assert len(frame) == 195
    assert set(frame["lad_code"]) == {"E08000026"}
    counts = frame["imd_decile"].value_counts().sort_index().tolist()
    assert counts == [28, 22, 28, 19, 23, 21, 19, 15, 11, 9]


def test_files_joined_with_thousands_separators_and_differing_headers(reference, coventry_2011):
    frame = parse_imd(reference / F1, coventry_2011, reference / F2, reference / F6)
    assert len(frame) == 195
    assert int(frame["population_total"].sum()) == 344_288
    row = frame.set_index("lsoa_code").loc["E01009522"]
    # File_1 quotes "11,101"; File_2 writes 11101 under a longer header: same value.
    assert row["imd_rank"] == 11_101
    assert row["income_rank"] == 9_976 and row["living_environment_decile"] == 4
    assert row["population_total"] == 1_395
    assert frame["release"].unique().tolist() == ["IoD2019"]


def _write(tmp_path, reference, name, edit):
    text = (reference / name).read_text(encoding="utf-8-sig")
    path = tmp_path / "File_1.csv"
    path.write_text(edit(text), encoding="utf-8-sig")
    return path


def test_missing_column_names_the_file_and_column(tmp_path, reference, coventry_2011):
    def drop_decile(text):
        lines = [",".join(line.split(",")[:-1]) for line in text.splitlines()]
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, drop_decile)
    with pytest.raises(SourceFileError) as err:
        parse_imd(path, coventry_2011)
    assert err.value.column == "imd_decile"
    assert str(path) in str(err.value) and "row 1" in str(err.value)


def test_wrong_type_names_row_and_column(tmp_path, reference, coventry_2011):
    def corrupt(text):
        lines = text.splitlines()
        lines[3] = lines[3].replace(',"', ',"x', 1)  # the rank of the third data row
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, corrupt)
    with pytest.raises(SourceFileError) as err:
        parse_imd(path, coventry_2011)
    assert err.value.row == 4
    assert err.value.column == "Index of Multiple Deprivation (IMD) Rank"
    assert "not a whole number" in str(err.value)


def test_decile_out_of_range_is_refused(tmp_path, reference, coventry_2011):
    def corrupt(text):
        lines = text.splitlines()
        lines[1] = lines[1][: lines[1].rfind(",")] + ",11"
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, corrupt)
    with pytest.raises(SourceFileError, match=r"row 2, column 'Index of Multiple .*Decile'"):
        parse_imd(path, coventry_2011)


def test_not_csv_and_empty_files_are_refused(tmp_path, coventry_2011):
    binary = tmp_path / "File_1.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00 zip bytes")
    with pytest.raises(SourceFileError, match="not a text file"):
        parse_imd(binary, coventry_2011)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceFileError, match="empty"):
        parse_imd(empty, coventry_2011)


def test_another_place_has_no_rows_in_a_coventry_file(reference, coventry_2011):
    other = coventry_2011.model_copy(update={"code": "E08000025", "name": "Birmingham"})
    with pytest.raises(SourceFileError, match="no rows for local authority E08000025"):
        parse_imd(reference / F1, other)


def test_2019_rank_beyond_the_2011_lsoa_count_is_refused(tmp_path, reference, coventry_2011):
    def corrupt(text):
        lines = text.splitlines()
        lines[2] = lines[2].replace('"17,853"', '"32,845"')  # one more than England's LSOAs
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, corrupt)
    with pytest.raises(SourceFileError, match=r"32845 is outside 1..32844") as err:
        parse_imd(path, coventry_2011)
    assert (err.value.row, err.value.column) == (3, "Index of Multiple Deprivation (IMD) Rank")


# --- IoD2025 on LSOA 2021 (the default) ------------------------------------------------------
def test_england_2025_file_without_lad_column_is_filtered_by_the_lookups_lsoas(
    reference, coventry, coventry_2025
):
    codes = [r["lsoa21_code"] for r in coventry_2025]
    frame = parse_imd(reference / E25, coventry, place_lsoas=codes)
    assert len(frame) == 203 and int((frame["imd_decile"] == 1).sum()) == 36
    assert set(frame["lad_code"]) == {"E08000026"}
    assert frame["release"].unique().tolist() == ["IoD2025"]
    expected = {r["lsoa21_code"]: int(r["IMD_decile"]) for r in coventry_2025}
    assert dict(zip(frame["lsoa_code"], frame["imd_decile"], strict=True)) == expected
    ranks = {r["lsoa21_code"]: int(r["IMD_rank"]) for r in coventry_2025}
    assert dict(zip(frame["lsoa_code"], frame["imd_rank"], strict=True)) == ranks


def test_england_2025_file_needs_the_lookup_and_all_its_lsoas(reference, coventry, coventry_2025):
    path = reference / E25
    with pytest.raises(SourceFileError, match="no local authority column") as err:
        parse_imd(path, coventry)
    assert str(path) in str(err.value)
    codes = [r["lsoa21_code"] for r in coventry_2025] + ["E01099999"]
    with pytest.raises(SourceFileError, match=r"1 of the place's 204 LSOAs .*E01099999"):
        parse_imd(path, coventry, place_lsoas=codes)


def test_reshaped_2025_file_short_headers_with_domains(reference, coventry, coventry_2025):
    codes = [r["lsoa21_code"] for r in coventry_2025]
    frame = parse_imd(reference / C25, coventry, reference / C25, place_lsoas=codes)
    assert len(frame) == 203 and int((frame["imd_decile"] == 1).sum()) == 36
    row = next(r for r in coventry_2025 if r["lsoa21_code"] == "E01009607")
    got = frame.set_index("lsoa_code").loc["E01009607"]
    assert got["lsoa_name"] == row["lsoa21_name"]
    assert (got["imd_rank"], got["income_rank"]) == (int(row["IMD_rank"]), int(row["Income_rank"]))
    assert got["barriers_decile"] == int(row["Housing_and_Services_decile"])
    assert got["living_environment_rank"] == int(row["Environment_rank"])


# The short headers of the re-shaped file, by our column names.
SHORT = {
    "imd": "IMD", "income": "Income", "employment": "Employment", "education": "Education",
    "health": "Health", "crime": "Crime", "barriers": "Housing_and_Services",
    "living_environment": "Environment",
}  # fmt: skip


def _write_mhclg_2025(tmp_path, coventry_2025, other_rows: bool = True):
    """File_1 and File_2 in MHCLG's 2025 layout (long headers, LSOA 2021, LAD 2024), with the
    real Coventry values, plus a row of another authority to filter away."""
    layout = LAYOUTS["IoD2025"]
    key = lambda r: [r["lsoa21_code"], r["lsoa21_name"], "E08000026", "Coventry"]  # noqa: E731
    file_1 = [layout.file_1_header] + [
        key(r) + [r["IMD_rank"], r["IMD_decile"]] for r in coventry_2025
    ]
    file_2 = [layout.file_2_header] + [
        key(r) + [r[f"{SHORT[d]}_{kind}"] for d in SHORT for kind in ("rank", "decile")]
        for r in coventry_2025
    ]
    if other_rows:
        file_1.append(
            ["E01000001", "City of London 001A", "E09000001", "City of London"] + ["1"] * 2
        )
        file_2.append(file_1[-1][:4] + ["1"] * 16)
    paths = []
    for name, rows in [("File_1_IoD2025.csv", file_1), ("File_2_IoD2025.csv", file_2)]:
        path = tmp_path / name
        with path.open("w", newline="", encoding="utf-8-sig") as f:
            csv.writer(f, lineterminator="\r\n").writerows(rows)
        paths.append(path)
    return paths


def test_mhclg_2025_long_header_layout_parses_to_the_same_values(
    tmp_path, reference, coventry, coventry_2025
):
    file_1, file_2 = _write_mhclg_2025(tmp_path, coventry_2025)
    assert "LSOA code (2021)" in file_1.read_text(encoding="utf-8-sig")
    long = parse_imd(file_1, coventry, file_2)  # filtered by its LAD (2024) column
    codes = [r["lsoa21_code"] for r in coventry_2025]
    short = parse_imd(reference / C25, coventry, reference / C25, place_lsoas=codes)
    columns = ["lsoa_code", "lsoa_name", *[c for c in DOMAINS], "imd_rank", "imd_decile"]
    assert long[columns].equals(short[columns])
    assert len(long) == 203 and int((long["imd_decile"] == 1).sum()) == 36


def test_2025_population_denominators_mid_2022(tmp_path, coventry, coventry_2025):
    header = LAYOUTS["IoD2025"].file_6_header
    assert header[4] == "Total population: mid 2022"
    rows = [header] + [
        [r["lsoa21_code"], r["lsoa21_name"], "E08000026", "Coventry", 1600 + i, 300, 900, 400, 1000]
        for i, r in enumerate(coventry_2025)
    ]
    file_6 = tmp_path / "File_6_IoD2025.csv"
    with file_6.open("w", newline="", encoding="utf-8-sig") as f:
        csv.writer(f).writerows(rows)
    file_1, _ = _write_mhclg_2025(tmp_path, coventry_2025)
    frame = parse_imd(file_1, coventry, population_file=file_6)
    assert int(frame["population_total"].sum()) == sum(1600 + i for i in range(203))
    assert set(frame["population_working_age"]) == {1000}


def test_2025_rank_beyond_the_2021_lsoa_count_is_refused(tmp_path, coventry, coventry_2025):
    coventry_2025 = [dict(r) for r in coventry_2025]
    coventry_2025[4]["IMD_rank"] = "33756"
    file_1, _ = _write_mhclg_2025(tmp_path, coventry_2025, other_rows=False)
    with pytest.raises(SourceFileError, match=r"33756 is outside 1..33755") as err:
        parse_imd(file_1, coventry)
    assert err.value.row == 6
    assert err.value.column == "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
    assert str(file_1) in str(err.value)
    # 33,755 itself is a rank of IoD2025 (not of IoD2019).
    coventry_2025[4]["IMD_rank"] = "33755"
    file_1, _ = _write_mhclg_2025(tmp_path, coventry_2025, other_rows=False)
    assert parse_imd(file_1, coventry)["imd_rank"].max() == 33_755


def test_bad_lsoa_code_names_row_and_column(tmp_path, coventry, coventry_2025):
    coventry_2025 = [dict(r) for r in coventry_2025]
    coventry_2025[1]["lsoa21_code"] = "E0100960"  # 5 digits
    file_1, _ = _write_mhclg_2025(tmp_path, coventry_2025, other_rows=False)
    with pytest.raises(SourceFileError, match="E01 and 6 digits") as err:
        parse_imd(file_1, coventry)
    assert (err.value.row, err.value.column) == (3, "LSOA code (2021)")
