"""The door holds: no delivery lost, a poison file isolated, re-sends told the truth, links
never followed, plain messages. Each test drops real files (and real processes, links and
folders) into a real drop folder and runs the asset's own door loop on a real DuckDB file,
then checks the inbox, landing and the manifest agree by SHA-256."""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from marmot_assets.config import get_settings
from marmot_assets.partners.assets import inbox, receive_all
from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import check_file
from marmot_assets.partners.load import withdraw

HOUSING = get_contract("council_housing/temporary_accommodation")
POLICE = get_contract("police/street_crime")
HEADER = (
    "Ward code,Ward name,Quarter,Households in temporary accommodation,Households with children"
)
Q1 = ["E05001222,Foleshill,2024-25 Q1,40,25", "E05001231,Wainbody,2024-25 Q1,3,1"]
JOB_SHOP_HEADER = (
    "Client key,LSOA code,Ward code,Disability,Care leaver,Ex-offender,Refugee,Lone parent,"
    "Start date,Outcome,Outcome date"
)
EYFS_HEADER = (
    "LSOA code,LSOA name,Academic year,FSM status,Pupils assessed,"
    "Pupils reaching a good level of development"
)
LOG = logging.getLogger("test_door_holds")


@pytest.fixture
def home(marmot_home, monkeypatch):
    marmot_home.mkdir(parents=True, exist_ok=True)
    monkeypatch.setenv("MARMOT_INBOX_SETTLE_SECONDS", "0.2")
    get_settings.cache_clear()
    return marmot_home


def drop(contract, name: str, content: bytes | str) -> Path:
    folder = inbox(contract)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def csv_text(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def run_door(con, contract=HOUSING):
    time.sleep(0.25)  # older than the settle time: the files are whole
    verdicts, waiting = receive_all(contract, con, LOG)
    return {v.original_name: v for v in verdicts}, waiting


def manifest(con, contract=HOUSING):
    return con.execute(
        "select original_name, status, sha256, landing_path from raw.landing_manifest "
        "where partner = ? and dataset = ? order by received_at",
        [contract.partner, contract.dataset],
    ).fetchall()


def assert_landing_matches_manifest(home: Path, con) -> None:
    """Every landed file is whole (its name's SHA-256 is its content's) and has its manifest
    row; no temporary leftovers; every manifest landing path exists."""
    landed = [p for p in (home / "landing").rglob("*") if p.is_file()]
    assert not [p for p in landed if p.name.startswith(".incoming-")]
    recorded = {r[0] for r in con.execute("select sha256 from raw.landing_manifest").fetchall()}
    for path in landed:
        digest = path.name.split("__")[1]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == digest
        assert digest in recorded, path
        assert path.stat().st_mode & 0o777 == 0o400
    for (landing_path,) in con.execute(
        "select landing_path from raw.landing_manifest where landing_path is not null"
    ).fetchall():
        assert Path(landing_path).is_file()


def ta_rows(con):
    return con.execute(
        "select ward_code, quarter, households_in_ta "
        "from raw.council_housing__temporary_accommodation order by all"
    ).fetchall()


# --- nothing lost ----------------------------------------------------------------------------
WRITER = """
import sys, time
path, rows = sys.argv[1], int(sys.argv[2])
with open(path, "w") as f:
    f.write(sys.argv[3] + "\\n")
    for i in range(rows):  # one ward-quarter a row, a row every 0.1 s
        f.write(f"E0500{1218 + i % 18},Ward,20{10 + i}-{11 + i} Q1,{i + 1},0\\n")
        f.flush()
        time.sleep(0.1)
"""


def test_a_file_still_being_written_is_left_until_whole(home, warehouse, monkeypatch):
    con, _ = warehouse
    monkeypatch.setenv("MARMOT_INBOX_SETTLE_SECONDS", "1.0")
    get_settings.cache_clear()
    folder = inbox(HOUSING)
    folder.mkdir(parents=True)
    path = folder / "growing.csv"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "18", HEADER])
    try:
        time.sleep(0.5)  # the writer has written a few rows and goes on
        verdicts, waiting = receive_all(HOUSING, con, LOG)
        assert verdicts == [] and waiting == ["growing.csv: still being written"]
        assert path.exists() and manifest(con) == []
    finally:
        writer.wait(timeout=30)
    time.sleep(1.1)
    verdicts, waiting = receive_all(HOUSING, con, LOG)
    assert [(v.status, v.rows_accepted) for v in verdicts] == [("loaded", 18)]
    assert not path.exists() and waiting == []
    assert len(ta_rows(con)) == 18
    assert_landing_matches_manifest(home, con)


