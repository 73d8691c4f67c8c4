"""Receiving one delivery: keep it, screen it, check it, load what is good, record it all.

    not a regular file (link, folder, device)? ──> rejected, never opened
    sha256 ── an accepted delivery already? ──> duplicate (nothing loaded)
       │ holds a personal identifier (record-level: anywhere; else in free text)?
       │    └─> rejected, held in restricted storage, never landed
       ▼
    landing (byte-for-byte, private) ──> read + contract checks + control file ──> rejected?
       ▼
    one transaction: the delivery's rows (replacing the periods it covers), quarantine rows,
    the manifest row  ──> loaded | loaded_with_quarantine

Whatever a file holds, ``receive`` returns a verdict: only ``NotReceived`` (the file changed
while it was read, or there is no room to land it) leaves the file in the inbox for later.
The same checks without a warehouse are ``check_file`` (``marmot check-file``).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import shutil
from pathlib import Path

import duckdb
import yaml

from marmot_assets import catalog
from marmot_assets.config import get_settings
from marmot_assets.landing.manifest import (
    ACCEPTED,
    Verdict,
    accepted_before,
    ensure_manifest,
    record_verdict,
)
from marmot_assets.landing.receipts import record_receipt
from marmot_assets.landing.store import FILE_MODE, land, private_folder, sha256_of
from marmot_assets.partners.contract import PATTERNS, Contract
from marmot_assets.partners.delivery import CHUNK_ROWS, read_delivery
from marmot_assets.partners.inbox import _refusal, display_name
from marmot_assets.partners.load import Staging
from marmot_assets.partners.lsoa_conversion import Converter, load_conversion
from marmot_assets.partners.read_ahead import take_reading
from marmot_assets.partners.screen import find_identifiers
from marmot_assets.partners.validate import DuplicateTracker, PlaceCodes, validate_chunk
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.text import detect_encoding, ends_with_newline, sniff_format

log = logging.getLogger(__name__)
QUARANTINE_KEPT = 10_000  # per delivery; beyond this only the count is kept
# The screen reads every column of a file (not only the contract's): smaller chunks than the
# contract reading keeps the two passes over a 200 MB file within the door's memory.
SCREEN_CHUNK_ROWS = 10_000
# LSOA codes above E01033768 were created for the 2021 geography (the 2011 set ends there).
# A file of them for a place on LSOA 2011 is named as such.
LSOA21_ONLY = (33_769, 36_000)


class NotReceived(Exception):
    """The file stays in the inbox and is received later (nothing was recorded)."""


def _free_text(contract: Contract) -> list[str]:
    return [n for c in contract.columns if c.type == "text" for n in c.header_names()]


def screen_verdict(path: Path, contract: Contract, verdict: Verdict) -> bool:
    """Reject the verdict when the file holds a personal identifier or cannot be screened."""
    try:
        finding = find_identifiers(
            path, record_level=contract.record_level, free_text=_free_text(contract),
            chunk_rows=SCREEN_CHUNK_ROWS,
        )  # fmt: skip
    except SourceFileError as exc:
        if not contract.record_level:
            return False  # unreadable: the contract reading says why, with the bytes kept
        verdict.status, verdict.error = "rejected", _named(str(exc), path, verdict)
        return True
    if finding is None:
        return False
    verdict.status = "rejected"
    verdict.error = (
        f"file {verdict.original_name}: {finding.describe()}. Personal identifiers must not "
        "reach the platform (record-level files are pseudonymised at source with marmot "
        "pseudonymise; free text must not name or locate a person); the file was refused and "
        "is held in restricted storage, not in the warehouse"
    )
    return True


def _named(message: str, path: Path, verdict: Verdict) -> str:
    """Messages name the file as the sender knows it (or by its digest), never our path."""
    return message.replace(str(path), verdict.original_name)


def read_control(path: Path) -> dict | None:
    control = path.with_name(path.name + ".control")
    if not control.is_file() or control.is_symlink():
        return None
    try:
        fields = yaml.safe_load(control.read_text(encoding="utf-8"))
        rows, digest = int(fields["rows"]), str(fields["sha256"]).lower()
    except (yaml.YAMLError, TypeError, KeyError, ValueError, UnicodeDecodeError):
        raise SourceFileError(
            control.name, "a control file must hold 'rows: <data rows>' and 'sha256: <hex>'"
        ) from None
    return {"rows": rows, "sha256": digest}


def inspect(
    path: Path,
    contract: Contract,
    place: PlaceCodes,
    verdict: Verdict,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk=None,
) -> Verdict:
    """Read and check a delivery; hand accepted chunks to ``on_chunk``; fill the verdict."""
    duplicates, outside = DuplicateTracker(), _Outside(contract, place)
    converter = Converter(contract, place.conversion, place.lsoa_year)
    try:
        for chunk in read_delivery(path, contract, chunk_rows):
            verdict.rows_read += len(chunk)
            outside.count(chunk)
            accepted, quarantine, elsewhere = validate_chunk(chunk, contract, place, duplicates)
            accepted = converter.convert(accepted)
            verdict.rows_other_places += elsewhere
            verdict.rows_accepted += len(accepted)
            verdict.rows_quarantined += len({q["row_number"] for q in quarantine})
            room = QUARANTINE_KEPT - len(verdict.quarantine)
            verdict.quarantine.extend(quarantine[: max(room, 0)])
            if on_chunk is not None and len(accepted):
                on_chunk(accepted)
    except SourceFileError as exc:
        verdict.status, verdict.error = "rejected", _named(str(exc), path, verdict)
        return verdict
    _notes(path, verdict)
    _lsoa_verdict(converter, verdict)
    name = verdict.original_name
    hint = outside.hint(verdict.rows_read)
    if verdict.rows_read == 0:
        verdict.status, verdict.error = "rejected", f"file {name}: no data rows (header only)"
    elif hint and outside.all_newer:
        verdict.status, verdict.error = "rejected", f"file {name}: {hint}"
    elif verdict.rows_accepted == 0 and verdict.rows_other_places < verdict.rows_read:
        verdict.status = "rejected"
        verdict.error = f"file {name}: every row broke the contract (problems listed per row)"
        verdict.error += f"; {hint}" if hint else ""
    elif verdict.rows_quarantined:
        verdict.status = "loaded_with_quarantine"
    if hint and verdict.status in ACCEPTED:
        verdict.notes.append(hint)
    return verdict


def _lsoa_verdict(converter: Converter, verdict: Verdict) -> None:
    """Which LSOA codes the file was on; what conversion to LSOA 2021 did, for the record."""
    verdict.lsoa_vintage = converter.vintage()
    verdict.conversions = converter.conversions()
    verdict.merged_lsoas = converter.merged and not converter.contract.record_level
    if message := converter.message():
        verdict.notes.append(message)


class _Outside:
    """Counts LSOA codes that are not the place's, to name a file on another geography."""

    def __init__(self, contract: Contract, place: PlaceCodes):
        self.column = next((c.name for c in contract.columns if c.area == "lsoa"), None)
        self.place, self.codes, self.newer = place, 0, 0

    def count(self, chunk) -> None:
        if self.column is None or not self.place.lsoa:
            return
        codes = chunk[self.column].fillna("").astype(str).str.strip()
        ours = codes.isin(self.place.lsoa) | codes.isin(self.place.lsoa11)
        foreign = codes[codes.str.fullmatch(PATTERNS["lsoa"]) & ~ours]
        self.codes += len(foreign)
        numbers = foreign.str[3:].astype(int)
        self.newer += int(numbers.between(*LSOA21_ONLY).sum())

    @property
    def all_newer(self) -> bool:
        """Every foreign code is one only LSOA 2021 has, and the place is on LSOA 2011."""
        return self.place.lsoa_year == 2011 and self.codes > 0 and self.newer == self.codes

    def hint(self, rows: int) -> str | None:
        """Said when no row is the place's: a file for another area or another geography."""
        if self.codes < rows or rows == 0:
            return None
        words = f"none of the {rows} rows has an LSOA code of {self.place.name}"
        if self.all_newer:
            return (
                f"{words}: all {self.codes} LSOA codes are LSOA 2021 codes; this dataset "
                f"expects the place's geography ({_vintage(self.place)})"
            )
        return (
            f"{words} (the place is on {_vintage(self.place)}{_converts(self.place)}: is the "
            "file on another geography vintage, or for another area?)"
        )


