"""The Job Shop's quarterly client exports through the door: record-level, pseudonymised at
source, into a real DuckDB file whose LSOA -> ward lookup makes the door check that every
area belongs to the place."""

from __future__ import annotations

import logging

from helpers import assert_quarantine, csv_rows, inbox_bytes, inbox_files, write_csv

from marmot_assets.demo.partners.council_job_shop import DEMO_ONLY_HMAC_KEY, HEADER
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import find_identifiers
from marmot_assets.partners.pseudonymise import pseudonymise_value

CONTRACT = get_contract("council_job_shop/clients")


def test_every_quarter_loads_whole(demo_root, door):
    deliveries = inbox_files(demo_root, CONTRACT)
    assert [p.name for p in deliveries] == [
        f"job_shop_clients_{y}_Q{q}.csv" for y in ("2023-24", "2024-25") for q in (1, 2, 3, 4)
    ]
    total = 0
    for path in deliveries:
        rows = csv_rows(path)
        assert rows[0] == HEADER
        verdict = door.receive(path)
        assert (verdict.status, verdict.rows_read, verdict.rows_quarantined) == (
            "loaded",
            len(rows) - 1,
            0,
        ), verdict.summary()
        total += len(rows) - 1
    assert 5_000 < total < 8_000
    assert door.rows("select count(*) from raw.council_job_shop__clients")[0][0] == total
    # Every row is placed by an LSOA or, where the address matched none, by a ward.
    placed = dict(
        door.rows(
            "select lsoa_code is not null, count(*) from raw.council_job_shop__clients "
            "where (lsoa_code is null) <> (ward_code is null) group by all"
        )
    )
    assert placed[True] + placed[False] == total and placed[False] > 100
    # The Q1 file gave "none" to clients whose outcome a later quarter's file reports.
    revised = door.rows(
        "select count(*) from (select client_key, start_date from raw.council_job_shop__clients "
        "group by all having count(distinct outcome) > 1)"
    )[0][0]
    assert revised > 100


def test_client_keys_are_the_demo_hmac_of_a_client_reference(demo_root):
    keys = {r[0] for path in inbox_files(demo_root, CONTRACT) for r in csv_rows(path)[1:]}
    references = {pseudonymise_value(f"JS{n:07d}", DEMO_ONLY_HMAC_KEY) for n in range(1, 5_000)}
    assert 2_500 < len(keys) and keys <= references
    assert b"DEMO-ONLY" in DEMO_ONLY_HMAC_KEY  # never mistaken for a data-sharing key


def test_demo_is_byte_identical_for_the_same_seed(demo_root, demo_again):
    assert inbox_bytes(demo_root, CONTRACT) == inbox_bytes(demo_again, CONTRACT)


def test_more_clients_from_deprived_wards_and_fewer_into_work_with_barriers(
    demo_root, ward_deprivation, door
):
    door.receive_inbox(demo_root)
    per_ward = door.rows(
        "with latest as (select * from raw.council_job_shop__clients qualify row_number() over "
        "(partition by client_key, start_date order by _received_at desc) = 1) "
        "select coalesce(l.ward_code, c.ward_code), count(*) from latest c "
        "left join raw.ons_lsoa_ward_lookup l using (lsoa_code) group by all"
    )
    lsoas = dict(door.rows("select ward_code, count(*) from raw.ons_lsoa_ward_lookup group by all"))
    rate = {ward: n / lsoas[ward] for ward, n in per_ward}
    deprived = [rate[w] for w, d in ward_deprivation.items() if d >= 0.8]
    affluent = [rate[w] for w, d in ward_deprivation.items() if d <= 0.3]
    assert min(deprived) > 2 * max(affluent)
    into_work = dict(
        door.rows(
            "with latest as (select * from raw.council_job_shop__clients qualify row_number() over "
            "(partition by client_key, start_date order by _received_at desc) = 1) "
            "select disability or care_leaver or ex_offender or refugee or lone_parent, "
            "avg((outcome = 'job')::int) from latest group by all"
        )
    )
    assert into_work[False] > into_work[True] + 0.05


