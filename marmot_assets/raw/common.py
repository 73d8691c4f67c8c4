"""What every source asset shares: where its files are, landing them, its metadata."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pandas as pd

from marmot_assets.config import get_settings
from marmot_assets.ingest.errors import SourceFileError
from marmot_assets.ingest.landing import LandedFile, land
from marmot_assets.resources import RAW_TABLES

PREVIEW_ROWS = 10


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
    return [land(p.read_bytes(), root, publisher, dataset, p.name) for p in paths]


def land_payloads(
    publisher: str, dataset: str, payloads: Sequence[tuple[str, bytes]]
) -> list[LandedFile]:
    root = get_settings().home / "landing"
    return [land(body, root, publisher, dataset, name) for name, body in payloads]


def raw_metadata(table: str, frame: pd.DataFrame, landed: Sequence[LandedFile]) -> dict:
    schema = dg.TableSchema(
        columns=[dg.TableColumn(name, type_) for name, type_ in RAW_TABLES[table].items()]
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(len(frame)),
        "dagster/column_schema": schema,
        "dagster/table_name": f"raw.{table}",
        "preview": dg.MetadataValue.md(frame.head(PREVIEW_ROWS).to_markdown(index=False)),
        "source_mode": get_settings().source_mode,
        "landed_files": dg.MetadataValue.json(
            [
                {"path": str(f.path), "sha256": f.sha256, "bytes": f.bytes}
                for f in landed
            ]
        ),
    }