def _vintage(place: PlaceCodes) -> str:
    return f"LSOA {place.lsoa_year}" if place.lsoa_year else "its LSOA geography"


def _converts(place: PlaceCodes) -> str:
    if place.lsoa_year != 2021:
        return ""
    if place.conversion is None:
        return "; LSOA 2011 codes are converted once ONS's LSOA 2011 to 2021 lookup is loaded"
    return " and LSOA 2011 codes are converted"


def _notes(path: Path, verdict: Verdict) -> None:
    if sniff_format(path) != "csv":
        return
    encoding = detect_encoding(path)
    if not ends_with_newline(path, encoding):
        verdict.notes.append(
            "the file does not end with a line break: if it was cut short in transfer its "
            "last row may be incomplete (a control file with the row count would show it)"
        )
    if encoding == "utf-16":
        verdict.notes.append("read as UTF-16 text (Excel's 'Unicode text'); UTF-8 is preferred")


def _judge_control(path: Path, contract: Contract, verdict: Verdict, control) -> None:
    if not contract.control_file or verdict.status not in ACCEPTED:
        return
    problem = None
    if control is None:
        problem = "no control file (<name>.control with rows and sha256) came with it"
    elif control["sha256"] != verdict.sha256:
        problem = "its SHA-256 is not the control file's: the file changed or was cut short"
    elif control["rows"] != verdict.rows_read:
        problem = f"it has {verdict.rows_read} data rows, its control file says {control['rows']}"
    if problem:
        verdict.status, verdict.error = "rejected", f"file {verdict.original_name}: {problem}"


