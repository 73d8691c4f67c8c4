"""NHS NCMP child measurements through the door: record-level files pseudonymised at source,
and the refusal of any file that still holds an NHS number, a full postcode, a date of birth
or a name (the file is held in restricted storage, its values never written anywhere)."""

from __future__ import annotations

import logging

import pytest
from helpers import (
    assert_quarantine,
    check_digit,
    csv_rows,
    inbox_bytes,
    inbox_files,
    valid_nhs_numbers,
    write_csv,
)

from marmot_assets.demo.generator import OTHER_LSOA_PREFIX
from marmot_assets.demo.partners.nhs_icb import DEMO_ONLY_HMAC_KEY
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import check_file
from marmot_assets.partners.pseudonymise import pseudonymise_csv, pseudonymise_value
from marmot_assets.partners.screen import nhs_number_valid

CONTRACT = get_contract("nhs_icb/child_measurements")
HEADER = ["ChildKey", "AcademicYear", "SchoolYear", "Sex", "PupilLSOACode", "PopulationBMIcategory"]


@pytest.fixture
def door(door, demo_root, coventry):
    """The door, its warehouse also holding the demo's LSOA 2011 -> 2021 lookup: the ICB's
    extracts before the last year name LSOAs by their 2011 codes, which the door converts."""
    from marmot_assets.demo.publishers.ons import CHANGES_FILE
    from marmot_assets.partners.door import place_codes
    from marmot_assets.sources.ons import parse_changes_csv

    changes = parse_changes_csv(demo_root / "demo" / CHANGES_FILE, coventry)  # noqa: F841
    door.con.execute("create table raw.ons_lsoa11_lsoa21_lookup as select * from changes")
    door.codes = place_codes(
        door.con, coventry.name, coventry.code, coventry.lists, coventry.geography.lsoa_year
    )
    return door


# --- the demo ----------------------------------------------------------------------------------
def test_each_academic_year_loads_and_children_living_elsewhere_are_skipped(demo_root, door):
    assert [p.name for p in inbox_files(demo_root, CONTRACT)] == [
        "ncmp_child_measurements_2021-22.csv",
        "ncmp_child_measurements_2022-23.csv",
        "ncmp_child_measurements_2023-24.csv",
    ]
    loaded = 0
    for path in inbox_files(demo_root, CONTRACT):
        rows = csv_rows(path)
        assert rows[0] == HEADER
        elsewhere = sum(r[4].startswith(OTHER_LSOA_PREFIX) for r in rows[1:])
        verdict = door.receive(path)
        assert verdict.status == "loaded", verdict.summary()
        assert (verdict.rows_read, verdict.rows_other_places, verdict.rows_quarantined) == (
            len(rows) - 1,
            elsewhere,
            0,
        )
        assert 100 < elsewhere and 7_000 < verdict.rows_accepted < 9_500
        on_2011 = path.name != "ncmp_child_measurements_2023-24.csv"
        assert verdict.lsoa_vintage == ("LSOA 2011 (converted)" if on_2011 else "LSOA 2021")
        loaded += verdict.rows_accepted
    assert door.rows("select count(*) from raw.nhs_icb__child_measurements")[0][0] == loaded
    # Every child on an LSOA 2011 code was converted: the conversions account for each row.
    converted = door.rows(
        "select sum(rows_converted) from raw.lsoa_conversions where dataset = 'child_measurements'"
    )[0][0]
    assert (
        converted
        == door.rows(
            "select count(*) from raw.nhs_icb__child_measurements m join raw.landing_manifest l "
            "on l.sha256 = m._sha256 where l.lsoa_vintage = 'LSOA 2011 (converted)' "
            "and m.lsoa_code is not null"
        )[0][0]
    )
    # Nobody from another place is kept; unmatched postcodes are kept with no LSOA.
    assert (
        door.rows(
            "select count(*) from raw.nhs_icb__child_measurements m where lsoa_code "
            "not in (select lsoa_code from raw.ons_lsoa_ward_lookup)"
        )[0][0]
        == 0
    )
    assert (
        door.rows("select count(*) from raw.nhs_icb__child_measurements where lsoa_code is null")[
            0
        ][0]
        > 50
    )


