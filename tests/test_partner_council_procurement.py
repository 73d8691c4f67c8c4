"""Council procurement's deliveries through the door: the Transparency Code contracts register
(Windows-1252 CSV from Excel) and the fairer-city business pledge list (JSON), into a real
DuckDB file whose LSOA -> ward lookup makes the door check that wards belong to the place."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers import assert_quarantine, csv_rows, inbox_bytes, inbox_files, write_csv

from marmot_assets.demo.partners.council_procurement import LENS_FROM, REGISTER_HEADER
from marmot_assets.partners.contract import get_contract

REGISTER = get_contract("council_procurement/contracts_register")
PLEDGES = get_contract("council_procurement/business_pledges")


def register_rows(path: Path) -> list[list[str]]:
    return csv_rows(path, encoding="cp1252")  # as Excel saves a CSV


def write_register(path: Path, rows: list[list[str]]) -> Path:
    return write_csv(path, rows, encoding="cp1252")


def pledge_records(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, payload) -> Path:
    path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    return path


# --- contracts register ------------------------------------------------------------------------
def test_every_register_snapshot_loads_whole(demo_root, door):
    deliveries = inbox_files(demo_root, REGISTER)
    assert [p.name for p in deliveries] == [
        f"contracts_register_2024-25_Q{q}.csv" for q in (1, 2, 3, 4)
    ]
    for path in deliveries:
        raw = path.read_bytes()
        assert b"\xa3" in raw and b"\r\n" in raw  # Windows-1252 "£", Excel line ends
        rows = register_rows(path)
        assert rows[0] == REGISTER_HEADER
        verdict = door.receive(path, REGISTER)
        assert (verdict.status, verdict.rows_read, verdict.rows_quarantined) == (
            "loaded",
            len(rows) - 1,
            0,
        ), verdict.summary()
        assert 120 < verdict.rows_accepted < 250
    # "£" in free text survives the decoding; "1,234,567.00" is read as a number.
    assert (
        door.rows(
            "select count(*) from raw.council_procurement__contracts_register "
            "where social_value_commitments like '%£%'"
        )[0][0]
        > 10
    )
    first = register_rows(deliveries[0])[1]
    assert door.rows(
        "select contract_value, start_date::varchar from "
        "raw.council_procurement__contracts_register where reference = ? limit 1",
        first[0],
    ) == [(float(first[8].replace(",", "")), "-".join(reversed(first[9].split("/"))))]
    # Company numbers whose leading zero Excel dropped are kept as sent (staging pads them).
    assert (
        door.rows(
            "select count(*) from raw.council_procurement__contracts_register "
            "where length(supplier_company_number) = 7"
        )[0][0]
        > 0
    )
    # No lens before it came in; from then on it spreads, financial year after year.
    lens = dict(
        door.rows(
            f"select start_date >= date '{LENS_FROM}', "
            "avg(health_inequalities_lens_review::int) "
            "from raw.council_procurement__contracts_register group by all"
        )
    )
    assert lens[False] == 0 and lens[True] > 0
    by_year = door.rows(
        "select year(start_date - interval 3 month), avg(health_inequalities_lens_review::int) "
        "from raw.council_procurement__contracts_register "
        f"where start_date >= date '{LENS_FROM}' group by 1 order by 1"
    )
    shares = [share for _, share in by_year]
    assert len(shares) >= 2 and shares == sorted(shares) and shares[0] < shares[-1]


def test_register_bad_rows_are_quarantined_with_row_column_and_value(demo_root, door, tmp_path):
    rows = register_rows(inbox_files(demo_root, REGISTER)[0])
    rows[1][9], rows[1][10] = "01/04/2025", "31/03/2024"  # ends before it starts
    rows[2][8] = "about £1m"  # not a number (a plain "£1,234,567.00" is read as 1234567)
    rows[3][12] = "Pending"  # not yes/no
    rows[4][0] = rows[5][0]  # the same reference twice
    rows[6][5] = "1234"  # not a Companies House number
    path = write_register(tmp_path / "contracts_register_bad.csv", rows)
    verdict = door.receive(path, REGISTER)
    assert (verdict.status, verdict.rows_quarantined) == ("loaded_with_quarantine", 5)
    assert_quarantine(
        door.quarantine(path.name),
        [
            (2, "start_date", "greater than end_date", "01/04/2025"),
            (3, "contract_value", "number", "about £1m"),
            (4, "health_inequalities_lens_review", "yes/no", "Pending"),
            (6, None, "duplicates row 5", None),
            (7, "supplier_company_number", r"[A-Z]{2}\d{6}|\d{6,8}", "1234"),
        ],
    )


def test_register_missing_column_is_rejected_and_earlier_data_stays(demo_root, door, tmp_path):
    assert door.receive(inbox_files(demo_root, REGISTER)[0], REGISTER).status == "loaded"
    rows = [r[:12] + r[13:] for r in register_rows(inbox_files(demo_root, REGISTER)[1])]
    path = write_register(tmp_path / "contracts_register_no_lens.csv", rows)
    door.assert_refused(path, "column 'health_inequalities_lens_review'", contract=REGISTER)


# --- business pledges --------------------------------------------------------------------------
def test_every_pledge_list_loads_and_a_withdrawn_business_drops_off(demo_root, door):
    deliveries = inbox_files(demo_root, PLEDGES)
    assert [p.name for p in deliveries] == [
        f"business_pledges_{d}.json"
        for d in ("2024-06-30", "2024-09-30", "2024-12-31", "2025-03-31")
    ]
    names = []
    for path in deliveries:
        records = pledge_records(path)
        verdict = door.receive(path, PLEDGES)
        assert (verdict.status, verdict.rows_read, verdict.rows_quarantined) == (
            "loaded",
            len(records),
            0,
        ), verdict.summary()
        names.append({r["business_name"] for r in records})
    assert len(names[0]) < len(names[-1])
    assert names[1] - names[2]  # someone withdrew between September and December
    # Pledges are ';'-separated lists; living wage employers pledge to pay the living wage.
    rows = door.rows(
        "select pledges, living_wage_employer from raw.council_procurement__business_pledges"
    )
    assert all(len(p.split(";")) >= 2 for p, _ in rows)
    assert all(("Real Living Wage" in p) == lw for p, lw in rows)


def test_living_wage_employers_are_fewer_in_deprived_wards(demo_root, ward_deprivation, door):
    door.receive(inbox_files(demo_root, PLEDGES)[-1], PLEDGES)
    rows = door.rows(
        "select ward_code, living_wage_employer::int from raw.council_procurement__business_pledges"
    )
    deprived = [lw for ward, lw in rows if ward_deprivation[ward] >= 0.6]
    affluent = [lw for ward, lw in rows if ward_deprivation[ward] < 0.4]
    assert sum(deprived) / len(deprived) < sum(affluent) / len(affluent)


def test_pledge_bad_records_are_quarantined(demo_root, door, tmp_path):
    records = pledge_records(inbox_files(demo_root, PLEDGES)[0])[:20]
    records[0]["ward_code"] = "E05000650"  # a ward of another place
    records[1]["size_band"] = "Huge"
    records[2]["date_pledged"] = "next spring"
    path = write_json(tmp_path / "business_pledges_bad.json", records)
    verdict = door.receive(path, PLEDGES)
    assert (verdict.status, verdict.rows_accepted, verdict.rows_quarantined) == (
        "loaded_with_quarantine",
        17,
        3,
    )
    assert_quarantine(
        door.quarantine(path.name),
        [
            (1, "ward_code", "of Coventry", "E05000650"),
            (2, "size_band", "['Micro', 'Small', 'Medium', 'Large']", "Huge"),
            (3, "date_pledged", "date", "next spring"),
        ],
    )


def test_pledges_in_the_wrong_shape_are_rejected_and_earlier_data_stays(demo_root, door, tmp_path):
    assert door.receive(inbox_files(demo_root, PLEDGES)[0], PLEDGES).status == "loaded"
    before = door.table(PLEDGES)
    records = pledge_records(inbox_files(demo_root, PLEDGES)[1])
    # A CSV sent for a JSON dataset.
    as_csv = tmp_path / "business_pledges.csv"
    with as_csv.open("w", newline="", encoding="utf-8") as f:
        out = csv.DictWriter(f, fieldnames=list(records[0]))
        out.writeheader()
        out.writerows(records)
    accepts = "is CSV, but council_procurement/business_pledges accepts json"
    door.assert_refused(as_csv, accepts, contract=PLEDGES)
    # A record without the living wage field.
    for r in records:
        del r["living_wage_employer"]
    missing = write_json(tmp_path / "business_pledges_no_living_wage.json", records)
    door.assert_refused(missing, "column 'living_wage_employer'", contract=PLEDGES)
    assert door.table(PLEDGES) == before


@pytest.mark.parametrize("contract", [REGISTER, PLEDGES], ids=lambda c: c.dataset)
def test_demo_is_byte_identical_for_the_same_seed(demo_root, demo_again, contract):
    assert inbox_bytes(demo_root, contract) == inbox_bytes(demo_again, contract)


def test_only_the_contracts_register_is_a_public_register():
    """The flag that lets a release name suppliers is the dataset contract's, off unless a
    contract says so; raw.partner_datasets carries it for dbt, one row per contract."""
    from marmot_assets.partners.contract import load_contracts
    from marmot_assets.sources.place import partner_datasets_frame

    frame = partner_datasets_frame()
    assert len(frame) == len(load_contracts())
    public = frame.loc[frame["public_register"], ["partner", "dataset"]].values.tolist()
    assert public == [["council_procurement", "contracts_register"]]
    # a supplier's name may be a person's: left out of logs and the UI's previews
    from marmot_assets.ui_metadata import identifier_columns

    assert "supplier_name" in identifier_columns(
        get_contract("council_procurement/contracts_register")
    )
    # a contract that says nothing is not public
    register = get_contract("council_procurement/contracts_register")
    silent = register.model_dump(exclude={"public_register"})
    assert not type(register).model_validate(silent).public_register
