"""What the Dagster UI shows of a table: its column schema, a preview of its first rows, and for
a few marts a small chart. Small pure functions, used by the partner assets and the dbt step.

The Dagster event log (and so every metadata value) is outside the warehouse, so every preview
follows the disclosure rules (brief, section 7) as they apply to something leaving it:

- **No identifier or pseudonym, ever.** A preview leaves out the warehouse's bookkeeping
  columns and every column a dataset contract marks as one: a pseudonym (a column whose
  pattern is a hex digest, e.g. ``death_key``, ``client_key``), a column whose values identify
  one thing across deliveries (``unique``, e.g. a crime's ID), free text (``type: text``,
  ``sensitive: true``, or ``redact``-ed). The same column names are left out of every dbt
  model, and any column whose shown values look like a hex digest is dropped as well.
- **No row of record-level data.** A row of a record-level dataset (contract
  ``record_level: true``, and the staging models reading one) is one person: it is never
  previewed; the preview says so instead. Column schema and row count are still shown (the
  count of a whole place's records; a record-level table of 1-7 rows gets no row count).
- **No count of 1-7.** In the rows shown, every cell of a number column (or a text column, as
  a number may be stored as text) whose value rounds (half up, by magnitude) to 1-7 is shown
  as ``*``; 0 stays 0. Columns whose names say they are not counts (``..._id``,
  ``...year``, ``...decile``, ``...quintile``, ``...quantile``, ``...rank``) are shown as
  they are. This over-masks small rates, ages and gaps: nothing lost in a five-row glimpse.
  Other counts are shown unrounded (secondary suppression is not attempted: five rows do not
  hold the totals to recover a cell from).
- **Views of joins and aggregations are not previewed**: running them twice after every build
  would cost seconds; their column schema is shown. (Staging views only rename and cast, and
  are previewed; the intermediate models are tables.)
- **Marts preview what is published**: a mart with a ``publish.<mart>`` table is previewed
  from it (disclosure control already applied: 1-7 suppressed, counts rounded to 5), with
  the mask above on top. Charts show only shares and counts of statistics (never of
  people), and a bar of 1-7 is left out.

A chart is a 400x200 PNG (Pillow) written under ``$MARMOT_HOME/ui/`` and given twice: as a path
(``MetadataValue.path``) and embedded in Markdown as a ``data:`` URI. Dagster's UI renders
the latter: its Markdown component (ui-core ``MarkdownWithPlugins``, react-markdown 8 with no
``transformImageUri``) sanitises with rehype-sanitize's schema plus ``data`` as an allowed
``src`` protocol.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from marmot_assets import catalog
from marmot_assets.partners.contract import CONTRACTS_DIR, Contract, load_contracts
from marmot_assets.partners.identifier_patterns import is_digest
from marmot_assets.partners.load import SQL_TYPES

PLATFORM_OWNER = "team:platform"
PREVIEW_ROWS = 5
SUPPRESSED = "*"
SMALL_MIN, SMALL_MAX = 1, 7
BOOKKEEPING = {
    "_sha256": "SHA-256 of the delivered file the row came from.",
    "_row_number": "Row of the delivered file (0 = first data row).",
    "_received_at": "When the door received the delivery.",
}
BOOKKEEPING_TYPES = {"_sha256": "VARCHAR", "_row_number": "BIGINT", "_received_at": "TIMESTAMP"}
NOT_COUNT = re.compile(r"(^|_)(id|year|decile|quintile|quantile|rank)$")
_NUMERIC = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT"
    r"|FLOAT|REAL|DOUBLE|DECIMAL.*|NUMERIC.*|INT\d*)$",
    re.IGNORECASE,
)
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")
_HEX_PATTERN = re.compile(r"^\[0-9a-f\]\{\d+\}$")


def contract_code_version(contract: Contract) -> str:
    """The contract file's SHA-256 (first 16 hex digits): the asset's code version."""
    path = CONTRACTS_DIR / contract.partner / f"{contract.dataset}.yaml"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def identifier_columns(contract: Contract) -> set[str]:
    """The columns a contract marks as pseudonyms, unique identifiers or free text."""
    names = {c.name for c in contract.columns if c.pattern and _HEX_PATTERN.match(c.pattern)}
    names |= {c.name for c in contract.columns if c.sensitive or c.type == "text"}
    names |= set(contract.unique) | {r.column for r in contract.redact}
    return names


@functools.cache
def all_identifier_columns() -> frozenset[str]:
    """Every contract's identifier columns: left out of any table's preview by name."""
    return frozenset(name for c in load_contracts().values() for name in identifier_columns(c))


def column_schema_from_contract(contract: Contract) -> dg.TableSchema:
    """``raw.<partner>__<dataset>``'s columns: the contract's names, types and descriptions
    (identifiers tagged), then the door's bookkeeping columns."""
    hidden = identifier_columns(contract)
    columns = [
        dg.TableColumn(
            c.name,
            SQL_TYPES[c.type],
            description=c.description.strip() or None,
            constraints=dg.TableColumnConstraints(nullable=not c.required),
            tags={"identifier": ""} if c.name in hidden else {},
        )
        for c in contract.columns
    ]
    columns += [
        dg.TableColumn(name, BOOKKEEPING_TYPES[name], description=text)
        for name, text in BOOKKEEPING.items()
    ]
    return dg.TableSchema(columns=columns)