def check_file(path: Path, contract: Contract, place: PlaceCodes) -> Verdict:
    """The door's verdict on a file, loading nothing (``marmot check-file``)."""
    verdict = _start(path, contract)
    if verdict.status == "rejected" or screen_verdict(path, contract, verdict):
        return verdict
    inspect(path, contract, place, verdict)
    try:
        _judge_control(path, contract, verdict, read_control(path))
    except SourceFileError as exc:
        verdict.status, verdict.error = "rejected", str(exc)
    return verdict


def _start(path: Path, contract: Contract) -> Verdict:
    """The verdict's identity: a screened name, the digest, or a refusal of a non-file."""
    if refusal := _refusal(path.lstat().st_mode):
        digest = hashlib.sha256(str(path.name).encode("utf-8", "replace")).hexdigest()
        name = display_name(path, digest)
        verdict = Verdict(contract.partner, contract.dataset, name, digest, 0)
        verdict.status, verdict.error = "rejected", f"{name}: {refusal}"
        return verdict
    digest, size = sha256_of(path)
    return Verdict(contract.partner, contract.dataset, display_name(path, digest), digest, size)


def receive(
    path: Path,
    contract: Contract,
    con: duckdb.DuckDBPyConnection,
    place: PlaceCodes,
    home: Path,
    chunk_rows: int = CHUNK_ROWS,
    read_ahead=None,
) -> Verdict:
    """Land, screen, check and load one delivered file; the verdict says what happened.
    ``read_ahead`` (a partners.read_ahead.ReadAheadResource) may have read it already."""
    ensure_manifest(con)
    verdict = _start(path, contract)
    if verdict.status == "rejected":
        record_verdict(con, verdict)
        return verdict
    if accepted_before(con, contract.partner, contract.dataset, verdict.sha256):
        verdict.status = "duplicate"
        verdict.error = "the same bytes were received before; not loaded again"
        if read_ahead is not None:
            read_ahead.discard(contract, path)
        record_verdict(con, verdict)
        # (a delivery accepted before receipts existed, or whose receipt a crash lost)
        record_receipt(home, contract.partner, contract.dataset, verdict.sha256)
        return verdict
    # the same bytes may have been screened and read already (partners/read_ahead.py)
    reading = None
    if read_ahead is not None and chunk_rows == CHUNK_ROWS:  # read as the door reads
        reading = read_ahead.take(contract, path, verdict.sha256, place)
    refused = reading.refused if reading else screen_verdict(path, contract, verdict)
    if refused:
        if reading:
            take_reading(verdict, reading, on_chunk=None)
        _hold_restricted(path, home, contract, verdict)
        record_verdict(con, verdict)
        return verdict
    try:
        control = read_control(path) if contract.control_file else None
    except SourceFileError as exc:
        control, verdict.status, verdict.error = None, "rejected", str(exc)
    landed = _land(path, home, contract, verdict)
    staging = Staging(con, contract, verdict)
    try:
        if verdict.status != "rejected":
            if reading:
                take_reading(verdict, reading, staging.append)
            else:
                _inspect_landed(landed, contract, place, verdict, chunk_rows, staging)
            _judge_control(path, contract, verdict, control)
        if verdict.status in ACCEPTED:
            if verdict.merged_lsoas:
                staging.consolidate()
            staging.enforce_unique()
            if verdict.rows_accepted == 0 and verdict.rows_other_places < verdict.rows_read:
                verdict.status = "rejected"
                verdict.error = f"file {verdict.original_name}: every row broke the contract"
            elif verdict.rows_quarantined:
                verdict.status = "loaded_with_quarantine"
        staging.commit()
    finally:
        staging.drop()
    if verdict.status in ACCEPTED:  # after the commit: a receipt never outruns the record
        record_receipt(home, contract.partner, contract.dataset, verdict.sha256)
    return verdict


