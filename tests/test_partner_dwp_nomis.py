"""DWP claimant count via Nomis (NM_162_1): demo files and the live fetcher against a real
HTTP server on 127.0.0.1, both through the door."""

from __future__ import annotations

import csv
import io
import re

import pytest
from helpers import csv_rows, inbox_bytes, inbox_files, render_model_sql

from marmot_assets.config import DBT_PROJECT_DIR, get_settings
from marmot_assets.partners import nomis
from marmot_assets.partners.assets import fetch_into_inbox
from marmot_assets.partners.contract import get_contract
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.http import make_session

CONTRACT = get_contract("dwp_nomis/claimant_count")
PATH = "/api/v01/dataset/NM_162_1.data.csv"
STAGING = DBT_PROJECT_DIR / "models" / "staging" / "dwp_nomis" / "stg_dwp_nomis__claimant_count.sql"


def nomis_csv(rows: list[list[str]], header: list[str] = nomis.COLUMNS) -> bytes:
    """A reply as Nomis writes it: every field quoted."""
    buffer = io.StringIO()
    out = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)
    return buffer.getvalue().encode()


def demo_rows(demo_root, n: int) -> list[list[str]]:
    """The first n rows of the first demo month."""
    return csv_rows(inbox_files(demo_root, CONTRACT)[0])[1 : n + 1]


@pytest.fixture
def nomis_server(http_server, monkeypatch):
    monkeypatch.setenv("MARMOT_NOMIS_URL", http_server.base_url + PATH)
    get_settings.cache_clear()
    return http_server


def test_demo_writes_monthly_nomis_csv(demo_root):
    files = inbox_files(demo_root, CONTRACT)
    assert [p.name for p in files] == [f"NM_162_1_E08000026_2024-{m:02d}.csv" for m in range(1, 13)]
    lines = files[0].read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(f'"{c}"' for c in nomis.COLUMNS)
    assert all(re.fullmatch(r'"[^"]*"(,"[^"]*")*', line) for line in lines)  # all quoted
    rows = list(csv.reader(lines[1:]))
    assert {r[7] for r in rows} == {
        "Claimant count",
        "Claimants as a proportion of residents aged 16-64",
    }
    assert all(int(r[9]) % 5 == 0 for r in rows if r[7] == "Claimant count")


def test_demo_is_deterministic(demo_root, demo_again):
    assert inbox_bytes(demo_again, CONTRACT) == inbox_bytes(demo_root, CONTRACT)


def test_demo_months_load_and_staging_pivots_with_a_gradient(demo_root, demo_lookup_file, door):
    con = door.con
    verdicts = door.receive_inbox(demo_root)
    lsoas = len(door.codes.lsoa)
    assert {v.status for v in verdicts} == {"loaded"}
    assert [v.rows_accepted for v in verdicts] == [2 * lsoas] * 12
    source = render_model_sql(
        STAGING, {"dwp_nomis__claimant_count": "raw.dwp_nomis__claimant_count"}
    )
    con.execute(f"create view staged as {source}")
    assert con.execute(
        "select count(*), count(claimants), count(claimants_percent_of_residents_16_64) from staged"
    ).fetchone() == (12 * lsoas, 12 * lsoas, 12 * lsoas)
    # Claimant rates are higher where deprivation is: Foleshill against Wainbody.
    con.execute("create table wards as select * from read_csv(?)", [str(demo_lookup_file)])
    rates = dict(
        con.execute(
            "select w.WD24NM, avg(s.claimants_percent_of_residents_16_64) from staged s "
            "join wards w on w.LSOA21CD = s.lsoa_code group by 1"
        ).fetchall()
    )
    assert rates["Foleshill"] > 2 * rates["Wainbody"]