def test_obesity_rises_with_deprivation_and_school_year(demo_root, ward_deprivation, door):
    door.receive_inbox(demo_root)
    obese = door.rows(
        "select l.ward_code, school_year, avg((bmi_centile_category = 'Living with obesity')::int)"
        " from raw.nhs_icb__child_measurements join raw.ons_lsoa_ward_lookup l using (lsoa_code)"
        " group by all"
    )
    by = {(ward, year): share for ward, year, share in obese}
    for year in ("Reception", "Year 6"):
        deprived = sum(by[w, year] for w, d in ward_deprivation.items() if d >= 0.8) / 5
        affluent = sum(by[w, year] for w, d in ward_deprivation.items() if d <= 0.3) / 5
        assert deprived > 1.4 * affluent
    reception = sum(by[w, "Reception"] for w in ward_deprivation) / len(ward_deprivation)
    year_6 = sum(by[w, "Year 6"] for w in ward_deprivation) / len(ward_deprivation)
    assert 0.07 < reception < 0.14 and 0.18 < year_6 < 0.30


def test_child_keys_are_the_demo_hmac(demo_root):
    keys = {r[0] for path in inbox_files(demo_root, CONTRACT) for r in csv_rows(path)[1:]}
    references = {pseudonymise_value(f"NCMP{n:07d}", DEMO_ONLY_HMAC_KEY) for n in range(1, 30_000)}
    assert 20_000 < len(keys) and keys <= references
    assert b"DEMO-ONLY" in DEMO_ONLY_HMAC_KEY


def test_demo_is_byte_identical_for_the_same_seed(demo_root, demo_again):
    assert inbox_bytes(demo_root, CONTRACT) == inbox_bytes(demo_again, CONTRACT)


# --- bad deliveries ----------------------------------------------------------------------------
def test_bad_rows_are_quarantined_without_their_values(demo_root, door, tmp_path):
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[0])[:101]
    for row in rows[1:4]:  # living in the city: rows of other places are skipped, not checked
        row[4] = door.rows("select min(lsoa_code) from raw.ons_lsoa_ward_lookup")[0][0]
    rows[1][5] = "Obese"  # the old wording, not the contract's category
    rows[2][0] = "A1234567"  # a pupil reference, not the keyed hash
    rows[3][2] = "Year 3"  # the NCMP measures Reception and Year 6 only
    rows[4][4] = "E0123456"  # not an LSOA code
    path = write_csv(tmp_path / "ncmp_bad.csv", rows)
    verdict = door.receive(path)
    assert (verdict.status, verdict.rows_quarantined) == ("loaded_with_quarantine", 4)
    assert_quarantine(  # record-level: values are never kept
        door.quarantine(path.name),
        [
            (
                2,
                "bmi_centile_category",
                "['Underweight', 'Healthy weight', 'Overweight', 'Living with obesity']",
                None,
            ),
            (3, "child_key", "[0-9a-f]{64}", None),
            (4, "school_year", "['Reception', 'Year 6']", None),
            (5, "lsoa_code", "LSOA code", None),
        ],
    )


def test_missing_column_is_rejected_and_earlier_data_stays(demo_root, door, tmp_path):
    assert door.receive(inbox_files(demo_root, CONTRACT)[0]).status == "loaded"
    rows = [r[:2] + r[3:] for r in csv_rows(inbox_files(demo_root, CONTRACT)[1])]  # no SchoolYear
    path = write_csv(tmp_path / "ncmp_no_school_year.csv", rows)
    door.assert_refused(path, "column 'school_year'")


# --- identifiers: refused, held in restricted storage, never written anywhere ------------------
POSTCODES = ["CV1 5FB", "CV6 5HQ", "CV2 2DX", "CV4 8UW", "CV3 4LF", "B37 7ES"]
IDENTIFIERS = {
    # header -> (values for the column, what the door says it looks like)
    "NHSNumber": (lambda n: valid_nhs_numbers(n), "an NHS number"),
    "Postcode": (lambda n: [POSTCODES[i % len(POSTCODES)] for i in range(n)], "a full postcode"),
    "Date of birth": (
        lambda n: [f"{1 + i % 28:02d}/0{1 + i % 9}/2013" for i in range(n)],
        "a date of birth",
    ),
    "Forename": (
        lambda n: [["Amara", "Oliver", "Zainab", "Harry"][i % 4] for i in range(n)],
        "a name",
    ),
}


