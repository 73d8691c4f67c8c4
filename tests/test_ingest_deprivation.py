"""MHCLG deprivation parser on the real published files (../shared/reference/imd2019)."""

from __future__ import annotations

import pytest

from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.mhclg import parse_imd

F1_ENGLAND = "imd2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation__England.csv"
F1 = "imd2019/File_1_-_IMD2019_Index_of_Multiple_Deprivation__Coventry_E08000026.csv"
F2 = "imd2019/File_2_-_IoD2019_Domains_of_Deprivation__Coventry_E08000026.csv"
F6 = "imd2019/File_6_-_IoD2019_Population_Denominators__Coventry_E08000026.csv"


def test_england_file_is_filtered_to_the_place(reference, coventry):
    frame = parse_imd(reference / F1_ENGLAND, coventry)
    assert len(frame) == 195
    assert set(frame["lad_code"]) == {"E08000026"}
    counts = frame["imd_decile"].value_counts().sort_index().tolist()
    assert counts == [28, 22, 28, 19, 23, 21, 19, 15, 11, 9]


def test_files_joined_with_thousands_separators_and_differing_headers(reference, coventry):
    frame = parse_imd(reference / F1, coventry, reference / F2, reference / F6)
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


def test_missing_column_names_the_file_and_column(tmp_path, reference, coventry):
    def drop_decile(text):
        lines = [",".join(line.split(",")[:-1]) for line in text.splitlines()]
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, drop_decile)
    with pytest.raises(SourceFileError) as err:
        parse_imd(path, coventry)
    assert err.value.column == "imd_decile"
    assert str(path) in str(err.value) and "row 1" in str(err.value)


def test_wrong_type_names_row_and_column(tmp_path, reference, coventry):
    def corrupt(text):
        lines = text.splitlines()
        lines[3] = lines[3].replace(',"', ',"x', 1)  # the rank of the third data row
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, corrupt)
    with pytest.raises(SourceFileError) as err:
        parse_imd(path, coventry)
    assert err.value.row == 4
    assert err.value.column == "Index of Multiple Deprivation (IMD) Rank"
    assert "not a whole number" in str(err.value)


def test_decile_out_of_range_is_refused(tmp_path, reference, coventry):
    def corrupt(text):
        lines = text.splitlines()
        lines[1] = lines[1][: lines[1].rfind(",")] + ",11"
        return "\n".join(lines) + "\n"

    path = _write(tmp_path, reference, F1, corrupt)
    with pytest.raises(SourceFileError, match=r"row 2, column 'Index of Multiple .*Decile'"):
        parse_imd(path, coventry)


def test_not_csv_and_empty_files_are_refused(tmp_path, coventry):
    binary = tmp_path / "File_1.csv"
    binary.write_bytes(b"PK\x03\x04\x00\x00 zip bytes")
    with pytest.raises(SourceFileError, match="not a text file"):
        parse_imd(binary, coventry)
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(SourceFileError, match="empty"):
        parse_imd(empty, coventry)


def test_another_place_has_no_rows_in_a_coventry_file(reference, coventry):
    other = coventry.model_copy(update={"code": "E08000025", "name": "Birmingham"})
    with pytest.raises(SourceFileError, match="no rows for local authority E08000025"):
        parse_imd(reference / F1, other)