def test_a_done_marker_says_a_file_is_whole(home, warehouse, monkeypatch):
    con, _ = warehouse
    monkeypatch.setenv("MARMOT_INBOX_SETTLE_SECONDS", "3600")
    get_settings.cache_clear()
    drop(HOUSING, "q1.csv", csv_text(*Q1))
    drop(HOUSING, "q1.csv.done", "")
    verdicts, _ = receive_all(HOUSING, con, LOG)
    assert [v.status for v in verdicts] == ["loaded"]
    assert list(inbox(HOUSING).iterdir()) == []  # the marker leaves with its file


def test_a_file_without_a_final_newline_says_so(home, warehouse):
    con, _ = warehouse
    drop(HOUSING, "short.csv", csv_text(*Q1).rstrip("\n"))
    verdicts, _ = run_door(con)
    assert "does not end with a line break" in " ".join(verdicts["short.csv"].notes)
    notes = con.execute(
        "select notes from raw.landing_manifest where original_name = 'short.csv'"
    ).fetchone()[0]
    assert "does not end with a line break" in notes


def test_a_control_file_is_required_and_judged(home, warehouse):
    con, _ = warehouse
    contract = HOUSING.model_copy(update={"control_file": True})
    good = csv_text(*Q1)
    digest = hashlib.sha256(good.encode()).hexdigest()
    drop(contract, "q1.csv", good)
    verdicts, waiting = run_door(con, contract)
    assert verdicts == {} and waiting == ["q1.csv: waiting for its control file"]
    drop(contract, "q1.csv.control", f"rows: 3\nsha256: {digest}\n")
    verdicts, _ = run_door(con, contract)
    assert verdicts["q1.csv"].status == "rejected"
    assert "2 data rows, its control file says 3" in verdicts["q1.csv"].error
    drop(contract, "q1b.csv", good.replace("40", "41"))
    drop(contract, "q1b.csv.control", f"rows: 2\nsha256: {digest}\n")
    drop(contract, "q1c.csv", good + "\n")
    drop(
        contract,
        "q1c.csv.control",
        f"rows: 2\nsha256: {hashlib.sha256((good + chr(10)).encode()).hexdigest()}\n",
    )
    verdicts, _ = run_door(con, contract)
    assert "SHA-256 is not the control file's" in verdicts["q1b.csv"].error
    assert verdicts["q1c.csv"].status == "loaded"
    assert list(inbox(contract).iterdir()) == []
    assert_landing_matches_manifest(home, con)


def test_a_full_landing_disk_leaves_files_in_the_inbox(home, warehouse, monkeypatch):
    con, _ = warehouse
    monkeypatch.setenv("MARMOT_LANDING_RESERVE_MB", str(10**9))  # no disk has that much free
    get_settings.cache_clear()
    first, second = drop(HOUSING, "q1.csv", csv_text(*Q1)), drop(HOUSING, "q2.csv", csv_text())
    verdicts, waiting = run_door(con)
    assert verdicts == {} and len(waiting) == 1 and "no room to land q" in waiting[0]
    assert first.exists() and second.exists() and manifest(con) == []
    assert not [p for p in (home / "landing").rglob("*") if p.is_file()]
    monkeypatch.delenv("MARMOT_LANDING_RESERVE_MB")
    get_settings.cache_clear()
    verdicts, _ = run_door(con)
    assert verdicts["q1.csv"].status == "loaded" and not first.exists()
    assert_landing_matches_manifest(home, con)


