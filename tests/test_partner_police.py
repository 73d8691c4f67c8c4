"""Police street crime: data.police.uk monthly street files through the door, a revised month
in staging, and a 200 MB file streamed with bounded memory."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from helpers import csv_rows, inbox_bytes, inbox_files, write_csv

from marmot_assets.config import DBT_PROJECT_DIR
from marmot_assets.partners.contract import get_contract

CONTRACT = get_contract("police/street_crime")
HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
    "LSOA name,Crime type,Last outcome category,Context"
)
STAGING = DBT_PROJECT_DIR / "models" / "staging" / "police"


def write_month(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """A month file as data.police.uk writes it (Unix line ends)."""
    return write_csv(path, [header, *rows], lineterminator="\n")


def count(con, sql: str = "select count(*) from raw.police__street_crime") -> int:
    return con.execute(sql).fetchone()[0]


def staging_sql(name: str) -> str:
    """The staging model's SQL with its source and refs pointed at plain tables and views."""
    sql = (STAGING / f"{name}.sql").read_text()
    sql = re.sub(r"\{\{\s*source\('raw_police',\s*'(\w+)'\)\s*\}\}", r"raw.\1", sql)
    return re.sub(r"\{\{\s*ref\('(\w+)'\)\s*\}\}", r"\1", sql)


def test_demo_writes_twelve_real_format_month_files(demo_root):
    files = inbox_files(demo_root, CONTRACT)
    months = [f"2024-{m:02d}" for m in range(1, 13)]
    assert [p.name for p in files] == [f"{m}-west-midlands-street.csv" for m in months]
    for path in files:
        assert path.read_text(encoding="utf-8").splitlines()[0] == HEADER
    rows = csv_rows(files[0])[1:]
    kinds = {r[9] for r in rows}
    assert kinds <= set(CONTRACT.column("crime_type").allowed) and len(kinds) >= 12
    asb = [r for r in rows if r[9] == "Anti-social behaviour"]
    assert asb and all(r[0] == "" and r[10] == "" for r in asb)
    assert all(re.fullmatch(r"[0-9a-f]{64}", r[0]) for r in rows if r[9] != "Anti-social behaviour")
    assert any(r[6] == "No Location" and r[7] == "" and r[4] == "" for r in rows)
    # The force's file covers other places too.
    assert any(r[7].startswith("E0198") for r in rows)


def test_demo_is_deterministic(demo_root, demo_again):
    assert inbox_bytes(demo_again, CONTRACT) == inbox_bytes(demo_root, CONTRACT)


def test_demo_months_load_and_other_places_are_skipped(demo_root, door):
    con = door.con
    verdicts = door.receive_inbox(demo_root)
    assert {v.status for v in verdicts} == {"loaded"}
    for path, v in zip(inbox_files(demo_root, CONTRACT), verdicts, strict=True):
        rows = csv_rows(path)[1:]
        elsewhere = sum(r[7].startswith("E0198") for r in rows)
        assert elsewhere > 0
        assert (v.rows_read, v.rows_other_places, v.rows_quarantined) == (len(rows), elsewhere, 0)
        assert v.rows_accepted == len(rows) - elsewhere
    assert count(con) == sum(v.rows_accepted for v in verdicts)
    assert (
        count(con, "select count(*) from raw.police__street_crime where lsoa_code like 'E0198%'")
        == 0
    )
    assert count(con, "select count(distinct month) from raw.police__street_crime") == 12
    # No-location incidents load with no LSOA (staging leaves them out).
    assert (
        count(
            con,
            "select count(*) from raw.police__street_crime where lsoa_code is null "
            "and longitude is null and location = 'No Location'",
        )
        > 0
    )
    assert count(con, "select count(*) from raw.quarantine") == 0


