"""Receiving one delivery: keep it, check it, load what is good, record everything.

    sha256 ── seen before? ──> duplicate (nothing loaded)
       │ record-level and holds identifiers? ──> rejected, file held in restricted storage
       ▼
    landing (byte-for-byte, read-only) ──> read + contract checks ──> structural problem?
       │                                                              └─> rejected
       ▼
    one transaction: raw.<partner>__<dataset> rows of this file, raw.quarantine rows,
    raw.landing_manifest row  ──> loaded | loaded_with_quarantine

The same function, without a warehouse, is ``marmot check-file``: a partner sees the door's
verdict before sending.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from marmot_assets.landing.manifest import MANIFEST_DDL, Verdict, record_verdict
from marmot_assets.landing.store import land, sha256_of
from marmot_assets.partners.contract import Contract
from marmot_assets.partners.delivery import CHUNK_ROWS, read_delivery
from marmot_assets.partners.screen import find_identifiers
from marmot_assets.partners.validate import DuplicateTracker, PlaceCodes, validate_chunk
from marmot_assets.reading.errors import SourceFileError

QUARANTINE_KEPT = 10_000  # per delivery; beyond this only the count is kept

SQL_TYPES = {
    "string": "VARCHAR",
    "text": "VARCHAR",
    "integer": "BIGINT",
    "number": "DOUBLE",
    "date": "DATE",
    "month": "VARCHAR",
    "boolean": "BOOLEAN",
}


def table_ddl(contract: Contract) -> dict[str, str]:
    columns = {c.name: SQL_TYPES[c.type] for c in contract.columns}
    columns.update(_sha256="VARCHAR", _row_number="BIGINT", _received_at="TIMESTAMP")
    return columns


def inspect(
    path: Path,
    contract: Contract,
    place: PlaceCodes,
    verdict: Verdict,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk=None,
) -> Verdict:
    """Read and check a delivery; hand accepted chunks to ``on_chunk``; fill the verdict."""
    duplicates = DuplicateTracker()
    try:
        for chunk in read_delivery(path, contract, chunk_rows):
            verdict.rows_read += len(chunk)
            accepted, quarantine, elsewhere = validate_chunk(chunk, contract, place, duplicates)
            verdict.rows_other_places += elsewhere
            verdict.rows_accepted += len(accepted)
            bad_rows = {q["row_number"] for q in quarantine}
            verdict.rows_quarantined += len(bad_rows)
            room = QUARANTINE_KEPT - len(verdict.quarantine)
            verdict.quarantine.extend(quarantine[: max(room, 0)])
            if on_chunk is not None and len(accepted):
                on_chunk(accepted)
    except SourceFileError as exc:
        verdict.status, verdict.error = "rejected", str(exc)
        return verdict
    if verdict.rows_read == 0:
        verdict.status, verdict.error = "rejected", f"file {path}: no data rows (header only)"
    elif verdict.rows_accepted == 0 and verdict.rows_other_places < verdict.rows_read:
        verdict.status = "rejected"
        verdict.error = f"file {path}: every row broke the contract (problems listed per row)"
    elif verdict.rows_quarantined:
        verdict.status = "loaded_with_quarantine"
    return verdict


def check_file(path: Path, contract: Contract, place: PlaceCodes) -> Verdict:
    """The door's verdict on a file, loading nothing (``marmot check-file``)."""
    digest, size = sha256_of(path)
    verdict = Verdict(contract.partner, contract.dataset, path.name, digest, size)
    if contract.record_level and (found := _identifiers_or_error(path, verdict)):
        return found
    return inspect(path, contract, place, verdict)


def _identifiers_or_error(path: Path, verdict: Verdict) -> Verdict | None:
    try:
        found = find_identifiers(path)
    except (SourceFileError, ValueError, OSError) as exc:
        verdict.status, verdict.error = "rejected", str(exc)
        return verdict
    if found:
        column, kind = found
        verdict.status = "rejected"
        verdict.error = (
            f"file {path.name}: column '{column}' holds what looks like {kind}. Record-level "
            "files must be pseudonymised at source (marmot pseudonymise); the file was refused "
            "and is held in restricted storage, not in the warehouse"
        )
        return verdict
    return None


