"""What every source asset shares: where its files are, landing them, its metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from marmot_assets.config import get_settings
from marmot_assets.landing.store import LandedFile, land
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.tables import RAW_TABLES
from marmot_assets.warehouse import replace_in, transaction

PREVIEW_ROWS = 10


def publisher_asset(
    table: str,
    *,
    group: str,
    owner: str,
    description: str,
    deps: Sequence = (),
    cadence: str | None = None,
    fetches: bool = False,
):
    """The decorator of every publisher's asset: key ``raw/<table>``, the warehouse pool;
    ``deps``: raw tables it reads while parsing (e.g. the lookup that filters a national file);
    ``cadence``: how often the publisher releases (its freshness policy), None: on demand;
    ``fetches``: it calls the publisher's API in live mode, so its step is retried with backoff
    (``marmot_assets.resilience.API_RETRY_POLICY``)."""
    from dagster._core.storage.tags import PRIORITY_TAG

    from marmot_assets.freshness import freshness_for
    from marmot_assets.resilience import API_RETRY_POLICY
    from marmot_assets.transform.source_tests import check_specs
    from marmot_assets.warehouse import WAREHOUSE_POOL

    def decorate(fn):
        return dg.asset(
            key=["raw", table],
            group_name=group,
            owners=[owner],
            description=description,
            kinds={"python", "duckdb"},
            pool=WAREHOUSE_POOL,
            deps=list(deps),
            freshness_policy=freshness_for(cadence),
            retry_policy=API_RETRY_POLICY if fetches else None,
            # dbt's tests on this raw table, run by the asset itself (transform/source_tests.py)
            check_specs=check_specs(table),
            # the source module's text: a changed parser is a new version of the asset
            code_version=source_version(fn),
            # Before the partners' deliveries in a run: the door checks them against the
            # place's codes and LSOA splits these load, and reads them ahead only once the
            # codes no longer change (partners/read_ahead.py).
            op_tags={PRIORITY_TAG: "1"},
        )(fn)

    return decorate


def source_version(fn) -> str:
    import hashlib
    import inspect

    return hashlib.sha256(inspect.getsource(inspect.getmodule(fn)).encode()).hexdigest()[:16]


def source_checked(warehouse, table: str, metadata: dict) -> dg.MaterializeResult:
    """The materialisation, with dbt's tests on ``raw.<table>`` run on what was just loaded."""
    from marmot_assets.transform.source_tests import run_source_tests

    with warehouse.get_connection() as con:
        results = run_source_tests(con, table)
    return dg.MaterializeResult(metadata=metadata, check_results=results)


def refresh_table(
    warehouse, publisher: str, dataset: str, table: str, landed: Sequence[LandedFile], parse
) -> tuple[pd.DataFrame, dict]:
    """Parse the landed payloads, swap ``raw.<table>``, record them: (frame, metadata)."""
    frame = load_publisher_table(warehouse, publisher, dataset, table, landed, parse)
    return frame, raw_metadata(table, frame, landed)


def demo_file(*parts: str) -> Path:
    """A file of the bundled demo data set (or of MARMOT_SOURCE_DIR, laid out alike)."""
    path = get_settings().demo_dir.joinpath(*parts)
    if not path.is_file():
        raise SourceFileError(
            path, "not found: write the demo data first with `marmot demo` (or `make demo`)"
        )
    return path


def land_files(publisher: str, dataset: str, paths: Sequence[Path]) -> list[LandedFile]:
    root = get_settings().home / "landing"
    reserve = int(get_settings().landing_reserve_mb * 2**20)
    return [land(p, root, publisher, dataset, reserve_bytes=reserve) for p in paths]


def land_payloads(
    publisher: str, dataset: str, payloads: Sequence[tuple[str, bytes]]
) -> list[LandedFile]:
    root = get_settings().home / "landing"
    reserve = int(get_settings().landing_reserve_mb * 2**20)
    return [land(body, root, publisher, dataset, name, reserve) for name, body in payloads]


def load_publisher_table(
    warehouse, publisher: str, dataset: str, table: str, landed: Sequence[LandedFile], parse
) -> pd.DataFrame:
    """Parse landed payloads and swap ``raw.<table>``, recording every payload in
    raw.landing_manifest: loaded, duplicate (the same bytes as before: the table is rebuilt
    from them unchanged) or rejected (the table is left as it was). The new table and its
    payloads' verdicts are one transaction, on one connection: both or neither."""
    import datetime as dt

    from marmot_assets.landing.manifest import Verdict, ensure_manifest, record_verdict

    def record(con, status: str, rows: int, error: str | None) -> None:
        received_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for f in landed:
            # Same bytes as an earlier payload: recorded as a duplicate of it.
            duplicate = f.already_landed and status == "loaded"
            record_verdict(
                con,
                Verdict(
                    publisher,
                    dataset,
                    f.path.name.split("__", 2)[-1],
                    f.sha256,
                    f.bytes,
                    status="duplicate" if duplicate else status,
                    rows_read=rows,
                    rows_accepted=rows if status == "loaded" else 0,
                    error=error,
                    landing_path=str(f.path),
                    received_at=received_at,
                ),
            )

    try:
        frame = parse()
    except SourceFileError as exc:
        with warehouse.get_connection() as con:
            ensure_manifest(con)
            record(con, "rejected", 0, str(exc))
        raise
    with warehouse.get_connection() as con:
        ensure_manifest(con)  # DDL: before the transaction (catalog.once)
        with transaction(con):
            replace_in(con, table, RAW_TABLES[table], frame)
            record(con, "loaded", len(frame), None)
    return frame


def safe_frame_preview(table: str, frame: pd.DataFrame) -> str:
    """The first rows, any count of 1-7 shown as ``*`` (the event log is outside the
    warehouse: no small count leaves it, even a publisher's own)."""
    from marmot_assets.ui_metadata import is_count_column, mask_small_counts

    counts = [name for name, type_ in RAW_TABLES[table].items() if is_count_column(name, type_)]
    return mask_small_counts(frame.head(PREVIEW_ROWS), counts).to_markdown(index=False)


def raw_metadata(table: str, frame: pd.DataFrame, landed: Sequence[LandedFile]) -> dict:
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, type_) for name, type_ in RAW_TABLES[table].items()]
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": schema,
        "dagster/table_name": f"raw.{table}",
        "preview": dg.MetadataValue.md(safe_frame_preview(table, frame)),
        "source_mode": get_settings().source_mode,
        "landed_files": dg.MetadataValue.json(
            [{"path": str(f.path), "sha256": f.sha256, "bytes": f.bytes} for f in landed]
        ),
    }
