"""HDRC evidence register: an Excel workbook (or CSV) with notes above the header, through the
door; staging keeps the latest version of each evaluation and splits its lists."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
from helpers import inbox_bytes, inbox_files, render_model_sql, write_csv

from marmot_assets.config import DBT_PROJECT_DIR, read_indicator_catalogue
from marmot_assets.demo.partners.hdrc import HEADER
from marmot_assets.partners.contract import get_contract

CONTRACT = get_contract("hdrc/evidence_register")
STAGING = DBT_PROJECT_DIR / "models" / "staging" / "hdrc"
GOOD = [
    "Walking for health",
    "6;5",
    "low_life_satisfaction",
    "before-after",
    "Adults over 50",
    "Wellbeing improved.",
    0.2,
    "complete",
    "https://hdrc.example.org/evaluations/walking",
]


def workbook(path: Path, header: list[str], rows: list[list], notes: int = 2) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    for i in range(notes):
        sheet.append([f"Note {i + 1} about the register"])
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def staged(con):
    """The staging models' rows, their SQL run on this warehouse."""
    register = render_model_sql(
        STAGING / "stg_hdrc__evidence_register.sql",
        {"hdrc__evidence_register": "raw.hdrc__evidence_register"},
    )
    con.execute(f"create or replace view stg_hdrc__evidence_register as {register}")
    indicators = render_model_sql(
        STAGING / "stg_hdrc__evidence_indicators.sql",
        {"stg_hdrc__evidence_register": "stg_hdrc__evidence_register"},
    )
    return (
        con.execute("select * from stg_hdrc__evidence_register").fetchdf(),
        con.execute(indicators).fetchall(),
    )


def test_demo_writes_register_workbooks_with_notes_above_the_header(demo_root):
    files = inbox_files(demo_root, CONTRACT)
    assert [p.name for p in files] == [
        f"hdrc_evidence_register_{v}.xlsx" for v in ("2024_Q2", "2024_Q4", "2025_Q2")
    ]
    sheet = openpyxl.load_workbook(files[-1], read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert "evidence register" in rows[0][0] and rows[2] == (None,) * len(rows[2])
    assert list(rows[3]) == HEADER
    assert {r[3] for r in rows[4:]} == set(CONTRACT.column("design").allowed)


def test_demo_is_deterministic(demo_root, demo_again):
    assert inbox_bytes(demo_again, CONTRACT) == inbox_bytes(demo_root, CONTRACT)


def test_demo_registers_load_and_the_latest_version_wins(demo_root, door):
    verdicts = door.receive_inbox(demo_root)
    assert [(v.status, v.rows_accepted) for v in verdicts] == [
        ("loaded", 9),
        ("loaded", 12),
        ("loaded", 14),
    ]
    # Excel row numbers: the header is row 4, below the title and notes.
    assert door.rows("select min(_row_number) from raw.hdrc__evidence_register") == [(5,)]
    register, links = staged(door.con)
    assert len(register) == 14
    hubs = register[register["intervention"] == "Family Hubs integrated early years offer"].iloc[0]
    assert hubs["status"] == "complete" and hubs["effect_size"] == pytest.approx(0.12)
    assert list(hubs["principle_ids"]) == [1, 6]
    catalogue = {r["indicator_id"] for r in read_indicator_catalogue()}
    assert links and {indicator for _, _, indicator in links} <= catalogue
    planned = register[register["status"] == "planned"]
    assert planned["finding"].isna().all() and planned["effect_size"].isna().all()


def test_csv_is_accepted_too(door, tmp_path):
    v = door.receive(write_csv(tmp_path / "register.csv", [HEADER, GOOD]))
    assert (v.status, v.rows_accepted) == ("loaded", 1)


def test_bad_rows_are_quarantined_with_excel_row_numbers(door, tmp_path):
    def row(**changes):
        values = dict(zip(HEADER, GOOD, strict=True))
        values.update(changes)
        return list(values.values())

    rows = [
        GOOD,  # row 4 (notes 1-2, header 3)
        row(Intervention="Cohort", **{"Study design": "cohort study"}),  # row 5: not allowed
        row(Intervention="Commas", **{"Marmot principles": "1,6"}),  # row 6: not ';'
        row(Intervention="Large", **{"Effect size": "large"}),  # row 7: not a number
        row(Intervention="Done", Status="done"),  # row 8: not a status
        row(Intervention="No scheme", Link="www.example.org/report"),  # row 9: not a URL
        row(Intervention="Spaces", Indicators="neet 16 17"),  # row 10: not ids
    ]
    path = workbook(tmp_path / "register.xlsx", HEADER, rows)
    v = door.receive(path)
    assert v.status == "loaded_with_quarantine"
    assert (v.rows_read, v.rows_accepted, v.rows_quarantined) == (7, 1, 6)
    assert {(q["row_number"], q["column_name"]) for q in v.quarantine} == {
        (5, "design"),
        (6, "principles"),
        (7, "effect_size"),
        (8, "status"),
        (9, "link"),
        (10, "indicators"),
    }
    assert {q["value"] for q in v.quarantine if q["row_number"] == 5} == {"cohort study"}


def test_missing_column_is_rejected_and_earlier_register_unchanged(demo_root, door, tmp_path):
    assert door.receive(inbox_files(demo_root, CONTRACT)[0]).status == "loaded"
    before = door.rows("select * from raw.hdrc__evidence_register order by all")

    header = [h for h in HEADER if h != "Study design"]
    path = workbook(
        tmp_path / "register_no_design.xlsx",
        header,
        [[v for h, v in zip(HEADER, GOOD, strict=True) if h != "Study design"]],
    )
    v = door.receive(path)
    assert v.status == "rejected"
    assert path.name in v.error and "design" in v.error
    after = door.rows("select * from raw.hdrc__evidence_register order by all")
    assert after == before
