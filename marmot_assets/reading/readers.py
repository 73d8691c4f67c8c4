"""Reading a delivery, whatever its format, as chunks of text cells with row numbers.

Every reader yields ``pandas.DataFrame`` chunks of strings ('' for empty), indexed by the
row number a person sees (CSV: the header is row 1; Excel: the sheet's row number), with
the contract's column names. Structural problems raise ``SourceFileError``; CSV is read as
a stream so a 200 MB file never sits in memory whole.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import yaml

from marmot_assets.partners.contract import Contract, normalise
from marmot_assets.reading.errors import SourceFileError

CHUNK_ROWS = 50_000
HEADER_SEARCH_ROWS = 50  # Excel: notes rows partners put above the header
BLOCK = 1 << 20


def sniff_format(path: Path) -> str:
    head = path.open("rb").read(8)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:1] in (b"{", b"["):
        return "json"
    if text.startswith(b"---"):
        return "markdown"
    return "csv"


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM) if every byte decodes, else Windows-1252, else refuse."""
    with path.open("rb") as f:
        first = f.read(BLOCK)
        if not first.strip():
            raise SourceFileError(path, "the file is empty")
        if b"\x00" in first[:8192]:
            raise SourceFileError(path, "not a text file (binary content)")
        decoder = codecs.getincrementaldecoder("utf-8")()
        block, offset = first, 0
        try:
            while block:
                decoder.decode(block)
                offset += len(block)
                block = f.read(BLOCK)
            decoder.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    try:
        with path.open(encoding="cp1252") as f:
            while f.read(BLOCK):
                pass
    except UnicodeDecodeError:
        raise SourceFileError(path, "text is neither UTF-8 nor Windows-1252") from None
    return "cp1252"


def map_header(header: list[str], contract: Contract, source) -> dict[str, int]:
    """Contract column -> position in the file's header, matched by any of its spellings."""
    positions = {normalise(h): i for i, h in enumerate(header) if str(h).strip()}
    mapping, missing = {}, []
    for column in contract.columns:
        found = [positions[n] for n in map(normalise, column.header_names()) if n in positions]
        if found:
            mapping[column.name] = found[0]
        elif column.required:
            missing.append(column.name)
    if missing:
        raise SourceFileError(
            source,
            f"missing column(s) {missing}; the header has {[h for h in header if str(h).strip()]}",
            row=1,
            column=missing[0],
        )
    if contract.extra_columns == "reject":
        known = {normalise(n) for c in contract.columns for n in c.header_names()}
        extra = [h for h in header if str(h).strip() and normalise(h) not in known]
        if extra:
            raise SourceFileError(source, f"unexpected column(s) {extra}", row=1, column=extra[0])
    return mapping


def _frame(
    rows: list[list[str]],
    numbers: list[int],
    mapping: dict[str, int],
    contract: Contract,
    width: int,
) -> pd.DataFrame:
    """Contract columns from the records; ``_width`` keeps each record's field count so the
    validator can quarantine a row with too few or too many fields."""
    data = {
        c.name: [
            r[mapping[c.name]] if c.name in mapping and mapping[c.name] < len(r) else ""
            for r in rows
        ]
        for c in contract.columns
    }
    frame = pd.DataFrame(data, index=pd.Index(numbers, name="row"), dtype=object)
    frame["_width"] = [len(r) for r in rows]
    frame.attrs["expected_width"] = width
    return frame


