"""The door on every class of bad input: nothing lost, nothing damaged, the problem named.

Uses the council housing contract (ward, quarter, two counts, numerator <= denominator) and a
real DuckDB file holding the place's real ward and LSOA codes (ONS lookup in ../shared).
"""

from __future__ import annotations

import hashlib

import duckdb
import openpyxl
import pytest
from helpers import PartnerDoor

from marmot_assets.partners.contract import get_contract
from marmot_assets.partners.door import check_file, place_codes

CONTRACT = get_contract("council_housing/temporary_accommodation")
HEADER = (
    "Ward code,Ward name,Quarter,Households in temporary accommodation,Households with children"
)
GOOD = [
    "E05001222,Foleshill,2024-25 Q1,40,25",
    "E05001231,Wainbody,2024-25 Q1,3,1",
    "E05001218,Bablake,2024-25 Q1,7,4",
]


class Door(PartnerDoor):
    """The door for temporary accommodation, files sent to it by name and content."""

    def send(self, name, content, encoding="utf-8"):
        path = self.home / "inbox" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return self.receive(path)

    def loaded(self):
        return self.rows(
            "select ward_code, quarter, households_in_ta, households_with_children "
            f"from raw.{self.contract.table} order by all"
        )

    def raw_tables(self):
        return sorted(
            r[0]
            for r in self.rows(
                "select table_name from information_schema.tables where table_schema = 'raw'"
            )
        )

    def manifest(self):
        return self.rows(
            "select original_name, status, rows_read, rows_accepted, rows_quarantined, error "
            "from raw.landing_manifest order by received_at"
        )


@pytest.fixture
def door(tmp_path, reference, coventry):
    """The door in front of a warehouse holding the place's real ONS lookup (../shared)."""
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute("create schema raw")
    lookup = reference / "geography/LSOA11_to_WD19_to_LAD19__Coventry_E08000026.csv"
    con.execute(
        "create table raw.ons_lsoa_ward_lookup as select LSOA11CD as lsoa_code, "
        f"WD19CD as ward_code, LAD19CD as lad_code from read_csv('{lookup}', all_varchar=true)"
    )
    codes = place_codes(con, coventry.name, coventry.code, coventry.lists, lsoa_year=2011)
    yield Door(con, codes, tmp_path, CONTRACT)
    con.close()


def csv_text(*lines, header=HEADER):
    return "\n".join([header, *lines]) + "\n"


def test_good_file_loads_and_is_landed_byte_for_byte(door):
    verdict = door.send("q1.csv", csv_text(*GOOD))
    assert (verdict.status, verdict.rows_read, verdict.rows_accepted) == ("loaded", 3, 3)
    assert door.loaded()[0] == ("E05001218", "2024-25 Q1", 7, 4)
    landed = door.home / "landing" / "council_housing" / "temporary_accommodation"
    [copy] = list(landed.iterdir())
    assert copy.read_bytes() == csv_text(*GOOD).encode()
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == verdict.sha256 in copy.name
    assert not copy.stat().st_mode & 0o222  # read-only


def test_same_file_twice_is_a_duplicate_and_not_loaded_again(door):
    door.send("q1.csv", csv_text(*GOOD))
    again = door.send("q1-resent.csv", csv_text(*GOOD))
    assert again.status == "duplicate"
    assert len(door.loaded()) == 3
    assert [m[1] for m in door.manifest()] == ["loaded", "duplicate"]


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("empty.csv", "", "empty"),
        ("blank.csv", "\n\n  \n", "empty"),
        ("header-only.csv", csv_text(), "no data rows"),
        ("not-csv.csv", b"\x00\x01\x02binary\x00", "not a text file"),
        (
            "missing.csv",
            csv_text("E05001222,Foleshill,2024-25 Q1,40", header=HEADER.rsplit(",", 1)[0]),
            "missing column(s) ['households_with_children']",
        ),
        (
            "renamed.csv",
            csv_text(*GOOD, header=HEADER.replace("Quarter", "Qtr")),
            "missing column(s) ['quarter']",
        ),
        ("truncated.csv", csv_text(*GOOD)[:-12], "truncated"),
    ],
)
def test_structural_problems_reject_the_file_and_keep_good_data(door, name, content, problem):
    door.send("q1.csv", csv_text(*GOOD))
    before = door.loaded()
    verdict = door.send(name, content)
    assert verdict.status == "rejected"
    assert problem in verdict.error and name in verdict.error
    assert door.loaded() == before
    assert door.manifest()[-1][:2] == (name, "rejected")
    [kept] = list((door.home / "landing").rglob(f"*{name}"))  # refused, yet kept as received
    assert kept.read_bytes() == (content if isinstance(content, bytes) else content.encode())