def relation_columns(con) -> dict[tuple[str, str], list[tuple[str, str, bool]]]:
    """Every table's and view's (name, type, nullable) columns, by (schema, table): one query."""
    found: dict[tuple[str, str], list[tuple[str, str, bool]]] = {}
    for schema, table, name, data_type, nullable in con.execute(
        "select schema_name, table_name, column_name, data_type, is_nullable "
        "from duckdb_columns() where database_name = current_database() "
        "order by schema_name, table_name, column_index"
    ).fetchall():
        found.setdefault((schema, table), []).append((name, data_type, bool(nullable)))
    return found


def column_schema_from_duckdb(
    con,
    schema: str,
    table: str,
    descriptions: Mapping[str, str] | None = None,
    described: Sequence[tuple[str, str, bool]] | None = None,
) -> dg.TableSchema:
    """The table's columns as DuckDB has them, with ``descriptions`` (e.g. dbt's) by name;
    ``described``: its columns already read (``relation_columns``)."""
    descriptions = descriptions or {}
    if described is None:
        described = catalog.columns(con, schema, table)
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name,
                data_type,
                description=descriptions.get(name) or None,
                constraints=dg.TableColumnConstraints(nullable=nullable),
            )
            for name, data_type, nullable in described
        ]
    )


def is_count_column(name: str, data_type: str) -> bool:
    """A column that may hold a count: a number or text column whose name does not say
    otherwise (text too, since a number may be stored as text)."""
    data_type = data_type.strip().upper()
    maybe = bool(_NUMERIC.match(data_type)) or data_type in ("VARCHAR", "TEXT", "STRING")
    return maybe and not NOT_COUNT.search(name.lower())


def is_small_count(value) -> bool:
    """A value that rounds (half up, by magnitude) to 1-7."""
    if value is None or isinstance(value, bool):
        return False
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    if math.isnan(number):
        return False
    return SMALL_MIN <= math.floor(abs(number) + 0.5) <= SMALL_MAX


def mask_small_counts(frame: pd.DataFrame, count_columns: Iterable[str]) -> pd.DataFrame:
    """``frame`` with every value of ``count_columns`` that rounds to 1-7 shown as ``*``."""
    masked = frame.copy()
    for name in count_columns:
        if name in masked.columns:
            masked[name] = [
                SUPPRESSED if is_small_count(v) else v for v in masked[name].astype(object)
            ]
    return masked