@pytest.mark.parametrize("column", list(IDENTIFIERS))
def test_a_file_holding_identifiers_is_refused_and_held_apart(
    demo_root, door, tmp_path, caplog, column
):
    caplog.set_level(logging.DEBUG)
    assert door.receive(inbox_files(demo_root, CONTRACT)[0]).status == "loaded"
    before = door.table()
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[1])[:60]
    make_values, kind = IDENTIFIERS[column]
    values = make_values(len(rows) - 1)
    rows = [[*rows[0][:3], column, *rows[0][3:]]] + [
        [*r[:3], v, *r[3:]] for r, v in zip(rows[1:], values, strict=True)
    ]
    path = write_csv(tmp_path / f"ncmp_with_{column.replace(' ', '_')}.csv", rows)

    verdict = door.receive(path)

    assert verdict.status == "rejected"
    assert f"column '{column}'" in verdict.error and kind in verdict.error
    assert (verdict.rows_read, verdict.rows_accepted, verdict.quarantine) == (0, 0, [])
    # The values are nowhere: not in the error, the manifest, the quarantine or the log.
    manifest = str(door.rows("select * from raw.landing_manifest"))
    quarantine = str(door.rows("select * from raw.quarantine"))
    for value in set(values):
        for text in (verdict.error, verdict.summary(), manifest, quarantine, caplog.text):
            assert value not in text
    assert door.rows(
        "select status, rows_read, error from raw.landing_manifest where original_name = ?",
        path.name,
    ) == [("rejected", 0, verdict.error)]
    # Held byte-for-byte, read-only, in restricted storage; never in landing; nothing loaded.
    held = (
        door.home
        / "restricted"
        / "nhs_icb"
        / "child_measurements"
        / f"{verdict.sha256}__{path.name}"
    )
    assert held.read_bytes() == path.read_bytes()
    assert held.stat().st_mode & 0o777 == 0o400
    assert (door.home / "restricted").stat().st_mode & 0o777 == 0o700
    landed = [p.name for p in (door.home / "landing").rglob("*") if p.is_file()]
    assert len(landed) == 1 and verdict.sha256 not in landed[0]
    assert door.table() == before
    # `marmot check-file` gives the partner the same verdict before sending.
    assert check_file(path, CONTRACT, door.codes).status == "rejected"


def test_nhs_numbers_anywhere_refuse_the_file_even_spaced(demo_root, door, tmp_path):
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[2])[:30]
    number = valid_nhs_numbers(1, start=943_476_591)[0]
    rows[7][0] = f"{number[:3]} {number[3:6]} {number[6:]}"  # in place of the child key
    path = write_csv(tmp_path / "ncmp_unpseudonymised.csv", rows)
    verdict = door.receive(path)
    assert verdict.status == "rejected" and "column 'ChildKey'" in verdict.error
    assert number not in verdict.error and rows[7][0] not in verdict.error
    assert door.table() == []


# --- the partner-side tools --------------------------------------------------------------------
def test_nhs_number_valid_follows_modulus_11():
    numbers = valid_nhs_numbers(25)
    assert all(nhs_number_valid(n) for n in numbers)
    for n in numbers:  # any other last digit is wrong
        wrong = [f"{n[:9]}{d}" for d in range(10) if d != int(n[9])]
        assert not any(nhs_number_valid(w) for w in wrong)
    # A prefix whose check would be 10 has no valid number at all.
    prefix = next(str(p) for p in range(401_023_213, 401_023_400) if check_digit(str(p)) is None)
    assert not any(nhs_number_valid(f"{prefix}{d}") for d in range(10))
    assert not nhs_number_valid(numbers[0][:9])  # too short
    assert not nhs_number_valid(numbers[0] + "0")  # too long
    assert not nhs_number_valid(f"{numbers[0][:4]}x{numbers[0][5:]}")


def test_pseudonymise_csv_is_stable_per_key_and_differs_between_keys(tmp_path):
    source = write_csv(
        tmp_path / "extract.csv",
        [
            ["NHSNumber", "SchoolYear", "PopulationBMIcategory"],
            *[[n, "Year 6", "Healthy weight"] for n in valid_nhs_numbers(20)],
        ],
    )
    key_a, key_b = b"a" * 32, b"b" * 32
    first, second, other = tmp_path / "a1.csv", tmp_path / "a2.csv", tmp_path / "b.csv"
    assert pseudonymise_csv(source, first, ["NHSNumber"], key_a) == 20
    pseudonymise_csv(source, second, ["nhsnumber"], key_a)  # header matched in any case
    pseudonymise_csv(source, other, ["NHSNumber"], key_b)
    assert first.read_bytes() == second.read_bytes()
    a_rows, b_rows, original = csv_rows(first), csv_rows(other), csv_rows(source)
    assert a_rows[0] == original[0] and [r[1:] for r in a_rows] == [r[1:] for r in original]
    for a, b, o in zip(a_rows[1:], b_rows[1:], original[1:], strict=True):
        assert a[0] == pseudonymise_value(o[0], key_a) and len(a[0]) == 64
        assert a[0] != b[0] and o[0] not in first.read_text()
    assert len({r[0] for r in a_rows[1:]}) == 20
