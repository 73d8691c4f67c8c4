"""NHS PCMD death registrations through the door: record-level files pseudonymised at source
are loaded (residents of other places skipped), and a file still holding an NHS number or a
date of birth is refused whole, its values never written anywhere."""

from __future__ import annotations

import logging

import pytest
from helpers import csv_rows, inbox_bytes, inbox_files, valid_nhs_numbers, write_csv

from marmot_assets.demo.generator import OTHER_LSOA_PREFIX
from marmot_assets.demo.partners.nhs_pcmd import DEMO_ONLY_HMAC_KEY, YEARS
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import check_file
from marmot_assets.partners.pseudonymise import pseudonymise_value

CONTRACT = get_contract("nhs_pcmd/deaths")
HEADER = [
    "DEATH_KEY", "REG_DATE_OF_DEATH", "DEC_SEX", "DEC_AGEC", "LSOA_CODE",
    "S_UNDERLYING_COD_ICD10",
]  # fmt: skip


def test_each_year_loads_and_residents_elsewhere_are_skipped(demo_root, door):
    paths = inbox_files(demo_root, CONTRACT)
    assert [p.name for p in paths] == [f"pcmd_deaths_{year}.csv" for year in YEARS]
    loaded = 0
    for path in paths:
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
        # a city of about 350,000: some 2,700 deaths a year, a few percent from elsewhere
        assert 2_000 < verdict.rows_accepted < 3_500 and 20 < elsewhere < 200
        # every death of the file's calendar year, dated as the extract writes dates
        assert {r[1][-4:] for r in rows[1:]} == {path.stem[-4:]}
        loaded += verdict.rows_accepted
    assert door.rows("select count(*) from raw.nhs_pcmd__deaths")[0][0] == loaded
    typed = door.rows(
        "select min(date_of_death), max(date_of_death), min(age_at_death), "
        "count(*) filter (where lsoa_code is null), count(distinct sex) from raw.nhs_pcmd__deaths"
    )[0]
    assert (str(typed[0])[:4], str(typed[1])[:4]) == (str(YEARS[0]), str(YEARS[-1]))
    assert typed[2] == 0 and 10 < typed[3] < 200 and typed[4] == 2


def test_death_keys_are_the_demo_hmac(demo_root):
    keys = [r[0] for path in inbox_files(demo_root, CONTRACT) for r in csv_rows(path)[1:]]
    references = {pseudonymise_value(f"PCMD{n:07d}", DEMO_ONLY_HMAC_KEY) for n in range(1, 20_000)}
    assert len(set(keys)) == len(keys) and set(keys) <= references


def test_demo_is_byte_identical_for_the_same_seed(demo_root, demo_again):
    assert inbox_bytes(demo_root, CONTRACT) == inbox_bytes(demo_again, CONTRACT)


CAUSE_REASON = "is not of the form [A-Z]\\d{2}[0-9X]?"


def test_bad_rows_are_quarantined_without_their_values(demo_root, door, tmp_path):
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[0])[:41]
    for row in rows[1:4]:  # living in the city: rows of other places are skipped, not checked
        row[4] = door.rows("select min(lsoa_code) from raw.ons_lsoa_ward_lookup")[0][0]
    rows[1][2] = "M"  # the registration codes sex 1 or 2
    rows[2][5] = "I21.9"  # ONS codes causes without the dot
    rows[3][3] = "-1"
    path = write_csv(tmp_path / "pcmd_bad.csv", rows)
    door.assert_quarantined(
        path,
        sum(not r[4].startswith(OTHER_LSOA_PREFIX) for r in rows[4:]),
        [(2, "sex", "is not one of ['1', '2']"), (3, "underlying_cause", CAUSE_REASON),
         (4, "age_at_death", "is below the minimum 0")],
    )  # fmt: skip
    assert all(value is None for *_, value in door.quarantine(path.name))  # record-level


# --- identifiers: refused, held in restricted storage, never written anywhere ------------------
IDENTIFIERS = {
    # header -> (values for the column, what the door says it looks like)
    "DEC_NHS_NUMBER": (valid_nhs_numbers, "an NHS number"),
    "DEC_DATE_OF_BIRTH": (
        lambda n: [f"{1 + i % 28:02d}/{1 + i % 12:02d}/{1930 + i % 40}" for i in range(n)],
        "a date of birth",
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
    rows = [[*rows[0][:2], column, *rows[0][2:]]] + [
        [*r[:2], v, *r[2:]] for r, v in zip(rows[1:], values, strict=True)
    ]
    path = write_csv(tmp_path / f"pcmd_with_{column.lower()}.csv", rows)

    verdict = door.assert_refused(path, f"column '{column}'", kind)

    assert (verdict.rows_read, verdict.rows_accepted, verdict.quarantine) == (0, 0, [])
    manifest = str(door.rows("select * from raw.landing_manifest"))
    quarantine = str(door.rows("select * from raw.quarantine"))
    for value in set(values):
        for text in (verdict.error, verdict.summary(), manifest, quarantine, caplog.text):
            assert value not in text
    held = door.home / "restricted" / "nhs_pcmd" / "deaths" / f"{verdict.sha256}__{path.name}"
    assert held.read_bytes() == path.read_bytes()
    assert held.stat().st_mode & 0o777 == 0o400
    assert door.table() == before
    assert check_file(path, CONTRACT, door.codes).status == "rejected"