def test_bad_rows_are_quarantined_with_row_and_column(demo_root, door, tmp_path):
    con = door.con
    good = [
        r for r in csv_rows(inbox_files(demo_root, CONTRACT)[0])[1:] if r[7].startswith("E0199")
    ][:3]
    template = good[0]

    def row(**changes):
        values = dict(zip(HEADER.split(","), template, strict=True))
        values.update(changes)
        return list(values.values())

    rows = good + [
        row(**{"Crime type": "Burglary - residential"}),  # row 5: not a data.police.uk type
        row(Latitude="fifty-two"),  # row 6: not a number
        row(**{"LSOA code": "E01ABC123"}),  # row 7: not an LSOA code
        row(Month="2024-13"),  # row 8: not a month
        row(**{"LSOA code": "E01980004"}),  # row 9: another place's: skipped
        row(**{"Reported by": "Kent Police"}),  # row 10: not the place's force
    ]
    path = write_month(tmp_path / "2024-02-west-midlands-street.csv", HEADER.split(","), rows)
    v = door.receive(path)
    assert v.status == "loaded_with_quarantine"
    assert (v.rows_read, v.rows_accepted, v.rows_quarantined, v.rows_other_places) == (9, 3, 5, 1)
    found = {(q["row_number"], q["column_name"]): q for q in v.quarantine}
    assert set(found) == {
        (5, "crime_type"),
        (6, "latitude"),
        (7, "lsoa_code"),
        (8, "month"),
        (10, "reported_by"),
    }
    assert found[(5, "crime_type")]["value"] == "Burglary - residential"
    assert "is not one of" in found[(5, "crime_type")]["reason"]
    assert "not a number" in found[(6, "latitude")]["reason"]
    assert "not an LSOA code" in found[(7, "lsoa_code")]["reason"]
    stored = con.execute(
        "select row_number, column_name from raw.quarantine "
        "where original_name = ? order by row_number",
        [path.name],
    ).fetchall()
    assert [r[0] for r in stored] == [5, 6, 7, 8, 10]


def test_missing_column_is_rejected_and_earlier_data_stays(demo_root, door, tmp_path):
    con = door.con
    first = door.receive(inbox_files(demo_root, CONTRACT)[0])
    assert first.status == "loaded"
    before = con.execute("select * from raw.police__street_crime order by _row_number").fetchall()

    header = HEADER.split(",")
    rows = [r[:9] + r[10:] for r in csv_rows(inbox_files(demo_root, CONTRACT)[1])[1:20]]
    path = write_month(
        tmp_path / "2024-02-west-midlands-street.csv", header[:9] + header[10:], rows
    )
    v = door.receive(path)
    assert v.status == "rejected"
    assert path.name in v.error and "crime_type" in v.error
    after = con.execute("select * from raw.police__street_crime order by _row_number").fetchall()
    assert after == before
    assert (
        con.execute(
            "select status from raw.landing_manifest where original_name = ?", [path.name]
        ).fetchone()[0]
        == "rejected"
    )


def test_a_month_with_only_other_places_rows_is_not_an_error(demo_root, door, tmp_path):
    rows = [
        r for r in csv_rows(inbox_files(demo_root, CONTRACT)[2])[1:] if r[7].startswith("E0198")
    ]
    path = write_month(tmp_path / "2024-03-west-midlands-street.csv", HEADER.split(","), rows)
    v = door.receive(path)
    assert (v.status, v.rows_accepted, v.rows_other_places) == ("loaded", 0, len(rows))


def test_staging_keeps_the_latest_file_of_each_month_and_counts_by_lsoa(demo_root, door, tmp_path):
    con = door.con
    january, february = inbox_files(demo_root, CONTRACT)[:2]
    door.receive(january)
    door.receive(february)
    # data.police.uk republishes January with updated outcomes and one incident fewer.
    rows = csv_rows(january)[1:]
    place_rows = [r for r in rows if r[7].startswith("E0199")]
    revised = [
        r[:10] + ["Offender given a caution" if r[0] else ""] + r[11:]
        for r in rows
        if r is not place_rows[0]
    ]
    time.sleep(0.01)  # a later receipt time
    (tmp_path / "revised").mkdir()
    path = write_month(tmp_path / "revised" / january.name, HEADER.split(","), revised)
    assert door.receive(path).status == "loaded"

    con.execute(
        "create view stg_police__street_crime as " + staging_sql("stg_police__street_crime")
    )
    con.execute(
        "create view stg_police__crimes_by_lsoa_month as "
        + staging_sql("stg_police__crimes_by_lsoa_month")
    )
    by_month = dict(
        con.execute("select month, count(*) from stg_police__street_crime group by 1").fetchall()
    )
    assert by_month["2024-01"] == len(place_rows) - 1
    assert by_month["2024-02"] == sum(r[7].startswith("E0199") for r in csv_rows(february)[1:])
    outcomes = {
        r[0]
        for r in con.execute(
            "select distinct last_outcome_category from stg_police__street_crime "
            "where month = '2024-01' and not is_anti_social_behaviour"
        ).fetchall()
    }
    assert outcomes == {"Offender given a caution"}
    total = con.execute("select sum(crimes) from stg_police__crimes_by_lsoa_month").fetchone()[0]
    assert total == len(place_rows) - 1 + by_month["2024-02"]
    # More incidents per LSOA in the most deprived ward than in the least deprived.
    per_lsoa = dict(
        con.execute(
            "select w.ward_name, sum(c.crimes) / count(distinct c.lsoa_code) "
            "from stg_police__crimes_by_lsoa_month c "
            "join raw.ons_lsoa_ward_lookup w using (lsoa_code) "
            "group by 1"
        ).fetchall()
    )
    assert per_lsoa["Foleshill"] > 2 * per_lsoa["Wainbody"]