def test_a_leftover_incoming_file_is_cleaned(home, warehouse):
    con, _ = warehouse
    folder = home / "landing" / HOUSING.partner / HOUSING.dataset
    folder.mkdir(parents=True)
    (folder / ".incoming-abc123").write_bytes(b"half a file")
    drop(HOUSING, "q1.csv", csv_text(*Q1))
    run_door(con)
    assert not (folder / ".incoming-abc123").exists()
    assert_landing_matches_manifest(home, con)


# --- a poison file is isolated ---------------------------------------------------------------
def test_a_huge_field_is_rejected_and_the_next_file_proceeds(home, warehouse):
    con, _ = warehouse
    contract, header = get_contract("council_job_shop/clients"), JOB_SHOP_HEADER
    wide = header + "\n" + "a" * 64 + ',E01990001,,"' + "x" * 200_000 + '",No\n'
    drop(contract, "a_wide_field.csv", wide)  # over csv's 131,072: a row, read and judged
    poison = header + "\n" + "a" * 64 + ',E01990001,,"' + "x" * 1_200_000  # never closed
    drop(contract, "a_poison.csv", poison)
    time.sleep(0.05)
    drop(contract, "b_good.csv", header + "\n" + "b" * 64 + ",,E05001222,No,No,No,No,No,"
         "01/04/2024,None,\n")  # fmt: skip
    verdicts, _ = run_door(con, contract)
    assert verdicts["a_wide_field.csv"].status == "rejected"
    assert {q["row_number"] for q in verdicts["a_wide_field.csv"].quarantine} == {2}
    assert verdicts["a_poison.csv"].status == "rejected"
    assert "row 2" in verdicts["a_poison.csv"].error
    assert "longer than 1,000,000 characters" in verdicts["a_poison.csv"].error
    assert verdicts["b_good.csv"].status == "loaded"
    assert list(inbox(contract).iterdir()) == []  # set aside, not left to fail again


def test_a_month_reusing_crime_ids_is_quarantined(home, warehouse, demo_lookup):
    con, _ = warehouse
    lsoa = demo_lookup[0][get_settings().place_config.geography.lsoa_field]
    header = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context"
    )
    ids = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(3)]

    def month(m: str, crime_ids) -> str:
        rows = [
            f"{c},{m},West Midlands Police,West Midlands Police,-1.5,52.4,On or near X,{lsoa},"
            f"Coventry 001A,Burglary,Under investigation,"
            for c in crime_ids
        ]
        return "\n".join([header, *rows]) + "\n"

    drop(POLICE, "2024-01.csv", month("2024-01", ids[:2]))
    run_door(con, POLICE)
    drop(POLICE, "2024-02.csv", month("2024-02", [ids[1], ids[2], ids[2]]))
    verdicts, _ = run_door(con, POLICE)
    verdict = verdicts["2024-02.csv"]
    assert (verdict.status, verdict.rows_accepted, verdict.rows_quarantined) == (
        "loaded_with_quarantine", 1, 2,
    )  # fmt: skip
    reasons = [r[0] for r in con.execute(
        "select reason from raw.quarantine where original_name = '2024-02.csv' order by row_number"
    ).fetchall()]  # fmt: skip
    assert reasons == ["crime_id already delivered in 2024-01.csv", "crime_id repeats row 3"]
    # The same month sent again replaces itself: its IDs are not "already delivered".
    drop(POLICE, "2024-01-revised.csv", month("2024-01", ids[:2]).replace("Burglary", "Robbery"))
    verdicts, _ = run_door(con, POLICE)
    assert verdicts["2024-01-revised.csv"].status == "loaded"
    assert verdicts["2024-01-revised.csv"].rows_replaced == 2
    counts = con.execute(
        "select crime_id, count(*) from raw.police__street_crime group by 1"
    ).fetchall()
    assert all(n == 1 for _, n in counts)


