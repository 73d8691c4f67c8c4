"""Family Hub contacts through the door: monthly CSVs by hub, ward of residence and service,
into a real DuckDB file whose LSOA -> ward lookup makes the door check that every ward belongs
to the place, and whose place file lists the hubs."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from conftest import lookup_warehouse

from marmot_assets.config import load_place
from marmot_assets.demo.generator import LOOKUP_FILE, DemoLsoa
from marmot_assets.demo.partners import council_family_hubs
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import receive

PLACE = load_place("E08000026")
CONTRACT = get_contract("council_family_hubs/contacts")


@pytest.fixture(scope="module")
def demo(demo_root) -> Path:
    return demo_root


def lookup_rows(demo: Path) -> list[dict[str, str]]:
    with (demo / "demo" / LOOKUP_FILE).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def door(demo, tmp_path):
    """(receive(path), sql(query, *params)) over a warehouse holding the place's lookup."""
    con, codes = lookup_warehouse(tmp_path / "warehouse.duckdb", demo, PLACE)

    def deliver(path: Path):
        return receive(path, CONTRACT, con, codes, tmp_path / "home")

    def sql(query: str, *params) -> list[tuple]:
        # Positional parameters, or one dict of named ones ($name).
        args = params[0] if params and isinstance(params[0], dict) else list(params)
        return con.execute(query, args).fetchall()

    yield deliver, sql
    con.close()


def files(demo: Path) -> list[Path]:
    return sorted((demo / "inbox" / "council_family_hubs" / "contacts").iterdir())


def csv_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        return list(csv.reader(f))


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\r\n").writerows(rows)
    return path


def test_twelve_monthly_deliveries_load_whole(demo, door):
    deliver, sql = door
    paths = files(demo)
    assert [p.name for p in paths][:2] == [
        "family_hub_contacts_2024-04.csv",
        "family_hub_contacts_2024-05.csv",
    ]
    assert len(paths) == 12
    for path in paths:
        verdict = deliver(path)
        assert (verdict.status, verdict.rows_quarantined) == ("loaded", 0), verdict.summary()
        assert verdict.rows_accepted == len(csv_rows(path)) - 1
    total = sum(len(csv_rows(p)) - 1 for p in paths)
    assert sql(
        "select count(*), count(distinct (hub, ward_code, service, month)) "
        "from raw.council_family_hubs__contacts"
    ) == [(total, total)]
    assert {r[0] for r in sql("select distinct hub from raw.council_family_hubs__contacts")} == set(
        PLACE.lists["family_hubs"]
    )
    assert {
        r[0] for r in sql("select distinct service from raw.council_family_hubs__contacts")
    } == set(CONTRACT.column("service").allowed)
    months = [
        r[0] for r in sql("select distinct month from raw.council_family_hubs__contacts order by 1")
    ]
    assert (months[0], months[-1]) == ("2024-04", "2025-03")
    assert len(months) == 12


def test_reach_rises_with_ward_deprivation(demo, door):
    """Proportionate universalism: every ward is reached, deprived wards most, and the targeted
    services (early help) lean harder towards deprivation than the universal ones."""
    deliver, sql = door
    for path in files(demo):
        deliver(path)
    deprivation = {w.code: w.deprivation for w in PLACE.demo.wards}
    # Contacts per LSOA (demo LSOAs have similar populations) for each ward.
    per_lsoa = dict(
        sql(
            "select c.ward_code, sum(contacts) / any_value(n) from raw.council_family_hubs__contacts c "
            "join (select ward_code, count(*) as n from raw.ons_lsoa_ward_lookup group by 1) l "
            "using (ward_code) group by 1"
        )
    )
    assert set(per_lsoa) == set(deprivation)
    wards = sorted(deprivation)
    r = np.corrcoef([deprivation[w] for w in wards], [per_lsoa[w] for w in wards])[0, 1]
    assert r > 0.8

    def ratio(service: str) -> float:
        most, least = (
            sql(
                "select sum(contacts) / (select count(*) from raw.ons_lsoa_ward_lookup "
                "where ward_code = $ward) from raw.council_family_hubs__contacts "
                "where service = $service and ward_code = $ward",
                {"ward": code, "service": service},
            )[0][0]
            for code in ("E05001222", "E05001231")
        )  # Foleshill, Wainbody
        return most / least

    assert ratio("Early help") > ratio("Health visiting") > 1