# Run in a fresh interpreter so ru_maxrss measures this one delivery and nothing before it.
LARGE_FILE_SCRIPT = """
import csv, json, resource, sys
from pathlib import Path
import duckdb
from marmot_assets.config import load_place
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import place_codes, receive

big, lookup, home = map(Path, sys.argv[1:4])
place = load_place("E08000026")
con = duckdb.connect(str(home / "warehouse.duckdb"))
# DuckDB's buffer pool is the warehouse's memory, not the door's: bounded here as a deployment
# would bound it (past the limit DuckDB spills to disk), and its threads too (each thread keeps
# its own insert buffers, so a many-core runner would otherwise measure DuckDB, not the door).
con.execute("set memory_limit = '200MB'")
con.execute("set threads = 2")
con.execute("create schema raw")
con.execute("create table raw.ons_lsoa_ward_lookup (lsoa_code varchar, ward_code varchar)")
with lookup.open(newline="") as f:
    rows = [(r["LSOA21CD"], r["WD24CD"]) for r in csv.DictReader(f)]
con.executemany("insert into raw.ons_lsoa_ward_lookup values (?, ?)", rows)
codes = place_codes(con, place.name, place.code, place.lists)
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports and lookup
v = receive(big, get_contract("police/street_crime"), con, codes, home)
loaded = con.execute("select count(*) from raw.police__street_crime").fetchone()[0]
print(json.dumps({"status": v.status, "rows_read": v.rows_read, "accepted": v.rows_accepted,
                  "quarantined": v.rows_quarantined, "loaded": loaded, "before_mb": before,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def test_a_200_mb_file_streams_through_the_door_in_bounded_memory(
    demo_root, demo_lookup_file, tmp_path
):
    """Not a timing test: a whole-file read would need several GB here; the door's chunks
    keep what receiving adds to the process (DuckDB's 200 MB buffer pool included) under
    400 MB."""
    january = inbox_files(demo_root, CONTRACT)[0]
    lines = january.read_bytes().splitlines(keepends=True)
    block = b"".join(line for line in lines[1:] if b",E0199" in line)  # the place's rows
    copies = 200 * 1024 * 1024 // len(block) + 1
    big = tmp_path / january.name
    with big.open("wb") as f:
        f.write(lines[0])
        for copy in range(copies):  # each copy its own Crime IDs: one crime, one ID
            f.write(re.sub(rb"(?m)^[0-9a-f]{8}", b"%08x" % copy, block))
    assert big.stat().st_size > 200 * 1024 * 1024
    expected = block.count(b"\n") * copies

    started = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            LARGE_FILE_SCRIPT,
            str(big),
            str(demo_lookup_file),
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"200 MB delivery: {time.monotonic() - started:.0f} s, "
        f"peak RSS {outcome['peak_rss_mb']:.0f} MB, {outcome['before_mb']:.0f} MB before it"
    )
    assert outcome["status"] == "loaded"
    assert outcome["rows_read"] == outcome["accepted"] == outcome["loaded"] == expected
    assert outcome["quarantined"] == 0
    assert outcome["peak_rss_mb"] - outcome["before_mb"] < 400