def record_level_note() -> str:
    return (
        "Record-level data (one row per person): rows are never shown outside the warehouse. "
        "See the column schema and row count."
    )


def safe_preview(
    con,
    table: str,
    columns: Sequence[str] | None = None,
    *,
    exclude: Iterable[str] = (),
    record_level: bool = False,
    rows: int = PREVIEW_ROWS,
    described: Sequence[tuple[str, str, bool]] | None = None,
) -> str:
    """Markdown of the first ``rows`` rows of ``table`` (``schema.name``): identifier,
    pseudonym, free-text and bookkeeping columns left out, values of 1-7 in count columns
    shown as ``*``; a record-level table is not previewed (a note says so)."""
    if record_level:
        return record_level_note()
    schema, name = table.split(".", 1)
    if described is None:
        described = catalog.columns(con, schema, name)
    types = {n: t for n, t, _ in described}
    hidden = set(exclude) | all_identifier_columns() | set(BOOKKEEPING)
    wanted = [n for n in (columns or [n for n, _, _ in described]) if n in types]
    shown = [n for n in wanted if n not in hidden]
    left_out = [n for n in wanted if n in hidden]
    if not shown:
        return "No column can be shown outside the warehouse."
    select = ", ".join(f'"{n}"' for n in shown)
    result = con.execute(f"select {select} from {table} limit {int(rows)}")
    frame = pd.DataFrame(result.fetchall(), columns=shown)
    digests = [n for n in shown if frame[n].map(_looks_like_digest).any()]
    frame = frame.drop(columns=digests)
    left_out += digests
    if frame.empty:
        return "No rows."
    frame = mask_small_counts(frame, [n for n in frame.columns if is_count_column(n, types[n])])
    frame = frame.map(_escape_pipes)  # "1|4" would split the Markdown table's cell
    notes = [f"`{SUPPRESSED}`: a value of {SMALL_MIN}-{SMALL_MAX} in a count column, not shown."]
    if left_out:
        notes.append("Not shown (identifiers, free text, bookkeeping): " + ", ".join(left_out))
    return frame.to_markdown(index=False) + "\n\n" + "\n".join(f"- {n}" for n in notes)


def _escape_pipes(value):
    return value.replace("|", "\\|") if isinstance(value, str) else value


def _cells(line: str) -> list[str]:
    return [c.strip() for c in _CELL_SEPARATOR.split(line.strip().strip("|"))]


def _looks_like_digest(value) -> bool:
    return isinstance(value, str) and is_digest(value)