def read_csv(
    path: Path, contract: Contract, chunk_rows: int = CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    encoding = detect_encoding(path)
    with path.open("rb") as f:
        f.seek(-1, 2)
        ends_with_newline = f.read(1) in (b"\n", b"\r")
    with path.open(newline="", encoding=encoding) as f:
        reader = csv.reader(f)
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise SourceFileError(path, "the file is empty") from None
        except csv.Error as exc:
            raise SourceFileError(path, f"not parseable as CSV: {exc}", row=1) from None
        mapping = map_header(header, contract, path)
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        number, yielded = 1, False
        # The newest record is held back one step: only at the end do we know whether it is
        # a whole row or a file cut off in the middle of one.
        pending: tuple[int, list[str]] | None = None
        try:
            for record in reader:
                number += 1
                if not any(cell.strip() for cell in record):
                    continue
                if pending is not None:
                    numbers.append(pending[0])
                    rows.append(pending[1])
                pending = (number, record)
                if len(rows) >= chunk_rows:
                    yield _frame(rows, numbers, mapping, contract, width)
                    rows, numbers, yielded = [], [], True
        except csv.Error as exc:
            raise SourceFileError(path, f"not parseable as CSV: {exc}", row=number) from None
        if pending is not None:
            if len(pending[1]) < width and not ends_with_newline:
                raise SourceFileError(
                    path, "the file ends in the middle of a row (truncated)", row=pending[0]
                )
            numbers.append(pending[0])
            rows.append(pending[1])
        if rows or not yielded:
            yield _frame(rows, numbers, mapping, contract, width)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_xlsx(path: Path, contract: Contract) -> Iterator[pd.DataFrame]:
    """The first sheet whose header (within the first rows, below any notes) fits the contract."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise SourceFileError(path, f"not a readable Excel workbook: {exc}") from None
    problems = []
    try:
        for sheet in book.worksheets:
            rows = sheet.iter_rows(values_only=True)
            for number, values in enumerate(rows, start=1):
                if number > HEADER_SEARCH_ROWS:
                    break
                header = [_cell(v) for v in values]
                try:
                    mapping = map_header(header, contract, f"{path} (sheet '{sheet.title}')")
                except SourceFileError as exc:
                    problems.append(exc)
                    continue
                data, numbers = [], []
                for data_number, data_values in enumerate(rows, start=number + 1):
                    cells = [_cell(v) for v in data_values]
                    if any(cells):
                        data.append(cells)
                        numbers.append(data_number)
                data = [row + [""] * (len(header) - len(row)) for row in data]
                yield _frame(
                    [r[: len(header)] for r in data], numbers, mapping, contract, len(header)
                )
                return
    finally:
        book.close()
    # Name what the best sheet lacked: the header row that matched most columns.
    best = min(problems, key=lambda e: len(str(e)), default=None)
    detail = f"; closest: {best.problem}" if best is not None else ""
    raise SourceFileError(
        path,
        "no sheet has a header row with the contract's columns "
        f"({[c.name for c in contract.columns if c.required]}){detail}",
        column=best.column if best is not None else None,
    )


def read_json(path: Path, contract: Contract) -> Iterator[pd.DataFrame]:
    try:
        payload = json.loads(path.read_bytes().decode(detect_encoding(path)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise SourceFileError(path, f"not valid JSON: {exc}") from None
    records = payload
    if isinstance(payload, dict):
        records = next((payload[k] for k in ("data", "records", "rows") if k in payload), None)
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise SourceFileError(path, "JSON must be a list of records (or {'data': [...]})")
    if not records:
        raise SourceFileError(path, "no records")
    header = list(dict.fromkeys(k for r in records for k in r))
    mapping = map_header(header, contract, path)
    rows = [[_cell(r.get(h)) for h in header] for r in records]
    yield _frame(rows, list(range(1, len(rows) + 1)), mapping, contract, len(header))


def read_markdown(path: Path, contract: Contract) -> Iterator[pd.DataFrame]:
    """A story: YAML front matter between '---' lines, then the Markdown body."""
    text = path.read_bytes().decode(detect_encoding(path))
    parts = text.split("---", 2) if text.lstrip().startswith("---") else None
    if not parts or len(parts) < 3:
        raise SourceFileError(path, "no front matter (a '---' block at the top)", row=1)
    try:
        front = yaml.safe_load(parts[1]) or {}
    except yaml.YAMLError as exc:
        raise SourceFileError(path, f"front matter is not valid YAML: {exc}", row=1) from None
    if not isinstance(front, dict):
        raise SourceFileError(path, "front matter must be a mapping of fields", row=1)
    front = {
        k: ("|".join(map(str, v)) if isinstance(v, list) else _cell(v)) for k, v in front.items()
    }
    front["body"] = parts[2].strip()
    header = list(front)
    mapping = map_header(header, contract, path)
    yield _frame([[front[h] for h in header]], [1], mapping, contract, len(header))


def read_delivery(path: Path, contract: Contract, chunk_rows: int = CHUNK_ROWS):
    kind = sniff_format(path)
    if kind not in contract.formats:
        raise SourceFileError(
            path, f"is {kind.upper()}, but {contract.name} accepts {', '.join(contract.formats)}"
        )
    if kind == "csv":
        return read_csv(path, contract, chunk_rows)
    return {"xlsx": read_xlsx, "json": read_json, "markdown": read_markdown}[kind](path, contract)