def test_same_seed_same_bytes(demo, tmp_path):
    g = PLACE.geography
    deprivation = {w.code: w.deprivation for w in PLACE.demo.wards}
    lsoas = [
        DemoLsoa(
            r[g.lsoa_field],
            r[g.lsoa_name_field],
            r[g.ward_field],
            r[g.ward_name_field],
            r[g.lad_field],
            r[g.lad_name_field],
            deprivation[r[g.ward_field]],
            (1650, 330, 900, 420, 860),
        )
        for r in lookup_rows(demo)
    ]
    first = council_family_hubs.write(tmp_path / "a", PLACE, lsoas, np.random.default_rng(3))
    second = council_family_hubs.write(tmp_path / "b", PLACE, lsoas, np.random.default_rng(3))
    third = council_family_hubs.write(tmp_path / "c", PLACE, lsoas, np.random.default_rng(4))
    assert len(first) == 12
    for a, b, c in zip(first, second, third, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name
        assert a.read_bytes() != c.read_bytes(), a.name


def test_unknown_hub_service_and_other_place_ward_are_quarantined(demo, door, tmp_path):
    deliver, sql = door
    first = deliver(files(demo)[0])
    before = sql("select * from raw.council_family_hubs__contacts order by all")
    rows = csv_rows(files(demo)[1])
    assert rows[0] == [
        "Family Hub",
        "Ward code",
        "Ward of residence",
        "Service",
        "Month",
        "Contacts",
        "Children reached",
    ]
    rows[1][0] = "Central Library"  # not one of the place's Family Hubs
    rows[2][3] = "Speech and language"  # not a contract service
    rows[3][1] = "E05000650"  # a ward of another authority
    rows[4][1] = "Foleshill"  # a ward name where the code belongs
    hub = rows[5][0]
    rows[5][0] = hub.lower()  # hub names are matched without regard to case
    rows.append(list(rows[6]))  # the same hub, ward, service and month twice
    bad = write_csv(tmp_path / "family_hub_contacts_2024-05.csv", rows)

    verdict = deliver(bad)
    assert verdict.status == "loaded_with_quarantine"
    assert (verdict.rows_read, verdict.rows_accepted, verdict.rows_quarantined) == (
        len(rows) - 1,
        len(rows) - 6,
        5,
    )
    quarantined = sql(
        "select row_number, column_name, reason, value from raw.quarantine "
        "where original_name = ? order by row_number",
        bad.name,
    )
    assert quarantined == [
        (2, "hub", f"is not one of {PLACE.lists['family_hubs']}", "Central Library"),
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
    assert sql(
        "select hub from raw.council_family_hubs__contacts where _sha256 = ? and _row_number = 6",
        verdict.sha256,
    ) == [(hub,)]
    assert (
        sql(
            "select * from raw.council_family_hubs__contacts where _sha256 = ? order by all",
            first.sha256,
        )
        == before
    )


def test_a_file_without_children_reached_is_rejected(demo, door, tmp_path):
    deliver, sql = door
    deliver(files(demo)[0])
    before = sql("select * from raw.council_family_hubs__contacts order by all")
    missing = write_csv(
        tmp_path / "family_hub_contacts_2024-06.csv", [r[:6] for r in csv_rows(files(demo)[2])]
    )
    verdict = deliver(missing)
    assert verdict.status == "rejected"
    assert verdict.error.startswith(
        f"file {missing.name}, row 1, column 'children_reached': missing column(s) "
        "['children_reached']"
    )
    assert sql(
        "select status, rows_accepted from raw.landing_manifest where original_name = ?",
        missing.name,
    ) == [("rejected", 0)]
    assert sql("select * from raw.council_family_hubs__contacts order by all") == before