def test_a_delivery_can_be_withdrawn(home, warehouse):
    con, _ = warehouse
    drop(HOUSING, "q1.csv", csv_text(*Q1))
    verdicts, _ = run_door(con)
    sha = verdicts["q1.csv"].sha256
    landed = Path(verdicts["q1.csv"].landing_path)
    verdict = withdraw(con, sha[:12], reason="wrong quarter", actor="housing-team")
    assert verdict.rows_replaced == 2 and ta_rows(con) == []
    status, actor, error = con.execute(
        "select status, actor, error from raw.landing_manifest order by received_at desc limit 1"
    ).fetchone()
    assert (status, actor, error) == ("withdrawn", "housing-team", "wrong quarter")
    assert landed.read_bytes() == csv_text(*Q1).encode()  # the bytes stay for audit
    with pytest.raises(LookupError):
        withdraw(con, sha[:12], reason="again", actor=None)
    drop(HOUSING, "q1-again.csv", csv_text(*Q1))  # the same bytes, sent again: judged again
    verdicts, _ = run_door(con)
    assert verdicts["q1-again.csv"].status == "loaded" and len(ta_rows(con)) == 2


# --- re-sends tell the truth -----------------------------------------------------------------
def test_a_rejected_file_sent_again_is_judged_again(home, warehouse):
    con, _ = warehouse
    bad = csv_text(*Q1, header=HEADER.replace("Quarter", "Qtr"))
    drop(HOUSING, "q1.csv", bad)
    verdicts, _ = run_door(con)
    assert verdicts["q1.csv"].status == "rejected"
    drop(HOUSING, "q1.csv", bad)
    verdicts, _ = run_door(con)
    assert verdicts["q1.csv"].status == "rejected"  # not "duplicate"
    assert "missing column(s) ['quarter']" in verdicts["q1.csv"].error


def test_a_revised_period_replaces_the_old_delivery_whole(home, warehouse):
    con, _ = warehouse
    drop(HOUSING, "q1.csv", csv_text(*Q1, "E05001218,Bablake,2024-25 Q2,7,4"))
    run_door(con)
    drop(HOUSING, "q1-revised.csv", csv_text("E05001222,Foleshill,2024-25 Q1,42,25"))
    verdicts, _ = run_door(con)
    assert verdicts["q1-revised.csv"].rows_replaced == 2  # Wainbody's row is withdrawn
    assert ta_rows(con) == [("E05001218", "2024-25 Q2", 7), ("E05001222", "2024-25 Q1", 42)]


# --- links, folders and odd names ------------------------------------------------------------
def test_links_and_folders_are_refused_never_followed(home, warehouse, tmp_path, caplog):
    con, _ = warehouse
    outside = tmp_path / "outside.csv"
    outside.write_text(csv_text(*Q1))
    folder = inbox(HOUSING)
    folder.mkdir(parents=True)
    (folder / "passwd.csv").symlink_to("/etc/passwd")
    (folder / "outside.csv").symlink_to(outside)
    (folder / "a folder.csv").mkdir()
    with caplog.at_level(logging.INFO):
        verdicts, _ = run_door(con)
    assert {n: v.status for n, v in verdicts.items()} == {
        "passwd.csv": "rejected", "outside.csv": "rejected", "a folder.csv": "rejected",
    }  # fmt: skip
    assert "symbolic link" in verdicts["passwd.csv"].error
    assert "a folder" in verdicts["a folder.csv"].error
    assert ta_rows(con) == [] and outside.read_text() == csv_text(*Q1)
    assert "root:" not in caplog.text
    assert not [p for p in (home / "landing").rglob("*") if p.is_file()]
    assert list(folder.iterdir()) == []
    set_aside = home / "set_aside" / HOUSING.partner / HOUSING.dataset
    assert [p.name.split("__")[1] for p in set_aside.iterdir()] == ["a_folder.csv"]


