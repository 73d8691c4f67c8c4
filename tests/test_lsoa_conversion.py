"""Partner files on LSOA 2011 codes, converted to LSOA 2021 at the door: real files through the
real door into a real DuckDB file holding the demo's ONS lookups (LSOA 2021 -> ward, and LSOA
2011 -> LSOA 2021), a population table giving the split parts known shares."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
from helpers import lookups_warehouse

from marmot_assets.demo.publishers.ons import CHANGES_FILE
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import check_file, place_codes, receive
from marmot_assets.partners.load import withdraw
from marmot_assets.partners.lsoa_conversion import largest_remainder
from marmot_assets.sources.ons import parse_changes_csv

NCMP = get_contract("nhs_icb/child_measurements")
EYFS = get_contract("council_education/eyfs_results")
NOMIS = get_contract("dwp_nomis/claimant_count")
NCMP_HEADER = "ChildKey,AcademicYear,SchoolYear,Sex,PupilLSOACode,PopulationBMIcategory"
EYFS_HEADER = (
    "LSOA code,LSOA name,Academic year,FSM status,Pupils assessed,"
    "Pupils reaching a good level of development"
)
NOMIS_HEADER = (
    "DATE,DATE_NAME,GEOGRAPHY_CODE,GEOGRAPHY_NAME,GEOGRAPHY_TYPE,GENDER_NAME,AGE_NAME,"
    "MEASURE_NAME,MEASURES_NAME,OBS_VALUE"
)


@pytest.fixture
def changes(demo_root, coventry):
    """The demo's 2011 -> 2021 lookup: {indicator: [(lsoa11, [lsoa21 parts])]}."""
    frame = parse_changes_csv(demo_root / "demo" / CHANGES_FILE, coventry)
    out: dict[str, list] = {}
    for (code, indicator), group in frame.groupby(["lsoa11_code", "change_indicator"]):
        out.setdefault(indicator, []).append((code, sorted(group["lsoa21_code"])))
    return out


