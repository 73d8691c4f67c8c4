"""ONS Open Geography: the LSOA -> ward -> local authority lookup.

Two ways in, one shape out: a published CSV (``FID,LSOA11CD,LSOA11NM,WD19CD,...``) or the
ArcGIS REST query API (``features[].attributes``, paged by ``resultOffset`` while
``exceededTransferLimit`` is true). Field names change with every vintage, so they come from
the place configuration.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pandas as pd
import requests
from dagster_duckdb import DuckDBResource

from marmot_assets.config import PlaceConfig, get_settings
from marmot_assets.reading.cells import check_pattern, to_text
from marmot_assets.reading.delimited import read_csv_text
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.text import read_text
from marmot_assets.sources.common import (
    demo_file,
    land_files,
    land_payloads,
    publisher_asset,
    refresh_table,
)
from marmot_assets.sources.http import get_json, make_session
from marmot_assets.sources.tables import raw_columns

LOOKUP_COLUMNS = raw_columns("ons_lsoa_ward_lookup")


def _field_map(place: PlaceConfig) -> dict[str, str]:
    g = place.geography
    return {
        "lsoa_code": g.lsoa_field,
        "lsoa_name": g.lsoa_name_field,
        "ward_code": g.ward_field,
        "ward_name": g.ward_name_field,
        "lad_code": g.lad_field,
        "lad_name": g.lad_name_field,
    }


def lookup_from_frame(frame: pd.DataFrame, place: PlaceConfig, source: str) -> pd.DataFrame:
    """Validate a frame of text cells and keep the place's rows, in canonical columns."""
    by_upper = {c.upper(): c for c in frame.columns}
    columns: dict[str, str] = {}
    for canonical, field in _field_map(place).items():
        if field.upper() not in by_upper:
            raise SourceFileError(
                source,
                f"missing column '{field}' ({canonical}); the header has {list(frame.columns)}",
                row=1,
                column=field,
            )
        columns[canonical] = by_upper[field.upper()]
    out = pd.DataFrame({canonical: to_text(frame, col) for canonical, col in columns.items()})
    for canonical, pattern, what in [
        ("lsoa_code", r"[EW]01\d{6}", "an LSOA code (E01 and 6 digits)"),
        ("ward_code", r"[EW]05\d{6}", "a ward code (E05 and 6 digits)"),
        ("lad_code", r"[EW]0[6-9]\d{6}", "a local authority code"),
    ]:
        missing = out[canonical].isna()
        if missing.any():
            row = int(out.index[missing.to_numpy().nonzero()[0][0]])
            raise SourceFileError(source, "empty cell", row=row, column=columns[canonical])
        check_pattern(out[canonical], columns[canonical], pattern, what, source)
    out = out[out["lad_code"] == place.code]
    if out.empty:
        raise SourceFileError(source, f"no rows for local authority {place.code} ({place.name})")
    duplicated = out["lsoa_code"].duplicated()
    if duplicated.any():
        row = int(out.index[duplicated.to_numpy().nonzero()[0][0]])
        raise SourceFileError(
            source, "LSOA appears twice in the lookup", row=row, column=columns["lsoa_code"]
        )
    out["geography_vintage"] = place.geography.vintage
    return out[LOOKUP_COLUMNS].sort_values("lsoa_code").reset_index(drop=True)


def parse_lookup_csv(path: Path, place: PlaceConfig) -> pd.DataFrame:
    return lookup_from_frame(read_csv_text(read_text(path), path), place, str(path))


def fetch_lookup(
    session: requests.Session, place: PlaceConfig, page_size: int = 1000
) -> tuple[pd.DataFrame, list[bytes]]:
    """Page through the ArcGIS REST query for the place; return the lookup and raw pages."""
    url = place.geography.arcgis_query_url
    rows: list[dict] = []
    pages: list[bytes] = []
    offset = 0
    while True:
        params = {
            "where": f"{place.geography.lad_field}='{place.code}'",
            "outFields": "*",
            "f": "json",
            "resultOffset": offset,
            "resultRecordCount": page_size,
            "orderByFields": place.geography.lsoa_field,
        }
        payload, body = get_json(session, url, params)
        pages.append(body)
        if "error" in payload:
            raise SourceFileError(url, f"ArcGIS error: {payload['error']}")
        features = payload.get("features")
        if not isinstance(features, list):
            raise SourceFileError(url, "response has no 'features' list")
        rows.extend(f.get("attributes", {}) for f in features)
        if not payload.get("exceededTransferLimit") or not features:
            break
        offset += len(features)
    if not rows:
        raise SourceFileError(url, f"no features for {place.code}")
    frame = pd.DataFrame(rows, dtype=object).fillna("").astype(str)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="feature")
    return lookup_from_frame(frame, place, url), pages


DEMO_LOOKUP = ("ons", "geography", "lsoa_ward_lad_lookup.csv")


@publisher_asset(
    "ons_lsoa_ward_lookup",
    group="ons",
    owner="team:ons-geography",
    description=(
        "Best-fit lookup of the place's LSOAs to wards and local authority (ONS Open "
        "Geography Portal). Live: ArcGIS REST query API, paged. Demo: bundled CSV."
    ),
)
def ons_lsoa_ward_lookup(warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = get_settings()
    place = settings.place_config
    if settings.source_mode == "live":
        fetched, pages = fetch_lookup(make_session(), place)
        names = [(f"arcgis_page_{i:03d}.json", page) for i, page in enumerate(pages)]
        landed, parse = land_payloads("ons", "geography", names), lambda: fetched
    else:
        path = demo_file(*DEMO_LOOKUP)
        landed = land_files("ons", "geography", [path])
        parse = lambda: parse_lookup_csv(path, place)  # noqa: E731
    frame, metadata = refresh_table(
        warehouse, "ons", "geography", "ons_lsoa_ward_lookup", landed, parse
    )
    metadata["wards"] = dg.MetadataValue.int(frame["ward_code"].nunique())
    return dg.MaterializeResult(metadata=metadata)