def test_every_name_is_received_or_reported(home, warehouse, monkeypatch):
    con, _ = warehouse
    drop(HOUSING, "..two dots.csv", csv_text(*Q1))
    drop(HOUSING, "ünïcode name, with spaces.csv", csv_text("E05001218,Bablake,2024-25 Q2,7,4"))
    stale = drop(HOUSING, ".unfinished.csv", csv_text())
    os.utime(stale, (time.time() - 2 * 86400,) * 2)
    drop(HOUSING, ".in-progress.csv.part", "Ward")
    verdicts, _ = run_door(con)
    assert verdicts["..two dots.csv"].status == "loaded"
    assert verdicts["ünïcode name, with spaces.csv"].status == "loaded"
    assert "unfinished transfer" in verdicts[".unfinished.csv"].error
    assert [p.name for p in inbox(HOUSING).iterdir()] == [".in-progress.csv.part"]


# --- plain messages --------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, content, words",
    [
        ("zipped.csv", "zip", "a ZIP archive"),
        ("semicolons.csv", csv_text(*Q1).replace(",", ";"), "separated by semicolons"),
        ("tabs.csv", csv_text(*Q1).replace(",", "\t"), "separated by tabs"),
        ("report.pdf.csv", b"%PDF-1.7\n binary", "a PDF document"),
    ],
)
def test_wrong_kinds_of_file_are_named(home, warehouse, tmp_path, name, content, words):
    con, _ = warehouse
    if content == "zip":
        import zipfile

        archive = tmp_path / "a.zip"
        with zipfile.ZipFile(archive, "w") as z:
            z.writestr("q1.csv", csv_text(*Q1))
        content = archive.read_bytes()
    drop(HOUSING, name, content)
    verdicts, _ = run_door(con)
    assert verdicts[name].status == "rejected" and words in verdicts[name].error


def test_utf16_from_excel_is_read(home, warehouse):
    con, _ = warehouse
    drop(HOUSING, "unicode.csv", csv_text(*Q1).encode("utf-16"))
    verdicts, _ = run_door(con)
    assert verdicts["unicode.csv"].status == "loaded" and len(ta_rows(con)) == 2
    assert "UTF-16" in " ".join(verdicts["unicode.csv"].notes)


def test_a_file_on_lsoa_2011_codes_is_converted_and_other_codes_named(
    home, warehouse, demo_root, coventry
):
    """The place is on LSOA 2021: a file on LSOA 2011 codes is converted (the verdict says so);
    a file on codes of neither vintage is named plainly, with the place's vintage."""
    from marmot_assets.demo.publishers.ons import CHANGES_FILE
    from marmot_assets.sources.ons import parse_changes_csv

    con, _ = warehouse
    changes = parse_changes_csv(demo_root / "demo" / CHANGES_FILE, coventry)  # noqa: F841
    con.execute("create table raw.ons_lsoa11_lsoa21_lookup as select * from changes")
    contract, header = get_contract("council_education/eyfs_results"), EYFS_HEADER
    old = sorted(set(changes["lsoa11_code"]) - set(changes["lsoa21_code"]))
    rows = [f"{code},Coventry {i},2023/24,FSM,10,5" for i, code in enumerate(old)]
    drop(contract, "lsoa11.csv", "\n".join([header, *rows]) + "\n")
    foreign = [f"E0103{4000 + i},Coventry {i},2023/24,FSM,10,5" for i in range(199)]
    drop(contract, "elsewhere.csv", "\n".join([header, *foreign]) + "\n")
    verdicts, _ = run_door(con, contract)
    converted = verdicts["lsoa11.csv"]
    assert converted.status == "loaded" and converted.lsoa_vintage == "LSOA 2011 (converted)"
    assert f"LSOA 2011 codes: {len(old)} rows converted to LSOA 2021" in " ".join(converted.notes)
    assert con.execute(
        "select lsoa_vintage from raw.landing_manifest where original_name = 'lsoa11.csv'"
    ).fetchall() == [("LSOA 2011 (converted)",)]
    elsewhere = verdicts["elsewhere.csv"]
    assert elsewhere.status == "rejected" and elsewhere.lsoa_vintage is None
    assert "none of the 199 rows has an LSOA code of Coventry" in elsewhere.error
    assert "the place is on LSOA 2021 and LSOA 2011 codes are converted" in elsewhere.error
    assert "(LSOA 2011)" not in elsewhere.error