def test_live_fetch_pages_by_recordoffset(
    demo_root, coventry, door, nomis_server, monkeypatch, tmp_path
):
    monkeypatch.setattr(nomis, "PAGE_ROWS", 4)
    rows = demo_rows(demo_root, 9)
    nomis_server.route(
        PATH,
        (200, {}, nomis_csv(rows[:4])),
        (200, {}, nomis_csv(rows[4:8])),
        (200, {}, nomis_csv(rows[8:])),
    )
    [(name, body)] = nomis.fetch_claimant_count(make_session(), coventry, CONTRACT)

    queries = nomis_server.requests[PATH]
    assert [q["recordoffset"] for q in queries] == [["0"], ["4"], ["8"]]
    first = queries[0]
    assert first["geography"] == ["E08000026TYPE151"]  # the place's 2021 LSOAs
    assert first["select"] == [",".join(nomis.COLUMNS)]
    assert (first["measure"], first["measures"], first["gender"], first["age"]) == (
        ["1,2"],
        ["20100"],
        ["0"],
        ["0"],
    )
    assert first["date"] == ["latestMINUS11-latest"]
    assert body == nomis_csv(rows)  # one header, the pages' rows in order
    assert re.fullmatch(r"NM_162_1_E08000026_[0-9a-f]{12}\.csv", name)

    path = tmp_path / name
    path.write_bytes(body)
    v = door.receive(path)
    assert (v.status, v.rows_accepted) == ("loaded", 9)


def test_live_fetch_retries_a_server_error(demo_root, coventry, nomis_server):
    rows = demo_rows(demo_root, 2)
    nomis_server.route(PATH, (500, {}, b"Internal Server Error"), (200, {}, nomis_csv(rows)))
    [(_, body)] = nomis.fetch_claimant_count(make_session(), coventry, CONTRACT)
    assert body == nomis_csv(rows)
    assert len(nomis_server.requests[PATH]) == 2


def test_live_fetch_gives_up_on_a_lasting_error(coventry, nomis_server):
    nomis_server.route(PATH, (503, {}, b"Service Unavailable"))
    with pytest.raises(SourceFileError, match="HTTP 503"):
        nomis.fetch_claimant_count(make_session(retries=2), coventry, CONTRACT)


def test_live_fetch_through_the_asset_path_and_a_changed_header_is_rejected(
    demo_root, door, nomis_server, marmot_home
):
    """fetch_into_inbox resolves the contract's fetcher; the door rejects a reshaped reply."""
    header = [("VALUE" if c == "OBS_VALUE" else c) for c in nomis.COLUMNS]
    nomis_server.route(PATH, (200, {}, nomis_csv(demo_rows(demo_root, 3), header)))
    [path] = fetch_into_inbox(CONTRACT)
    assert path.parent == get_settings().home / "inbox" / "dwp_nomis" / "claimant_count"
    v = door.receive(path)
    assert v.status == "rejected"
    assert path.name in v.error and "obs_value" in v.error


def test_bad_rows_quarantined_and_earlier_data_unchanged(demo_root, door, tmp_path):
    assert door.receive(inbox_files(demo_root, CONTRACT)[0]).status == "loaded"
    before = door.rows("select * from raw.dwp_nomis__claimant_count order by all")

    good = demo_rows(demo_root, 2)
    month = [["2024-02", "February 2024", *r[2:]] for r in good]
    other_place = [*month[0][:2], "E01980001", "Birmingham 001A", *month[0][4:]]
    negative = [*month[1][:5], "Male", *month[1][6:9], "-5"]
    duplicate = list(month[0])
    path = tmp_path / "NM_162_1_E08000026_2024-02.csv"
    path.write_bytes(nomis_csv([*month, other_place, negative, duplicate]))
    v = door.receive(path)
    assert v.status == "loaded_with_quarantine"
    assert (v.rows_read, v.rows_accepted, v.rows_quarantined) == (5, 2, 3)
    found = {(q["row_number"], q["column_name"]): q["reason"] for q in v.quarantine}
    assert "lsoa of coventry" in found[(4, "geography_code")].lower()
    assert "below the minimum" in found[(5, "obs_value")]
    assert "duplicates row 2" in found[(6, None)]
    after = door.rows(
        "select * from raw.dwp_nomis__claimant_count where _sha256 <> ? order by all", v.sha256
    )
    assert after == before


def test_geography_type_follows_the_lookup_vintage(coventry):
    place = coventry
    assert nomis.lsoa_type(place) == "TYPE151"
    lsoa11 = place.model_copy(
        update={
            "geography": place.geography.model_copy(
                update={"vintage": "LSOA11_WD19_LAD19", "lsoa_field": "LSOA11CD"}
            )
        }
    )
    assert nomis.query(lsoa11)["geography"] == "E08000026TYPE298"