def test_truncated_file_names_the_row(door):
    verdict = door.send("cut.csv", csv_text(*GOOD)[:-6])
    assert verdict.error.startswith("file cut.csv, row 4:")


def test_extra_and_reordered_columns_are_fine(door):
    header = (
        "Households with children,Notes,Quarter,Ward code,Households in temporary accommodation"
    )
    verdict = door.send(
        "reordered.csv", csv_text("25,checked,2024-25 Q1,E05001222,40", header=header)
    )
    assert verdict.status == "loaded"
    assert door.loaded() == [("E05001222", "2024-25 Q1", 40, 25)]


def test_bad_rows_are_quarantined_with_row_and_column_and_the_rest_loads(door):
    verdict = door.send(
        "mixed.csv",
        csv_text(
            GOOD[0],
            "E05001231,Wainbody,2024-25 Q1,3,9",  # row 3: numerator > denominator
            "E05001218,Bablake,2024-25 Q1,-2,0",  # row 4: negative count
            "E01009526,Bablake,2024-25 Q1,7,4",  # row 5: an LSOA where a ward belongs
            "E05000001,Elsewhere,2024-25 Q1,7,4",  # row 6: a ward of another place
            "E05001219,Binley,2024-25 Q1,seven,4",  # row 7: wrong type
            GOOD[0],  # row 8: duplicate of row 2
            "E05001220,Cheylesmore,2024-25 Q1,5",  # row 9: too few fields
        ),
    )
    assert (verdict.status, verdict.rows_read, verdict.rows_accepted, verdict.rows_quarantined) == (
        "loaded_with_quarantine",
        8,
        1,
        7,
    )
    assert door.loaded() == [("E05001222", "2024-25 Q1", 40, 25)]
    quarantine = door.quarantine("mixed.csv")
    assert (3, "households_with_children", "is greater than households_in_ta", "9") in quarantine
    assert (4, "households_in_ta", "is below the minimum 0", "-2") in quarantine
    assert (5, "ward_code", "is not a ward code", "E01009526") in quarantine
    assert (6, "ward_code", "is not a ward of Coventry", "E05000001") in quarantine
    assert (7, "households_in_ta", "is not a whole number", "seven") in quarantine
    assert (8, None, "duplicates row 2 (ward_code, quarter)", None) in quarantine
    assert (9, None, "row has the wrong number of fields", None) in quarantine


def test_utf8_bom_and_windows_1252_text(door):
    bom = door.send("bom.csv", "\ufeff" + csv_text(GOOD[0]))
    assert bom.status == "loaded"
    cp1252 = door.send(
        "excel.csv", csv_text("E05001228,St Michael’s,2024-25 Q2,12,5"), encoding="cp1252"
    )
    assert cp1252.status == "loaded"
    assert ("E05001228", "2024-25 Q2", 12, 5) in door.loaded()