def _inspect_landed(landed, contract, place, verdict, chunk_rows, staging) -> None:
    try:
        inspect(landed, contract, place, verdict, chunk_rows, on_chunk=staging.append)
    except (duckdb.Error, MemoryError):
        raise  # the warehouse's problem, not the file's: the run fails, the file waits
    except Exception as exc:  # a file the readers did not foresee: refused, never a crash
        log.exception("unexpected error reading a delivery")
        verdict.status = "rejected"
        verdict.error = (
            f"file {verdict.original_name}: the door could not read it ({type(exc).__name__});"
            " it is kept in landing and the platform team can see the error in the run's log"
        )


def _land(path: Path, home: Path, contract: Contract, verdict: Verdict) -> Path:
    try:
        reserve = int(get_settings().landing_reserve_mb * 2**20)
        landed = land(path, home / "landing", contract.partner, contract.dataset,
                      name=verdict.original_name, reserve_bytes=reserve)  # fmt: skip
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise NotReceived(
                f"no room to land {verdict.original_name} ({exc.strerror}): it stays in the "
                "inbox and is received once space is freed"
            ) from None
        raise
    if landed.sha256 != verdict.sha256:
        raise NotReceived(f"{verdict.original_name} changed while it was read; read again later")
    verdict.landing_path = str(landed.path)
    return landed.path


def _hold_restricted(path: Path, home: Path, contract: Contract, verdict: Verdict) -> None:
    """A refused record-level file is kept (nothing received is lost), readable by the
    platform's user only, outside landing and the warehouse."""
    folder = private_folder(home / "restricted" / contract.partner / contract.dataset, home)
    held = folder / f"{verdict.sha256}__{verdict.original_name}"  # the name is screened
    if not held.exists():
        shutil.copyfile(path, held)
        held.chmod(FILE_MODE)


def place_lookup(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(LSOA, ward) of the place's ONS lookup, as loaded into raw; none before it is."""
    if not catalog.exists(con, "raw", "ons_lsoa_ward_lookup"):
        return []
    return con.execute("select lsoa_code, ward_code from raw.ons_lsoa_ward_lookup").fetchall()


def place_codes(
    con: duckdb.DuckDBPyConnection,
    name: str,
    code: str,
    lists: dict,
    lsoa_year: int | None = None,
) -> PlaceCodes:
    """The place's codes from the warehouse; on LSOA 2021 (``lsoa_year``, by default the
    configured place's), the conversion of LSOA 2011 codes once its lookup is loaded."""
    if lsoa_year is None:
        lsoa_year = get_settings().place_config.geography.lsoa_year
    codes = PlaceCodes(name=name, local_authority={code}, lists=lists, lsoa_year=lsoa_year)
    for lsoa, ward in place_lookup(con):
        codes.lsoa.add(lsoa)
        codes.ward.add(ward)
    if lsoa_year == 2021:
        codes.conversion = load_conversion(con, codes.lsoa)
    return codes