def place_codes(con: duckdb.DuckDBPyConnection, name: str, code: str, lists: dict) -> PlaceCodes:
    codes = PlaceCodes(name=name, local_authority={code}, lists=lists)
    exists = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'raw' and table_name = 'ons_lsoa_ward_lookup'"
    ).fetchone()[0]
    if exists:
        for lsoa, ward in con.execute(
            "select lsoa_code, ward_code from raw.ons_lsoa_ward_lookup"
        ).fetchall():
            codes.lsoa.add(lsoa)
            codes.ward.add(ward)
    return codes


def receive(
    path: Path,
    contract: Contract,
    con: duckdb.DuckDBPyConnection,
    place: PlaceCodes,
    home: Path,
    chunk_rows: int = CHUNK_ROWS,
) -> Verdict:
    """Land, check and load one delivered file. Never raises for a bad file: the verdict says."""
    con.execute(MANIFEST_DDL)
    digest, size = sha256_of(path)
    verdict = Verdict(contract.partner, contract.dataset, path.name, digest, size)
    seen = con.execute(
        "select count(*) from raw.landing_manifest "
        "where partner = ? and dataset = ? and sha256 = ?",
        [contract.partner, contract.dataset, digest],
    ).fetchone()[0]
    if seen:
        verdict.status = "duplicate"
        verdict.error = "the same bytes were received before; not loaded again"
        record_verdict(con, verdict)
        return verdict
    if contract.record_level and _identifiers_or_error(path, verdict):
        restricted = home / "restricted" / contract.partner / contract.dataset
        restricted.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(home / "restricted", 0o700)
        held = restricted / f"{digest}__{path.name}"
        shutil.copyfile(path, held)
        os.chmod(held, 0o400)
        record_verdict(con, verdict)
        return verdict
    landed = land(path, home / "landing", contract.partner, contract.dataset)
    if landed.sha256 != digest:  # the file changed while it was read: judge it next time
        raise OSError(f"{path.name} changed while it was being landed; it will be read again")
    verdict.landing_path = str(landed.path)
    columns = table_ddl(contract)
    con.execute("drop table if exists _incoming")
    con.execute(
        "create temp table _incoming (" + ", ".join(f'"{n}" {t}' for n, t in columns.items()) + ")"
    )

    def append(accepted: pd.DataFrame) -> None:
        frame = accepted.astype(object).where(accepted.notna(), None)
        frame["_sha256"] = digest
        frame["_row_number"] = frame.index.astype("int64")
        frame["_received_at"] = verdict.received_at
        con.register("_chunk", frame.reset_index(drop=True))
        select = ", ".join(f'cast("{n}" as {t})' for n, t in columns.items())
        con.execute(f"insert into _incoming select {select} from _chunk")
        con.unregister("_chunk")

    inspect(landed.path, contract, place, verdict, chunk_rows, on_chunk=append)
    if verdict.error:
        verdict.error = verdict.error.replace(str(landed.path), path.name)
    con.execute("begin transaction")
    try:
        if verdict.status != "rejected":
            ensure_table(con, contract, columns)
            con.execute(f"delete from raw.{contract.table} where _sha256 = ?", [digest])
            con.execute(f"insert into raw.{contract.table} by name select * from _incoming")
        record_verdict(con, verdict)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    finally:
        con.execute("drop table if exists _incoming")
    return verdict


def ensure_table(con, contract: Contract, columns: dict[str, str]) -> None:
    con.execute(
        f"create table if not exists raw.{contract.table} ("
        + ", ".join(f'"{n}" {t}' for n, t in columns.items())
        + ")"
    )
    have = {
        r[0]
        for r in con.execute(
            "select column_name from information_schema.columns where table_schema = 'raw' "
            "and table_name = ?",
            [contract.table],
        ).fetchall()
    }
    for name, sql_type in columns.items():  # a contract that grew a column
        if name not in have:
            con.execute(f'alter table raw.{contract.table} add column "{name}" {sql_type}')