def test_bad_rows_are_quarantined_by_row_and_column_without_their_values(demo_root, door, tmp_path):
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[3])
    rows[2][8], rows[2][9], rows[2][10] = "15/03/2024", "Job", "01/03/2024"  # job before start
    rows[3][1], rows[3][2] = "E01000001", ""  # an LSOA of another place
    rows[4][3] = "Maybe"  # not a yes/no
    rows[5][9] = "Apprenticeship"  # not an outcome the contract knows
    rows[6][0] = "JS0001234"  # a raw client reference, not the keyed hash
    path = write_csv(tmp_path / "job_shop_clients_bad.csv", rows)
    verdict = door.receive(path)
    assert verdict.status == "loaded_with_quarantine"
    assert (verdict.rows_accepted, verdict.rows_quarantined) == (len(rows) - 6, 5)
    assert_quarantine(
        door.quarantine(path.name),
        [
            (3, "start_date", "greater than outcome_date", None),
            (4, "lsoa_code", "of Coventry", None),
            (5, "disability", "yes/no", None),
            (6, "outcome", "['job', 'training', 'volunteering', 'none']", None),
            (7, "client_key", "[0-9a-f]{64}", None),
        ],
    )


def test_missing_column_is_rejected_and_earlier_data_stays(demo_root, door, tmp_path):
    assert door.receive(inbox_files(demo_root, CONTRACT)[0]).status == "loaded"
    no_outcome = [r[:9] + r[10:] for r in csv_rows(inbox_files(demo_root, CONTRACT)[1])]
    path = write_csv(tmp_path / "job_shop_clients_no_outcome.csv", no_outcome)
    door.assert_refused(path, "column 'outcome'", "missing")


def test_a_row_with_neither_lsoa_nor_ward_loads_and_staging_drops_it(demo_root, door, tmp_path):
    """The contract cannot say "an LSOA or a ward": the door loads such a row and
    stg_council_job_shop__clients leaves it out (see its SQL)."""
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[0])
    rows[2][1] = rows[2][2] = ""
    path = write_csv(tmp_path / "job_shop_clients_unplaced.csv", rows)
    verdict = door.receive(path)
    assert (verdict.status, verdict.rows_quarantined) == ("loaded", 0)
    assert (
        door.rows(
            "select count(*) from raw.council_job_shop__clients "
            "where lsoa_code is null and ward_code is null"
        )[0][0]
        == 1
    )


def test_a_client_name_column_refuses_the_file(demo_root, door, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[0])
    rows = [[*rows[0], "Client name"]] + [[*r, f"Demo Person{i}"] for i, r in enumerate(rows[1:])]
    path = write_csv(tmp_path / "job_shop_clients_named.csv", rows)
    verdict = door.receive(path)
    assert verdict.status == "rejected"
    assert "column 'Client name'" in verdict.error and "a name" in verdict.error
    assert "Demo Person" not in verdict.error + caplog.text + str(
        door.rows("select * from raw.landing_manifest")
    )
    held = door.home / "restricted" / "council_job_shop" / "clients"
    assert [p.name for p in held.iterdir()] == [f"{verdict.sha256}__{path.name}"]
    assert not (door.home / "landing").exists()
    assert door.rows("select count(*) from raw.quarantine")[0][0] == 0


def test_a_pseudonymised_key_is_not_taken_for_an_nhs_number(tmp_path):
    # Demo reference JS0000050 hashes to ...ec4436307964ac86: "4436307964" passes modulus 11.
    key = pseudonymise_value("JS0000050", DEMO_ONLY_HMAC_KEY)
    assert find_identifiers(write_csv(tmp_path / "key.csv", [["Client key"], [key]])) is None