def test_check_file_gives_the_doors_verdict(home, warehouse, capsys):
    con, codes = warehouse
    path = drop(HOUSING, "q1.csv", csv_text(*Q1, "E05009999,Nowhere,2024-25 Q1,1,1"))
    checked = check_file(path, HOUSING, codes)
    verdicts, _ = run_door(con)
    received = verdicts["q1.csv"]
    assert (checked.status, checked.rows_read, checked.rows_accepted, checked.rows_quarantined) == (
        received.status, received.rows_read, received.rows_accepted, received.rows_quarantined,
    )  # fmt: skip
    assert checked.quarantine == received.quarantine


def test_an_identifier_in_a_file_name_is_never_recorded(home, warehouse, caplog):
    con, _ = warehouse
    name = "q1 for 943 476 5919.csv"  # an NHS number (modulus 11 valid) in the name
    drop(HOUSING, name, csv_text(*Q1))
    with caplog.at_level(logging.INFO):
        verdicts, _ = run_door(con)
    [verdict] = verdicts.values()
    assert verdict.original_name == f"{verdict.sha256}.csv" and verdict.status == "loaded"
    recorded = str(con.execute("select * from raw.landing_manifest").fetchall())
    landed = " ".join(str(p) for p in (home / "landing").rglob("*"))
    for text in (recorded, landed, caplog.text):
        assert "5919" not in text


def test_landing_is_readable_by_the_platform_only(home, warehouse):
    con, _ = warehouse
    drop(HOUSING, "q1.csv", csv_text(*Q1))
    run_door(con)
    assert (home / "landing").stat().st_mode & 0o777 == 0o700
    for path in (home / "landing").rglob("*"):
        assert path.stat().st_mode & 0o777 == (0o400 if path.is_file() else 0o700)


# --- the commands: check-file while a refresh holds the warehouse; withdraw ------------------
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""


def marmot(*args: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MARMOT_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "marmot_assets.cli", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_check_file_while_the_warehouse_is_held_uses_the_landed_lookup(
    home, demo_lookup_file, tmp_path
):
    lookup = home / "landing" / "ons" / "geography"
    lookup.mkdir(parents=True)
    (lookup / "20261201T000000Z__ab__lsoa_ward_lad_lookup.csv").write_bytes(
        demo_lookup_file.read_bytes()
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home / "warehouse.duckdb")], stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout.readline().strip() == b"holding"
        path = tmp_path / "q1.csv"
        path.write_text(csv_text(*Q1, "E05009999,Nowhere,2024-25 Q1,1,1"))
        result = marmot("check-file", HOUSING.name, str(path), home=home)
    finally:
        holder.kill()
        holder.wait()
    assert result.returncode == 1, result.stderr
    assert "would load with quarantine" in result.stdout
    assert "rows read 3, accepted 2, quarantined 1" in result.stdout
    assert "checked against the landed ONS lookup" in result.stdout
    assert "row 4, column 'ward_code': is not a ward of Coventry" in result.stdout


def test_marmot_withdraw_records_who_and_why(home, demo_lookup, coventry):
    import duckdb

    from marmot_assets.partners.door import place_codes, receive

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("create schema raw; create table raw.ons_lsoa_ward_lookup as "
                    "select 'E01990001' as lsoa_code, 'E05001222' as ward_code")  # fmt: skip
        codes = place_codes(con, coventry.name, coventry.code, coventry.lists)
        verdict = receive(drop(HOUSING, "q1.csv", csv_text(*Q1)), HOUSING, con, codes, home)
    assert verdict.rows_accepted == 1  # only Foleshill is in this small lookup
    result = marmot("withdraw", verdict.sha256[:10], "--reason", "sent twice", "--by", "ops",
                    home=home)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1 rows out of raw, by ops: sent twice" in result.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute(
            "select status, actor, error from raw.landing_manifest order by received_at"
        ).fetchall() == [("loaded_with_quarantine", None, None), ("withdrawn", "ops", "sent twice")]
        assert ta_rows(con) == []
    again = marmot("withdraw", verdict.sha256[:10], "--reason", "again", home=home)
    assert again.returncode == 2 and "no accepted delivery" in again.stderr
