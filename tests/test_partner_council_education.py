"""Council education's deliveries through the door: EYFSP results (CSV by LSOA), free school
meals (Excel workbook by ward) and NEET / not known (CSV by ward), into a real DuckDB file
whose LSOA -> ward lookup makes the door check that every area belongs to the place."""

from __future__ import annotations

import zipfile

import openpyxl
from helpers import assert_same_seed_same_bytes, csv_rows, demo_lsoas, inbox_files, write_csv

from marmot_assets.demo.partners import council_education
from marmot_assets.partners.contract import get_contract

DATASETS = {"eyfs_results": 3, "fsm_eligibility": 6, "neet": 12}  # and their demo deliveries
CONTRACTS = {dataset: get_contract(f"council_education/{dataset}") for dataset in DATASETS}
EYFS, FSM, NEET = CONTRACTS.values()
DEPRIVED = {"Foleshill", "St Michael's", "Henley", "Longford"}  # demo deprivation >= 0.8
AFFLUENT = {"Wainbody", "Earlsdon", "Bablake", "Whoberley"}  # demo deprivation <= 0.3


# --- the demo deliveries -------------------------------------------------------------------------
def test_every_demo_delivery_loads_whole(demo_root, door):
    for dataset, count in DATASETS.items():
        paths = inbox_files(demo_root, CONTRACTS[dataset])
        assert len(paths) == count
        for path in paths:
            verdict = door.receive(path, CONTRACTS[dataset])
            assert (verdict.status, verdict.rows_quarantined) == ("loaded", 0), verdict.summary()
    eyfs_rows = sum(len(csv_rows(p)) - 1 for p in inbox_files(demo_root, EYFS))
    assert door.rows(
        "select count(*), count(distinct (lsoa_code, academic_year, fsm_status)) "
        "from raw.council_education__eyfs_results"
    ) == [(eyfs_rows, eyfs_rows)]
    assert door.rows(
        "select count(*), count(distinct (ward_code, census_term)) "
        "from raw.council_education__fsm_eligibility"
    ) == [(6 * 18, 6 * 18)]
    assert door.rows(
        "select count(*), count(distinct (ward_code, month)) from raw.council_education__neet"
    ) == [(12 * 18, 12 * 18)]
    # Values arrive in the contract's canonical forms: months as YYYY-MM, statuses as listed.
    assert [
        r[0] for r in door.rows("select distinct month from raw.council_education__neet order by 1")
    ] == ([f"2023-{m:02d}" for m in range(4, 13)] + [f"2024-{m:02d}" for m in range(1, 4)])
    assert {
        r[0]
        for r in door.rows("select distinct fsm_status from raw.council_education__eyfs_results")
    } == {"FSM", "Non-FSM", "Unknown"}
    # The same bytes again are recognised and not loaded twice.
    again = door.receive(inbox_files(demo_root, NEET)[0], NEET)
    assert again.status == "duplicate"
    assert door.rows("select count(*) from raw.council_education__neet") == [(216,)]


def test_demo_rates_follow_the_deprivation_gradient(demo_root, demo_lookup, coventry, door):
    for contract in CONTRACTS.values():
        door.receive_inbox(demo_root, contract)
    g = coventry.geography
    names = {r[g.ward_field]: r[g.ward_name_field] for r in demo_lookup}

    def rate(sql: str, wards: set[str]) -> float:
        codes = [c for c, n in names.items() if n in wards]
        num, den = door.rows(sql.format(codes=", ".join(f"'{c}'" for c in codes)))[0]
        return num / den

    gld = (
        "select sum(pupils_reaching_gld), sum(pupils_assessed) "
        "from raw.council_education__eyfs_results e join raw.ons_lsoa_ward_lookup l "
        "using (lsoa_code) where ward_code in ({codes})"
    )
    assert rate(gld, DEPRIVED) < rate(gld, AFFLUENT) - 0.05
    fsm_gap = door.rows(
        "select fsm_status, sum(pupils_reaching_gld) / sum(pupils_assessed) "
        "from raw.council_education__eyfs_results group by 1"
    )
    assert dict(fsm_gap)["FSM"] < dict(fsm_gap)["Non-FSM"] - 0.1
    eligible = (
        "select sum(pupils_eligible), sum(pupils_on_roll) "
        "from raw.council_education__fsm_eligibility where ward_code in ({codes})"
    )
    assert rate(eligible, DEPRIVED) > 2 * rate(eligible, AFFLUENT)
    # DfE's headline: December to February average of NEET plus not known.
    neet = (
        "select sum(neet + not_known), sum(cohort) from raw.council_education__neet "
        "where month in ('2023-12', '2024-01', '2024-02') and ward_code in ({codes})"
    )
    assert rate(neet, DEPRIVED) > 1.5 * rate(neet, AFFLUENT)
    # Not known peaks in September, before young people's new activity is confirmed.
    by_month = dict(
        door.rows(
            "select month, sum(not_known) / sum(cohort) from raw.council_education__neet group by 1"
        )
    )
    assert by_month["2023-09"] > 3 * by_month["2023-12"]


def test_fsm_workbook_has_notes_first_and_is_byte_stable(
    demo_root, demo_lookup, coventry, tmp_path
):
    book = openpyxl.load_workbook(inbox_files(demo_root, FSM)[0], read_only=True)
    assert book.sheetnames == ["About this data", "FSM by ward"]
    rows = list(book["FSM by ward"].iter_rows(values_only=True))
    assert rows[2][:3] == ("Ward code", "Ward name", "Census term")  # two notes rows above
    book.close()
    # Same seed, same bytes (workbooks included); another seed, other bytes.
    lsoas = demo_lsoas(demo_lookup, coventry)
    first = assert_same_seed_same_bytes(council_education.write, tmp_path, coventry, lsoas, 7)
    assert len(first) == 3 + 6 + 12
    # No clock inside the workbook: fixed zip entry times and document times.
    with zipfile.ZipFile(first[3]) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2024, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    assert core.count("2024-01-01T00:00:00Z") == 2