def write(path: Path, header: str, rows: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def child_rows(code: str, n: int, start: int = 0) -> list[str]:
    keys = (hashlib.sha256(f"child {i}".encode()).hexdigest() for i in range(start, start + n))
    return [f"{k},2021/22,Reception,Female,{code},Healthy weight" for k in keys]


@pytest.fixture
def setup(demo_root, coventry, changes, tmp_path):
    (split, (part_a, part_b)) = changes["S"][0]
    population = {part_a: 3000, part_b: 1000}  # shares 0.75, 0.25
    con = lookups_warehouse(tmp_path / "w.duckdb", demo_root, coventry, population)
    codes = place_codes(con, coventry.name, coventry.code, coventry.lists, 2021)
    yield con, codes, changes, (split, part_a, part_b)
    con.close()


def test_record_level_rows_keep_unchanged_merged_and_split_by_population(setup, tmp_path):
    con, codes, changes, (split, part_a, part_b) = setup
    unchanged = changes["U"][0][0]
    merged_a, (merged_to,) = changes["M"][0]
    rows = child_rows(unchanged, 5) + child_rows(merged_a, 4, 5) + child_rows(split, 800, 9)
    path = write(tmp_path / "in" / "ncmp_2021-22.csv", NCMP_HEADER, rows)
    verdict = receive(path, NCMP, con, codes, tmp_path / "home")
    assert verdict.status == "loaded" and verdict.lsoa_vintage == "LSOA 2011 (converted)"
    assert (
        "LSOA 2011 codes: 809 rows converted to LSOA 2021 (5 unchanged, 4 merged, "
        "800 split, assigned by population)" in " ".join(verdict.notes)
    )
    loaded = Counter(
        r[0]
        for r in con.execute("select lsoa_code from raw.nhs_icb__child_measurements").fetchall()
    )
    assert loaded[unchanged] == 5 and loaded[merged_to] == 4 and split not in loaded
    assert loaded[part_a] + loaded[part_b] == 800
    # Binomial(800, 0.75): mean 600, sd about 12.2; 4 sd either way.
    assert 551 <= loaded[part_a] <= 649
    recorded = con.execute(
        "select lsoa11_code, lsoa21_code, change_indicator, share, rows_converted, weight_source "
        "from raw.lsoa_conversions order by 1, 2"
    ).fetchall()
    assert (unchanged, unchanged, "U", 1.0, 5, None) in recorded
    assert (merged_a, merged_to, "M", 1.0, 4, None) in recorded
    source = "ONS population estimates (mid-2023)"
    assert (split, part_a, "S", 0.75, loaded[part_a], source) in recorded
    assert (split, part_b, "S", 0.25, loaded[part_b], source) in recorded
    manifest = con.execute("select lsoa_vintage from raw.landing_manifest").fetchall()
    assert manifest == [("LSOA 2011 (converted)",)]


def test_a_rerun_assigns_every_row_to_the_same_part(demo_root, coventry, setup, tmp_path):
    con, codes, _, (split, part_a, part_b) = setup
    path = write(tmp_path / "in" / "ncmp.csv", NCMP_HEADER, child_rows(split, 200))
    receive(path, NCMP, con, codes, tmp_path / "home")
    other = lookups_warehouse(
        tmp_path / "w2.duckdb", demo_root, coventry, {part_a: 3000, part_b: 1000}
    )
    other_codes = place_codes(other, coventry.name, coventry.code, coventry.lists, 2021)
    receive(path, NCMP, other, other_codes, tmp_path / "home2")
    sql = "select child_key, lsoa_code from raw.nhs_icb__child_measurements order by 1"
    assert con.execute(sql).fetchall() == other.execute(sql).fetchall()
    assert {r[1] for r in con.execute(sql).fetchall()} == {part_a, part_b}


def test_aggregate_counts_apportioned_by_largest_remainder_and_merges_added(setup, tmp_path):
    con, codes, changes, (split, part_a, part_b) = setup
    (merged_a, (merged_to,)), (merged_b, _) = (
        changes["M"][0],
        next((c, p) for c, p in changes["M"][1:] if p == changes["M"][0][1]),
    )
    rows = [
        f"{split},Old 1,2023/24,FSM,10,5",
        f"{split},Old 1,2023/24,Non-FSM,7,7",
        f"{merged_a},Old 2,2023/24,FSM,4,1",
        f"{merged_b},Old 3,2023/24,FSM,6,3",
    ]
    path = write(tmp_path / "in" / "eyfs.csv", EYFS_HEADER, rows)
    verdict = receive(path, EYFS, con, codes, tmp_path / "home")
    assert verdict.status == "loaded", verdict.summary()
    assert "split, apportioned by population" in " ".join(verdict.notes)
    got = {
        (r[0], r[1]): (r[2], r[3])
        for r in con.execute(
            "select lsoa_code, fsm_status, pupils_assessed, pupils_reaching_gld "
            "from raw.council_education__eyfs_results"
        ).fetchall()
    }
    a10, b10 = largest_remainder(10, [0.75, 0.25])
    a5, b5 = largest_remainder(5, [0.75, 0.25])
    assert got[(part_a, "FSM")] == (a10, a5) and got[(part_b, "FSM")] == (b10, b5)
    assert a10 + b10 == 10 and a5 + b5 == 5
    assert got[(part_a, "Non-FSM")][0] + got[(part_b, "Non-FSM")][0] == 7
    assert got[(merged_to, "FSM")] == (10, 4)  # the two 2011 LSOAs added up
    assert len(got) == 5


def test_largest_remainder_keeps_totals():
    assert largest_remainder(10, [0.75, 0.25]) == [8, 2]
    assert largest_remainder(7, [1 / 3] * 3) == [3, 2, 2]
    for total in range(50):
        assert sum(largest_remainder(total, [0.61, 0.3, 0.09])) == total


def test_a_claimant_count_is_apportioned_and_a_percentage_stays(setup, tmp_path):
    con, codes, _, (split, part_a, part_b) = setup
    base = f"2024-01,January 2024,{split},Old,lsoa2011,Total,All categories: Age 16+"
    rows = [f"{base},Claimant count,Value,20", f"{base},Claimants as a proportion of "
            "residents aged 16-64,Value,3.5"]  # fmt: skip
    path = write(tmp_path / "in" / "cc.csv", NOMIS_HEADER, rows)
    verdict = receive(path, NOMIS, con, codes, tmp_path / "home")
    assert verdict.status == "loaded", verdict.summary()
    got = dict(
        ((r[0], r[1]), r[2])
        for r in con.execute(
            "select geography_code, measure_name, obs_value from raw.dwp_nomis__claimant_count"
        ).fetchall()
    )
    assert got[(part_a, "Claimant count")] == 15 and got[(part_b, "Claimant count")] == 5
    percentage = "Claimants as a proportion of residents aged 16-64"
    assert got[(part_a, percentage)] == 3.5 and got[(part_b, percentage)] == 3.5


def test_a_file_of_both_vintages_is_mixed(setup, tmp_path):
    con, codes, changes, (split, part_a, _) = setup
    rows = child_rows(split, 3) + child_rows(part_a, 2, 3)
    path = write(tmp_path / "in" / "mixed.csv", NCMP_HEADER, rows)
    verdict = receive(path, NCMP, con, codes, tmp_path / "home")
    assert verdict.lsoa_vintage == "mixed"
    assert "mixed LSOA 2011 and LSOA 2021 codes: 2 rows on LSOA 2021" in " ".join(verdict.notes)


def test_a_file_on_lsoa_2021_is_said_so_and_nothing_is_recorded(setup, tmp_path):
    con, codes, _, (_, part_a, _) = setup
    path = write(tmp_path / "in" / "new.csv", NCMP_HEADER, child_rows(part_a, 3))
    verdict = receive(path, NCMP, con, codes, tmp_path / "home")
    assert verdict.lsoa_vintage == "LSOA 2021" and verdict.conversions == []
    assert con.execute("select count(*) from raw.lsoa_conversions").fetchone()[0] == 0


def test_check_file_gives_the_same_verdict(setup, tmp_path):
    con, codes, changes, (split, _, _) = setup
    path = write(tmp_path / "in" / "ncmp.csv", NCMP_HEADER, child_rows(split, 30))
    checked = check_file(path, NCMP, codes)
    received = receive(path, NCMP, con, codes, tmp_path / "home")
    assert checked.lsoa_vintage == received.lsoa_vintage == "LSOA 2011 (converted)"
    assert checked.notes == received.notes and checked.conversions == received.conversions


def test_withdrawal_takes_the_conversions_out_too(setup, tmp_path):
    con, codes, _, (split, _, _) = setup
    keep = write(tmp_path / "in" / "keep.csv", NCMP_HEADER, child_rows(split, 10))
    gone = write(tmp_path / "in" / "gone.csv", NCMP_HEADER, child_rows(split, 20, 100))
    receive(keep, NCMP, con, codes, tmp_path / "home")
    verdict = receive(gone, NCMP, con, codes, tmp_path / "home")
    withdraw(con, verdict.sha256, "sent in error", "tester")
    left = con.execute(
        "select original_name, sum(rows_converted) from raw.lsoa_conversions group by 1"
    ).fetchall()
    assert left == [("keep.csv", 10)]


def test_shares_fall_back_to_iod_denominators_then_equal(demo_root, coventry, changes, tmp_path):
    split, (part_a, part_b) = changes["S"][0]
    con = lookups_warehouse(tmp_path / "w.duckdb", demo_root, coventry)
    equal = place_codes(con, coventry.name, coventry.code, coventry.lists, 2021)
    assert equal.conversion.changes[split].shares == [0.5, 0.5]
    assert equal.conversion.changes[split].weight_source == "equal shares"
    con.execute(
        "create table raw.mhclg_imd_lsoa (lsoa_code varchar, population_total integer, "
        "release varchar)"
    )
    con.executemany(
        "insert into raw.mhclg_imd_lsoa values (?, ?, 'IoD2025')", [(part_a, 1200), (part_b, 1800)]
    )
    iod = place_codes(con, coventry.name, coventry.code, coventry.lists, 2021)
    assert iod.conversion.changes[split].shares == pytest.approx([0.4, 0.6])
    assert iod.conversion.changes[split].weight_source == "IoD population denominators (IoD2025)"


def test_a_place_on_lsoa_2011_converts_nothing(demo_root, coventry, tmp_path):
    con = lookups_warehouse(tmp_path / "w.duckdb", demo_root, coventry)
    codes = place_codes(con, coventry.name, coventry.code, coventry.lists, 2011)
    assert codes.conversion is None and codes.lsoa11 == set()
    code = sorted(codes.lsoa)[0]
    path = write(tmp_path / "in" / "ncmp.csv", NCMP_HEADER, child_rows(code, 3))
    verdict = receive(path, NCMP, con, codes, tmp_path / "home")
    assert verdict.status == "loaded" and verdict.lsoa_vintage == "LSOA 2011"
    assert con.execute("select count(*) from raw.lsoa_conversions").fetchone()[0] == 0
