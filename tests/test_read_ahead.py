"""Partner deliveries read ahead in a process of their own (partners/read_ahead.py): the door
takes a reading only when it is certainly its own, and then records exactly what reading the
file itself would have (verdicts, rows, quarantine, manifest), for the demo's every delivery
and for hostile ones; a changed file, a lost process or a file too large is read by the door.

Two real DuckDB warehouses hold the demo's ONS lookups (LSOA 2021 -> ward and LSOA 2011 ->
2021, so LSOA conversion is part of it); one door reads every file itself, the other is
given a real reading process (spawned, as in a run)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import stat
import time
from pathlib import Path

import dagster as dg
import pytest
from helpers import lookups_warehouse, valid_nhs_numbers

from marmot_assets.partners.contract import get_contract, load_contracts
from marmot_assets.partners.door import place_codes, receive
from marmot_assets.partners.read_ahead import FOLDER, ReadAheadResource, read_one

HOUSING = get_contract("council_housing/temporary_accommodation")
STORIES = get_contract("vcs/stories")
HEADER = (
    "Ward code,Ward name,Quarter,Households in temporary accommodation,Households with children"
)


def _warehouse(path: Path, demo_root: Path, place):
    con = lookups_warehouse(path, demo_root, place)
    return con, place_codes(con, place.name, place.code, place.lists, 2021)


def _hostile(folder: Path, demo_root: Path) -> list[tuple]:
    """(contract, path) of deliveries the door must quarantine, refuse or screen out."""
    folder.mkdir(parents=True, exist_ok=True)

    def write(name: str, content: bytes | str, contract=HOUSING):
        path = folder / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return contract, path

    nhs = valid_nhs_numbers(1)[0]
    story = sorted((demo_root / "inbox" / STORIES.partner / STORIES.dataset).iterdir())[0]
    housing = sorted((demo_root / "inbox" / HOUSING.partner / HOUSING.dataset).iterdir())[0]
    return [
        write("resent.csv", housing.read_bytes()),  # the same bytes again: a duplicate
        write("quarantined.csv", "\n".join([
            HEADER,
            "E05001222,Foleshill,2024-25 Q1,40,25",
            "e05001231,Wainbody,2024-25 Q1,3,1",  # a ward written in lower case
            "E05001218,Bablake,2024-25 Q1,1,200",  # more children than households
            "E05001219,Binley and Willenhall,2024-25 Q1,-4,0",
            "E05001220,Cheylesmore,2025/26 Q3,5,1",  # a quarter the contract does not know
            "E05001220,Cheylesmore,2024-25 Q1,5,1",
            "E05001220,Cheylesmore,2024-25 Q1,5,1",  # repeated
        ]) + "\n"),
        write("bom_crlf.csv", ("\ufeff" + HEADER + "\r\nE05001222,Foleshill,2024-25 Q2,"
                               "\u00a012,3\r\n").encode()),
        write("wrong_header.csv", "Ward,Quarter,Count\nE05001222,2024-25 Q1,4\n"),
        write("header_only.csv", HEADER + "\n"),
        write("empty.csv", b""),
        write("binary.csv", bytes(range(256)) * 8),
        write("cut_short.csv", HEADER + "\nE05001222,Foleshill,2024-25 Q3,4"),
        write(f"{nhs}_return.csv", HEADER + "\nE05001222,Foleshill,2024-25 Q4,9,2\n"),
        write("story_with_nhs_number.md",
              story.read_text() + f"\nHer NHS number is {nhs}.\n", STORIES),
    ]  # fmt: skip


def _deliveries(demo_root: Path, tmp_path: Path) -> list[tuple]:
    demo = [
        (contract, path)
        for contract in load_contracts().values()
        for path in sorted((demo_root / "inbox" / contract.partner / contract.dataset).iterdir())
        if not path.name.endswith((".control", ".done"))
    ]
    return demo + _hostile(tmp_path / "hostile", demo_root)


def _record(con, verdicts) -> dict:
    """What the door left: each verdict (but its time and landing path), every raw table
    (but the time of receipt) and the manifest (likewise)."""
    own = {"received_at", "landing_path"}
    tables = [r[0] for r in con.execute(
        "select table_name from information_schema.tables where table_schema = 'raw' "
        "and table_name not in ('ons_lsoa_ward_lookup', 'ons_lsoa11_lsoa21_lookup') order by 1"
    ).fetchall()]  # fmt: skip
    rows = {}
    for table in tables:
        columns = [r[0] for r in con.execute(f"describe raw.{table}").fetchall()]
        kept = [c for c in columns if c not in ("_received_at", "received_at", "landing_path")]
        select = ", ".join(f'"{c}"' for c in kept)
        rows[table] = con.execute(f"select {select} from raw.{table} order by all").fetchall()
    return {
        "verdicts": [
            {k: v for k, v in dataclasses.asdict(v).items() if k not in own} for v in verdicts
        ],
        "tables": rows,
    }


@pytest.fixture
def reader():
    resource = ReadAheadResource()
    context = dg.build_init_resource_context()
    resource.setup_for_execution(context)
    assert resource._pool is not None
    yield resource
    resource.teardown_after_execution(context)


def _wait_for(resource: ReadAheadResource) -> None:
    deadline = time.monotonic() + 120
    while resource._waiting or not all(f.done() for f, _ in resource._readings.values()):
        assert time.monotonic() < deadline, "the readings did not finish"
        time.sleep(0.05)


def _child(resource: ReadAheadResource) -> int:
    [pid] = [p.pid for p in resource._pool._processes.values()]
    return pid


def _receive_all(con, codes, home, deliveries, read_ahead=None):
    return [receive(path, c, con, codes, home, read_ahead=read_ahead) for c, path in deliveries]


def test_a_reading_taken_records_what_the_door_reading_itself_records(
    demo_root, coventry, tmp_path, reader, monkeypatch
):
    deliveries = _deliveries(demo_root, tmp_path)
    changed = deliveries[-3][1]  # its bytes change after it was read ahead
    con_a, codes_a = _warehouse(tmp_path / "a.duckdb", demo_root, coventry)
    con_b, codes_b = _warehouse(tmp_path / "b.duckdb", demo_root, coventry)

    reader.start(codes_b, lambda: deliveries)
    _wait_for(reader)
    changed.write_text(HEADER + "\nE05001222,Foleshill,2024-25 Q4,10,2\n")
    taken, take = [], ReadAheadResource.take

    def counted(self, *args):
        taken.append(take(self, *args))
        return taken[-1]

    monkeypatch.setattr(ReadAheadResource, "take", counted)

    inline = _receive_all(con_a, codes_a, tmp_path / "home_a", deliveries)
    ahead = _receive_all(con_b, codes_b, tmp_path / "home_b", deliveries, read_ahead=reader)
    assert _record(con_b, ahead) == _record(con_a, inline)

    # the readings were taken, all but the changed file's (and none is left); a duplicate
    # is known by its digest before any reading
    received = [p for (_, p), v in zip(deliveries, inline, strict=True) if v.status != "duplicate"]
    assert [r is None for r in taken] == [path == changed for path in received]
    assert not reader._readings
    statuses = {v.status for v in inline}
    assert {"loaded", "loaded_with_quarantine", "rejected", "duplicate"} <= statuses
    assert any(v.rows_quarantined >= 5 for v in inline)
    refused = [v for v in inline if v.status == "rejected" and "identifier" in (v.error or "")]
    assert len(refused) == 1 and refused[0].original_name.endswith(".md")
    assert any(v.conversions for v in inline)  # LSOA 2011 codes converted, ahead too
    hidden = [v for v in ahead if v.original_name.endswith("_return.csv")]
    assert hidden == [] and valid_nhs_numbers(1)[0] not in str(_record(con_b, ahead))


def test_other_codes_or_a_lost_process_leave_the_reading_to_the_door(
    demo_root, coventry, tmp_path, reader
):
    deliveries = _deliveries(demo_root, tmp_path)[:12]
    con_a, codes_a = _warehouse(tmp_path / "a.duckdb", demo_root, coventry)
    con_b, codes_b = _warehouse(tmp_path / "b.duckdb", demo_root, coventry)
    inline = _receive_all(con_a, codes_a, tmp_path / "home_a", deliveries)

    other = dataclasses.replace(codes_b, ward=codes_b.ward - {sorted(codes_b.ward)[0]})
    reader.start(other, lambda: deliveries)
    _wait_for(reader)
    contract, path = deliveries[0]
    # read with other codes: not the door's reading
    assert reader.take(contract, path, "any", codes_b) is None

    reader.start(codes_b, lambda: deliveries)  # the codes changed: read again with these
    os.kill(_child(reader), signal.SIGKILL)
    ahead = _receive_all(con_b, codes_b, tmp_path / "home_b", deliveries, read_ahead=reader)
    assert _record(con_b, ahead) == _record(con_a, inline)
    assert reader._pool is None  # lost: the door read every file itself


def test_large_files_are_not_read_ahead_and_nothing_is_left_behind(demo_root, coventry, tmp_path):
    from marmot_assets.config import get_settings

    deliveries = _deliveries(demo_root, tmp_path)
    largest = max(path.stat().st_size for _, path in deliveries)
    resource = ReadAheadResource(max_file_mb=largest / 2**20 / 2, budget_mb=largest / 2**20)
    context = dg.build_init_resource_context()
    resource.setup_for_execution(context)
    try:
        _, codes = _warehouse(tmp_path / "w.duckdb", demo_root, coventry)
        resource.start(codes, lambda: deliveries)
        _wait_for(resource)
        sizes = {str(p): p.stat().st_size for _, p in deliveries}
        read = [sizes[path] for _, path in resource._readings]
        assert read and max(read) <= largest / 2 and sum(read) <= largest
        assert len(read) < len(deliveries)
        folder = get_settings().home / FOLDER
        assert folder.is_dir() and list(folder.iterdir()) == []  # each copy removed once read
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    finally:
        resource.teardown_after_execution(context)
    assert not folder.exists()


def test_the_copy_read_is_private_and_named_without_an_identifier(
    demo_root, coventry, tmp_path, monkeypatch
):
    import marmot_assets.partners.door as door

    nhs = valid_nhs_numbers(1)[0]
    source = tmp_path / f"{nhs}_return.csv"
    source.write_text(HEADER + "\nE05001222,Foleshill,2024-25 Q4,9,2\n")
    folder = tmp_path / "copies"
    folder.mkdir()
    seen = []

    def spy(path, *args, **kwargs):
        seen.append((path.name, stat.S_IMODE(path.stat().st_mode), path.read_bytes()))
        return inspect(path, *args, **kwargs)

    inspect = door.inspect
    monkeypatch.setattr(door, "inspect", spy)
    _, codes = _warehouse(tmp_path / "w.duckdb", demo_root, coventry)
    reading = read_one(str(source), HOUSING, codes, str(folder))
    [(name, mode, content)] = seen
    assert nhs not in name and mode & 0o077 == 0 and content == source.read_bytes()
    assert reading.verdict.status == "loaded" and nhs not in reading.verdict.original_name
    assert not reading.refused and sum(len(c) for c in reading.chunks) == 1
    assert list(folder.iterdir()) == []
    shutil.rmtree(folder)
    assert read_one(str(source), HOUSING, codes, str(folder)) is None  # no folder: no reading


def test_the_end_of_a_run_stops_the_process_even_while_it_warms_up():
    from marmot_assets.config import get_settings
    from marmot_assets.instance.processes import pid_alive

    resource = ReadAheadResource()
    context = dg.build_init_resource_context()
    resource.setup_for_execution(context)
    child = _child(resource)  # most likely still importing the door (a second or so)
    resource.teardown_after_execution(context)
    assert not pid_alive(child)
    assert not (get_settings().home / FOLDER).exists()