# --- bad deliveries ------------------------------------------------------------------------------
def test_eyfs_bad_rows_are_quarantined_and_earlier_years_unchanged(demo_root, door, tmp_path):
    earlier = inbox_files(demo_root, EYFS)[:2]
    for path in earlier:
        door.receive(path, EYFS)
    snapshot = door.rows(
        "select * exclude (_received_at) from raw.council_education__eyfs_results order by all"
    )
    rows = csv_rows(inbox_files(demo_root, EYFS)[2])
    rows[1][5] = str(int(rows[1][4]) + 1)  # more pupils reaching GLD than were assessed
    rows[2][0] = "E01009999"  # an LSOA of another authority
    rows[3][3] = "Eligible"  # not one of FSM, Non-FSM, Unknown
    rows[4][4] = "twelve"  # not a whole number
    bad = write_csv(tmp_path / "eyfsp_gld_by_lsoa_fsm_2023-24.csv", rows)

    verdict = door.receive(bad, EYFS)
    assert verdict.status == "loaded_with_quarantine"
    assert (verdict.rows_read, verdict.rows_accepted, verdict.rows_quarantined) == (
        len(rows) - 1,
        len(rows) - 5,
        4,
    )
    assert door.quarantine(bad.name) == [
        (2, "pupils_reaching_gld", "is greater than pupils_assessed", rows[1][5]),
        (3, "lsoa_code", "is not an LSOA of Coventry", "E01009999"),
        (4, "fsm_status", "is not one of ['FSM', 'Non-FSM', 'Unknown']", "Eligible"),
        (5, "pupils_assessed", "is not a whole number", "twelve"),
    ]
    assert (
        door.rows(
            "select * exclude (_received_at) from raw.council_education__eyfs_results "
            "where _sha256 != ? order by all",
            verdict.sha256,
        )
        == snapshot
    )


def test_fsm_workbook_problems_are_located_by_sheet_row(demo_root, door, tmp_path):
    door.receive(inbox_files(demo_root, FSM)[0], FSM)
    book = openpyxl.load_workbook(inbox_files(demo_root, FSM)[1])
    sheet = book["FSM by ward"]
    sheet["F4"] = sheet["E4"].value + 1  # more pupils taking a meal than are eligible
    sheet["E5"] = sheet["D5"].value + 1  # more eligible than on roll
    sheet["C6"] = "January 2024"  # not a census term
    bad = tmp_path / "fsm_eligibility_by_ward_Summer_2023.xlsx"
    book.save(bad)

    # Rows are the sheet's own row numbers (header on row 3, first data row 4).
    expected = [
        (4, "eligible_taking_meal", "is greater than pupils_eligible"),
        (5, "pupils_eligible", "is greater than pupils_on_roll"),
        (6, "census_term", r"is not of the form (Spring|Summer|Autumn) 20\d{2}"),
    ]
    door.assert_quarantined(bad, 15, expected, FSM)
    assert door.rows("select count(*) from raw.council_education__fsm_eligibility") == [(18 + 15,)]


def test_fsm_workbook_without_a_column_is_rejected_and_nothing_changes(demo_root, door, tmp_path):
    door.receive(inbox_files(demo_root, FSM)[0], FSM)
    before = door.rows("select * from raw.council_education__fsm_eligibility order by all")
    book = openpyxl.load_workbook(inbox_files(demo_root, FSM)[1])
    book["FSM by ward"].delete_cols(6)  # "Eligible pupils taking a meal"
    bad = tmp_path / "fsm_eligibility_by_ward_Summer_2023.xlsx"
    book.save(bad)

    verdict = door.receive(bad, FSM)
    assert verdict.status == "rejected"
    assert bad.name in verdict.error and "eligible_taking_meal" in verdict.error
    assert "no sheet has a header row" in verdict.error
    assert door.rows(
        "select status from raw.landing_manifest where original_name = ?", bad.name
    ) == [("rejected",)]
    assert door.rows("select * from raw.council_education__fsm_eligibility order by all") == before


def test_neet_bad_values_and_missing_column(demo_root, door, tmp_path):
    first = door.receive(inbox_files(demo_root, NEET)[0], NEET)
    before = door.rows("select * from raw.council_education__neet order by all")
    rows = csv_rows(inbox_files(demo_root, NEET)[1])
    rows[1][4] = str(int(rows[1][3]) + 5)  # more NEET than the cohort
    rows[2][3] = "412.5"  # not a whole number
    rows[3][2] = "Maybe 2023"  # not a month
    rows[4][5] = "-3"  # below the minimum
    bad = write_csv(tmp_path / "nccis_neet_not_known_2023-05.csv", rows)
    expected = [
        (2, "neet", "is greater than cohort"),
        (3, "cohort", "is not a whole number"),
        (4, "month", "is not a month (e.g. 2024-03)"),
        (5, "not_known", "is below the minimum 0"),
    ]
    door.assert_quarantined(bad, 14, expected, NEET)

    # A file without the "Activity not known" column is refused whole, naming file and column.
    missing = write_csv(
        tmp_path / "nccis_neet_not_known_2023-06.csv",
        [r[:5] for r in csv_rows(inbox_files(demo_root, NEET)[2])],
    )
    verdict = door.receive(missing, NEET)
    assert verdict.status == "rejected"
    assert verdict.error.startswith(f"file {missing.name}, row 1, column 'not_known': missing")
    assert (
        door.rows(
            "select * from raw.council_education__neet where _sha256 = ? order by all", first.sha256
        )
        == before
    )