def small_count_cells(markdown: str, count_columns: Iterable[str]) -> list[tuple[str, str]]:
    """(column, cell) of every cell of ``count_columns`` in a Markdown preview that is a value
    of 1-7: empty for a safe preview (the tests' check)."""
    lines = [line for line in markdown.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        return []
    header = _cells(lines[0])
    wanted = set(count_columns)
    found = []
    for line in lines[2:]:
        for column, cell in zip(header, _cells(line), strict=False):
            if column in wanted and cell != SUPPRESSED and is_small_count(cell):
                found.append((column, cell))
    return found


# ----- charts ------------------------------------------------------------------------------

CHART_QUERIES = {
    # Statistics the mart holds, by Marmot principle: counts of indicator values, not of people.
    ("marts", "fct_indicator_values"): (
        "Indicator values by Marmot principle",
        """
        select coalesce('P' || i.principle_id || ' ' || p.principle_name, 'Unknown') as label,
               count(*) as value
        from marts.fct_indicator_values as f
        left join marts.dim_indicator as i using (indicator_id)
        left join marts.dim_principle as p on p.principle_id = i.principle_id
        group by all order by min(i.principle_id) nulls last
        """,
    ),
    # Each principle's share of series worse than England, over all years (a percentage).
    ("marts", "mart_principle_scorecard"): (
        "Series worse than England, all years (%)",
        """
        select 'P' || principle_id || ' ' || min(principle_name) as label,
               100.0 * sum(worse_than_england) / sum(series) as value
        from marts.mart_principle_scorecard
        where scorecard_line = 'indicators'
        group by principle_id having sum(series) > 0
        order by principle_id
        """,
    ),
}


def chart_png(labels: Sequence[str], values: Sequence[float], title: str, size=(400, 200)) -> bytes:
    """A small horizontal bar chart as PNG bytes, drawn with Pillow (a few milliseconds;
    matplotlib's first figure costs most of a second, too much for every dbt build)."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    font, small = ImageFont.load_default(size=12), ImageFont.load_default(size=10)
    draw.text((8, 4), title, fill="#222222", font=font)
    top, left, right = 24, 150, width - 50
    row = (height - top - 6) / max(len(labels), 1)
    peak = max((float(v) for v in values), default=0) or 1.0
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + i * row
        bar = max(row - 4, 2)
        draw.text((8, y + bar / 2), str(label), fill="#333333", font=small, anchor="lm")
        draw.rectangle([left, y, left + (right - left) * float(value) / peak, y + bar],
                       fill="#4f7cac")  # fmt: skip
        end = left + (right - left) * float(value) / peak + 4
        draw.text((end, y + bar / 2), f"{value:,.0f}", fill="#333333", font=small, anchor="lm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def chart_metadata(con, schema: str, table: str, folder: Path) -> dict:
    """For a mart with a chart: the PNG written to ``folder/<schema>.<table>.png``, as a path
    and as a Markdown image (data: URI). Bars of counts of 1-7 are left out. {} otherwise."""
    if (schema, table) not in CHART_QUERIES:
        return {}
    title, sql = CHART_QUERIES[(schema, table)]
    frame = con.execute(sql).df().dropna()
    counts = title.startswith("Indicator values")
    if counts:
        frame = frame[~frame["value"].map(is_small_count)]
    if frame.empty:
        return {}
    labels = [x if len(x) <= 24 else x[:23] + "…" for x in map(str, frame["label"])]
    png = chart_png(labels, frame["value"].tolist(), title)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{schema}.{table}.png"
    path.write_bytes(png)
    encoded = base64.b64encode(png).decode("ascii")
    return {
        "chart_path": dg.MetadataValue.path(str(path)),
        "chart": dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})"),
    }


# ----- dbt models --------------------------------------------------------------------------


VIEW_NOTE = (
    "A view computed on every read (joins and aggregation): not counted or previewed after "
    "each build, which would run it twice; its rows reach the marts."
)


@functools.cache
def record_level_tables() -> frozenset[str]:
    """The raw tables of record-level contracts (``<partner>__<dataset>``)."""
    return frozenset(c.table for c in load_contracts().values() if c.record_level)


def reads_record_level(node: Mapping) -> bool:
    """A dbt node that selects straight from a record-level raw table (a staging model)."""
    tables = record_level_tables()
    return any(
        dep.startswith("source.") and dep.rsplit(".", 1)[-1] in tables
        for dep in node.get("depends_on", {}).get("nodes", [])
    )


def dbt_table_metadata(
    con,
    node: Mapping,
    relations: Mapping[tuple[str, str], Sequence[tuple[str, str, bool]]],
    chart_folder: Path | None = None,
) -> dict:
    """Metadata of a dbt model's (or seed's) table after ``dbt build``: column schema (DuckDB's
    types, dbt's descriptions), row count and a safe preview; a mart is previewed from its
    published table when it has one, and a charted mart gets its chart."""
    schema, table = node["schema"], node.get("alias") or node["name"]
    if (schema, table) not in relations:
        return {}
    record_level = reads_record_level(node)
    computed = node.get("config", {}).get("materialized") == "view" and schema != "staging"
    descriptions = {n: c.get("description", "") for n, c in node.get("columns", {}).items()}
    described = relations[(schema, table)]
    schema_value = column_schema_from_duckdb(con, schema, table, descriptions, described)
    if computed:  # joins and aggregations run on every read: too slow to count after a build
        return {"dagster/column_schema": schema_value, "preview": dg.MetadataValue.md(VIEW_NOTE)}
    rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
    shown = f"publish.{table}" if schema == "marts" and ("publish", table) in relations else None
    preview = safe_preview(
        con,
        shown or f"{schema}.{table}",
        record_level=record_level,
        described=relations[("publish", table)] if shown else described,
    )
    if shown:
        preview = f"Rows of `{shown}` (after disclosure control):\n\n{preview}"
    metadata = {
        "dagster/column_schema": schema_value,
        "preview": dg.MetadataValue.md(preview),
    }
    if not (record_level and is_small_count(rows)):
        metadata["dagster/row_count"] = dg.MetadataValue.int(int(rows))
    if chart_folder is not None:
        metadata.update(chart_metadata(con, schema, table, chart_folder))
    return metadata


def with_table_metadata(
    events: Iterable, manifest: Mapping, warehouse: Path, home: Path, log, alongside=None
):
    """The dbt step's events as dbt gives them, then for each model materialised an
    ``AssetObservation`` with its table's metadata (``dbt_table_metadata``: column schema with
    DuckDB's types, row count, preview, a chart for key marts), read from one read-only
    connection opened after dbt ended; then the events of ``alongside`` (a function of a
    cursor of that connection, run in a thread while the metadata is read: the dbt step's
    data tests, transform/data_tests.py), if given.

    dbt holds DuckDB's one write lock while it runs, so the tables can only be read after it.
    The events are not held back for that: Dagster records each as it comes (some 30 ms each,
    a thousand of them), and recording them after dbt instead of while it runs cost ~20 s of
    the refresh. If dbt fails or the run is interrupted, no observation is added."""
    outputs = []
    for event in events:
        if isinstance(event, dg.Output):
            outputs.append(event)
        yield event
    yield from _table_observations(outputs, manifest, warehouse, home, log, alongside)


def _table_observations(outputs, manifest, warehouse, home, log, alongside=None):
    import time
    from concurrent.futures import ThreadPoolExecutor

    import duckdb

    started = time.perf_counter()
    if not outputs and alongside is None:
        return
    nodes = manifest.get("nodes", {})
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error as exc:
        if alongside is not None:
            raise  # the tests cannot be left out
        log.warning(f"Table metadata left out: the warehouse could not be opened ({exc}).")
        return
    observed, failed = [], []
    with con, ThreadPoolExecutor(1, thread_name_prefix="marmot-alongside") as pool:
        # DuckDB answers each query without holding Python's lock: the two overlap
        beside = pool.submit(alongside, con.cursor()) if alongside is not None else None
        relations = relation_columns(con) if outputs else {}
        for event in outputs:
            unique_id = event.metadata.get("unique_id")
            node = nodes.get(str(getattr(unique_id, "value", unique_id)))
            if node is None:
                continue
            folder = home / "ui" if node.get("schema") == "marts" else None
            try:
                extra = dbt_table_metadata(con, node, relations, folder)
            except duckdb.Error as exc:
                failed.append(f"{node['name']}: {exc}")
                continue
            observed.append((node, extra))
        read_in = time.perf_counter() - started
        after = beside.result() if beside is not None else ()
    if failed:
        log.warning("Table metadata left out for: " + "; ".join(failed))
    log.info(
        f"Table metadata (schema, row count, preview) of {len(observed)} dbt models in "
        f"{read_in:.2f} s."
    )
    from marmot_assets.transform.assets import MarmotDbtTranslator

    translator = MarmotDbtTranslator()
    for node, extra in observed:
        yield dg.AssetObservation(asset_key=translator.get_asset_key(node), metadata=extra)
    yield from after
