"""Family Hub contacts through the door: monthly CSVs by hub, ward of residence and service,
into a real DuckDB file whose LSOA -> ward lookup makes the door check that every ward belongs
to the place, and whose place file lists the hubs; and their quarterly counts of distinct
children reached, the measure of reach."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np
from helpers import assert_same_seed_same_bytes, csv_rows, demo_lsoas, inbox_files, write_csv

from marmot_assets.demo.partners import children_by_ward, council_family_hubs
from marmot_assets.partners.contract import get_contract

CONTRACT = get_contract("council_family_hubs/contacts")
REACHED = get_contract("council_family_hubs/children_reached")


def test_twelve_monthly_deliveries_load_whole(demo_root, coventry, door):
    paths = inbox_files(demo_root, CONTRACT)
    assert [p.name for p in paths][:2] == [
        "family_hub_contacts_2024-04.csv",
        "family_hub_contacts_2024-05.csv",
    ]
    assert len(paths) == 12
    for path in paths:
        verdict = door.receive(path)
        assert (verdict.status, verdict.rows_quarantined) == ("loaded", 0), verdict.summary()
        assert verdict.rows_accepted == len(csv_rows(path)) - 1
    total = sum(len(csv_rows(p)) - 1 for p in paths)
    assert door.rows(
        "select count(*), count(distinct (hub, ward_code, service, month)) "
        "from raw.council_family_hubs__contacts"
    ) == [(total, total)]
    assert {
        r[0] for r in door.rows("select distinct hub from raw.council_family_hubs__contacts")
    } == set(coventry.lists["family_hubs"])
    assert {
        r[0] for r in door.rows("select distinct service from raw.council_family_hubs__contacts")
    } == set(CONTRACT.column("service").allowed)
    months = [
        r[0]
        for r in door.rows(
            "select distinct month from raw.council_family_hubs__contacts order by 1"
        )
    ]
    assert (months[0], months[-1]) == ("2024-04", "2025-03")
    assert len(months) == 12


def test_reach_rises_with_ward_deprivation(demo_root, ward_deprivation, door):
    """Proportionate universalism: every ward is reached, deprived wards most, and the targeted
    services (early help) lean harder towards deprivation than the universal ones."""
    door.receive_inbox(demo_root)
    # Contacts per LSOA (demo LSOAs have similar populations) for each ward.
    per_lsoa = dict(
        door.rows(
            "select c.ward_code, sum(contacts) / any_value(n) "
            "from raw.council_family_hubs__contacts c "
            "join (select ward_code, count(*) as n from raw.ons_lsoa_ward_lookup group by 1) l "
            "using (ward_code) group by 1"
        )
    )
    assert set(per_lsoa) == set(ward_deprivation)
    wards = sorted(ward_deprivation)
    r = np.corrcoef([ward_deprivation[w] for w in wards], [per_lsoa[w] for w in wards])[0, 1]
    assert r > 0.8

    def ratio(service: str) -> float:
        most, least = (
            door.rows(
                "select sum(contacts) / (select count(*) from raw.ons_lsoa_ward_lookup "
                "where ward_code = $ward) from raw.council_family_hubs__contacts "
                "where service = $service and ward_code = $ward",
                {"ward": code, "service": service},
            )[0][0]
            for code in ("E05001222", "E05001231")
        )  # Foleshill, Wainbody
        return most / least

    assert ratio("Early help") > ratio("Health visiting") > 1


def test_same_seed_same_bytes(demo_lookup, coventry, tmp_path):
    lsoas = demo_lsoas(demo_lookup, coventry)
    first = assert_same_seed_same_bytes(council_family_hubs.write, tmp_path, coventry, lsoas, 3)
    assert len(first) == 12 + 4  # the monthly contacts, then the quarterly children reached


def test_unknown_hub_service_and_other_place_ward_are_quarantined(
    demo_root, coventry, door, tmp_path
):
    first = door.receive(inbox_files(demo_root, CONTRACT)[0])
    before = door.rows("select * from raw.council_family_hubs__contacts order by all")
    rows = csv_rows(inbox_files(demo_root, CONTRACT)[1])
    assert rows[0] == council_family_hubs.HEADER
    rows[1][0] = "Central Library"  # not one of the place's Family Hubs
    rows[2][3] = "Speech and language"  # not a contract service
    rows[3][1] = "E05000650"  # a ward of another authority
    rows[4][1] = "Foleshill"  # a ward name where the code belongs
    hub = rows[5][0]
    rows[5][0] = hub.lower()  # hub names are matched without regard to case
    rows.append(list(rows[6]))  # the same hub, ward, service and month twice
    bad = write_csv(tmp_path / "family_hub_contacts_2024-05.csv", rows)

    verdict = door.receive(bad)
    assert verdict.status == "loaded_with_quarantine"
    assert (verdict.rows_read, verdict.rows_accepted, verdict.rows_quarantined) == (
        len(rows) - 1,
        len(rows) - 6,
        5,
    )
    assert door.quarantine(bad.name) == [
        (2, "hub", f"is not one of {coventry.lists['family_hubs']}", "Central Library"),
        (
            3,
            "service",
            "is not one of ['Start for Life', 'Parenting support', 'Health visiting', "
            "'Infant feeding', 'Early help', 'SEND support']",
            "Speech and language",
        ),
        (4, "ward_code", "is not a ward of Coventry", "E05000650"),
        (5, "ward_code", "is not a ward code", "Foleshill"),
        (len(rows), None, "duplicates row 7 (hub, ward_code, service, month)", None),
    ]
    # The lower-case hub was accepted under its canonical name.
    assert door.rows(
        "select hub from raw.council_family_hubs__contacts where _sha256 = ? and _row_number = 6",
        verdict.sha256,
    ) == [(hub,)]
    assert (
        door.rows(
            "select * from raw.council_family_hubs__contacts where _sha256 = ? order by all",
            first.sha256,
        )
        == before
    )


def test_a_file_without_children_reached_is_rejected(demo_root, door, tmp_path):
    door.receive(inbox_files(demo_root, CONTRACT)[0])
    before = door.rows("select * from raw.council_family_hubs__contacts order by all")
    missing = write_csv(
        tmp_path / "family_hub_contacts_2024-06.csv",
        [r[:6] for r in csv_rows(inbox_files(demo_root, CONTRACT)[2])],
    )
    verdict = door.receive(missing)
    assert verdict.status == "rejected"
    assert verdict.error.startswith(
        f"file {missing.name}, row 1, column 'children_reached': missing column(s) "
        "['children_reached']"
    )
    assert door.rows(
        "select status, rows_accepted from raw.landing_manifest where original_name = ?",
        missing.name,
    ) == [("rejected", 0)]
    assert door.rows("select * from raw.council_family_hubs__contacts order by all") == before


def test_four_quarterly_counts_of_children_load_whole(demo_root, coventry, door):
    paths = inbox_files(demo_root, REACHED)
    assert [p.name for p in paths] == [
        f"family_hub_children_reached_2024-25_Q{q}.csv" for q in (1, 2, 3, 4)
    ]
    for path in paths:
        assert csv_rows(path)[0] == council_family_hubs.REACHED_HEADER
        verdict = door.receive(path, REACHED)
        assert (verdict.status, verdict.rows_quarantined) == ("loaded", 0), verdict.summary()
        assert verdict.rows_accepted == len(csv_rows(path)) - 1
    assert door.rows(
        "select count(distinct quarter), count(distinct hub), count(distinct ward_code) "
        "from raw.council_family_hubs__children_reached"
    ) == [(4, len(coventry.lists["family_hubs"]), 18)]


def test_distinct_children_are_fewer_than_monthly_counts_and_the_ward_children(
    demo_lookup, coventry, tmp_path
):
    """A child seen in several months or services counts once a quarter, so each hub's
    quarterly count is below the sum of its monthly counts; a ward's children reached by all
    hubs in a quarter stay well below its children aged 0-15."""
    lsoas = demo_lsoas(demo_lookup, coventry)
    paths = council_family_hubs.write(tmp_path, coventry, lsoas, np.random.default_rng(7))
    monthly: dict[tuple, int] = defaultdict(int)
    for path in paths[:12]:
        for hub, ward, _name, _service, month, _contacts, reached in csv_rows(path)[1:]:
            when = dt.datetime.strptime(month, "%B %Y")  # the hubs write "April 2024"
            quarter = council_family_hubs.quarter_of(when.year, when.month)
            monthly[quarter, hub, ward] += int(reached)
    per_ward: dict[tuple, int] = defaultdict(int)
    for path in paths[12:]:
        for hub, ward, _name, quarter, distinct in csv_rows(path)[1:]:
            assert 0 < int(distinct) < monthly[quarter, hub, ward]
            per_ward[quarter, ward] += int(distinct)
    children = children_by_ward(lsoas)
    assert len(per_ward) == 4 * len(children)
    assert max(n / children[ward] for (_q, ward), n in per_ward.items()) < 0.5


def test_quarter_labels_are_financial_quarters():
    assert [council_family_hubs.quarter_of(y, m) for y, m in ((2024, 4), (2024, 6), (2024, 7),
            (2024, 12), (2025, 1), (2025, 3))] == [
        "2024-25 Q1", "2024-25 Q1", "2024-25 Q2", "2024-25 Q3", "2024-25 Q4", "2024-25 Q4"
    ]  # fmt: skip