def test_excel_with_notes_rows_and_extra_sheets(door, tmp_path):
    book = openpyxl.Workbook()
    about = book.active
    about.title = "About"
    about.append(["Temporary accommodation return, prepared by Housing"])
    data = book.create_sheet("TA by ward")
    data.append(["H-CLIC extract: households in TA at quarter end"])
    data.append(["Source: case management system"])
    data.append(HEADER.split(","))
    for line in GOOD:
        ward, name, quarter, total, children = line.split(",")
        data.append([ward, name, quarter, int(total), int(children)])
    path = tmp_path / "ta.xlsx"
    book.save(path)
    verdict = door.send("ta.xlsx", path.read_bytes())
    assert (verdict.status, verdict.rows_accepted) == ("loaded", 3)
    bad = door.send("bad.xlsx", b"PK\x03\x04 not really a zip")
    assert bad.status == "rejected" and "not a readable Excel workbook" in bad.error


def test_dates_in_several_formats(tmp_path, coventry):
    import pandas as pd

    from marmot_assets.partners.contract import Column, Contract
    from marmot_assets.partners.validate import DuplicateTracker, PlaceCodes, validate_chunk

    contract = Contract(
        partner="t",
        dataset="d",
        title="t",
        description="d",
        columns=[Column(name="day", type="date"), Column(name="month", type="month")],
    )
    chunk = pd.DataFrame(
        {
            "day": [
                "2024-03-31",
                "31/03/2024",
                "31-03-2024",
                "31 Mar 2024",
                "31/3/24",
                "03/31/2024",
            ],
            "month": ["2024-03", "03/2024", "Mar 2024", "March 2024", "2024-03-31", "2024-13"],
        },
        index=pd.Index(range(2, 8)),
    )
    accepted, quarantine, _ = validate_chunk(chunk, contract, PlaceCodes("x"), DuplicateTracker())
    assert [str(d) for d in accepted["day"]] == ["2024-03-31"] * 5
    assert set(accepted["month"]) == {"2024-03"}
    assert {(q["row_number"], q["column_name"]) for q in quarantine} == {(7, "day"), (7, "month")}


def test_check_file_gives_the_doors_verdict_without_loading(door, tmp_path, coventry):
    path = tmp_path / "check.csv"
    path.write_text(csv_text(GOOD[0], "E05001231,Wainbody,2024-25 Q1,3,9"))
    codes = place_codes(duckdb.connect(), coventry.name, coventry.code, coventry.lists)
    verdict = check_file(path, CONTRACT, codes)
    assert verdict.status == "loaded_with_quarantine" and verdict.rows_accepted == 1
    assert verdict.quarantine[0]["row_number"] == 3
    assert door.raw_tables() == ["ons_lsoa_ward_lookup"]  # nothing written, not even a manifest


def test_only_returns_of_one_row_per_ward_and_period_are_judged_ward_by_ward():
    from marmot_assets.partners.assets import ward_column
    from marmot_assets.partners.contract import load_contracts

    judged = sorted(name for name, c in load_contracts().items() if ward_column(c))
    assert judged == [
        "council_education/fsm_eligibility",
        "council_education/neet",
        "council_housing/temporary_accommodation",
    ]


def test_a_period_short_of_wards_names_them_whether_quarantined_or_not_sent(door):
    from marmot_assets.partners.assets import place_wards, wards_not_reported

    wards = place_wards(door.con)
    assert len(wards) == 18 and "E05001222" in wards
    every = [f"{w},,2024-25 Q2,10,5" for w in sorted(wards)]
    whole = door.send("q2.csv", csv_text(*every))
    # a quarter with one ward not sent and another's row quarantined (a count of 12.5)
    short_rows = [r for r in every if not r.startswith("E05001222")]
    short_rows[0] = short_rows[0].replace(",10,5", ",12.5,5")
    short = door.send("q3.csv", csv_text(*[r.replace("Q2", "Q3") for r in short_rows]))
    assert short.status == "loaded_with_quarantine"
    found = wards_not_reported(door.con, CONTRACT, [whole, short], wards)
    quarantined_ward = short_rows[0].split(",")[0]
    assert found.to_dict("records") == [
        {"file": "q3.csv", "period": "2024-25 Q3", "wards_reported": "16 of 18",
         "wards_missing": ", ".join(sorted([quarantined_ward, "E05001222"]))}
    ]  # fmt: skip
