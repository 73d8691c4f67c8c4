"""ONS Open Geography: the LSOA -> ward -> local authority lookup.

Two ways in, one shape out: a published CSV (``FID,LSOA21CD,LSOA21NM,WD24CD,...``, or
``LSOA11CD,...,WD19CD`` for the 2011 geography) or the
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
    source_checked,
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


def _canonical(frame: pd.DataFrame, fields: dict[str, str], source: str):
    """The frame's text cells under canonical names (``fields``: canonical -> the file's field,
    matched case-blind), and which of the file's columns each came from."""
    by_upper = {c.upper(): c for c in frame.columns}
    columns: dict[str, str] = {}
    for canonical, field in fields.items():
        if field.upper() not in by_upper:
            raise SourceFileError(
                source,
                f"missing column '{field}' ({canonical}); the header has {list(frame.columns)}",
                row=1,
                column=field,
            )
        columns[canonical] = by_upper[field.upper()]
    out = pd.DataFrame({canonical: to_text(frame, col) for canonical, col in columns.items()})
    return out, columns


def _check_cells(out, columns, rules, source: str) -> None:
    """Every cell of each rule's column present and of its pattern: (canonical, pattern, what)."""
    for canonical, pattern, what in rules:
        missing = out[canonical].isna()
        if missing.any():
            row = int(out.index[missing.to_numpy().nonzero()[0][0]])
            raise SourceFileError(source, "empty cell", row=row, column=columns[canonical])
        check_pattern(out[canonical], columns[canonical], pattern, what, source)


def _place_rows(out: pd.DataFrame, place: PlaceConfig, source: str) -> pd.DataFrame:
    out = out[out["lad_code"] == place.code]
    if out.empty:
        raise SourceFileError(source, f"no rows for local authority {place.code} ({place.name})")
    return out


def _first_row(out: pd.DataFrame, mask: pd.Series) -> int:
    return int(out.index[mask.to_numpy().nonzero()[0][0]])


LSOA_CODE = (r"[EW]01\d{6}", "an LSOA code (E01 and 6 digits)")
LAD_CODE = (r"[EW]0[6-9]\d{6}", "a local authority code")


def lookup_from_frame(frame: pd.DataFrame, place: PlaceConfig, source: str) -> pd.DataFrame:
    """Validate a frame of text cells and keep the place's rows, in canonical columns."""
    out, columns = _canonical(frame, _field_map(place), source)
    rules = [
        ("lsoa_code", *LSOA_CODE),
        ("ward_code", r"[EW]05\d{6}", "a ward code (E05 and 6 digits)"),
        ("lad_code", *LAD_CODE),
    ]
    _check_cells(out, columns, rules, source)
    out = _place_rows(out, place, source)
    duplicated = out["lsoa_code"].duplicated()
    if duplicated.any():
        row = _first_row(out, duplicated)
        raise SourceFileError(
            source, "LSOA appears twice in the lookup", row=row, column=columns["lsoa_code"]
        )
    out["geography_vintage"] = place.geography.vintage
    return out[LOOKUP_COLUMNS].sort_values("lsoa_code").reset_index(drop=True)


def parse_lookup_csv(path: Path, place: PlaceConfig) -> pd.DataFrame:
    return lookup_from_frame(read_csv_text(read_text(path), path), place, str(path))


def arcgis_features(
    session: requests.Session, url: str, where: str, order_by: str, page_size: int = 1000
) -> tuple[pd.DataFrame, list[bytes]]:
    """Page through an ArcGIS REST feature query (``resultOffset`` while
    ``exceededTransferLimit``): the features' attributes as text cells, and the raw pages."""
    rows: list[dict] = []
    pages: list[bytes] = []
    offset = 0
    while True:
        params = {
            "where": where,
            "outFields": "*",
            "f": "json",
            "resultOffset": offset,
            "resultRecordCount": page_size,
            "orderByFields": order_by,
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
        raise SourceFileError(url, f"no features for {where}")
    frame = pd.DataFrame(rows, dtype=object).fillna("").astype(str)
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="feature")
    return frame, pages


def fetch_lookup(
    session: requests.Session, place: PlaceConfig, page_size: int = 1000
) -> tuple[pd.DataFrame, list[bytes]]:
    """Page through the ArcGIS REST query for the place; return the lookup and raw pages."""
    g = place.geography
    url = g.arcgis_query_url
    frame, pages = arcgis_features(
        session, url, f"{g.lad_field}='{place.code}'", g.lsoa_field, page_size
    )
    return lookup_from_frame(frame, place, url), pages


DEMO_LOOKUP = ("ons", "geography", "lsoa_ward_lad_lookup.csv")


@publisher_asset(
    "ons_lsoa_ward_lookup",
    fetches=True,
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
    return source_checked(warehouse, "ons_lsoa_ward_lookup", metadata)


# --- LSOA 2011 -> LSOA 2021 ------------------------------------------------------------------
# "LSOA (2011) to LSOA (2021) to Local Authority District (2022) Best Fit Lookup for EW (V3)":
# one row per related pair of LSOAs; CHGIND U unchanged, S split (a 2011 LSOA into two or
# more), M merged (two or more 2011 LSOAs into one), X irregular and fragmented. Its fields do
# not change with the place's vintage, so they are fixed here.
CHANGE_FIELDS = {
    "lsoa11_code": "LSOA11CD",
    "lsoa11_name": "LSOA11NM",
    "lsoa21_code": "LSOA21CD",
    "lsoa21_name": "LSOA21NM",
    "change_indicator": "CHGIND",
    "lad_code": "LAD22CD",
    "lad_name": "LAD22NM",
}
CHANGE_INDICATORS = ("U", "S", "M", "X")
CHANGE_COLUMNS = raw_columns("ons_lsoa11_lsoa21_lookup")
CHANGE_QUERY_URL = (
    "https://services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services/"
    "LSOA11_LSOA21_LAD22_EW_LU/FeatureServer/0/query"
)
DEMO_CHANGES = ("ons", "geography", "lsoa11_lsoa21_lad22_lookup.csv")


def changes_from_frame(frame: pd.DataFrame, place: PlaceConfig, source: str) -> pd.DataFrame:
    """Validate the 2011 -> 2021 lookup's text cells; keep the rows of the place's authority."""
    out, columns = _canonical(frame, CHANGE_FIELDS, source)
    rules = [
        ("lsoa11_code", *LSOA_CODE),
        ("lsoa21_code", *LSOA_CODE),
        ("change_indicator", r"[USMX]", "a change indicator (U, S, M or X)"),
        ("lad_code", *LAD_CODE),
    ]
    _check_cells(out, columns, rules, source)
    out = _place_rows(out, place, source)
    pair = out[["lsoa11_code", "lsoa21_code"]].duplicated()
    if pair.any():
        row = _first_row(out, pair)
        raise SourceFileError(
            source, "the pair of LSOAs appears twice", row=row, column=columns["lsoa21_code"]
        )
    _check_changes(out, source, columns)
    return out[CHANGE_COLUMNS].sort_values(["lsoa11_code", "lsoa21_code"]).reset_index(drop=True)


def _check_changes(out: pd.DataFrame, source: str, columns: dict[str, str]) -> None:
    """A U row is one code to itself; an S code has two or more 2021 parts; an M code has one."""
    parts = out.groupby("lsoa11_code")["lsoa21_code"].transform("count")
    sources = out.groupby("lsoa21_code")["lsoa11_code"].transform("count")
    rules = [
        (
            (out["change_indicator"] == "U")
            & ((out["lsoa11_code"] != out["lsoa21_code"]) | (parts > 1) | (sources > 1)),
            "an unchanged (U) LSOA keeps its code and maps to itself alone",
        ),
        ((out["change_indicator"] == "S") & (parts < 2), "a split (S) LSOA has one 2021 part"),
        (
            (out["change_indicator"] == "M") & (parts > 1),
            "a merged (M) 2011 LSOA maps to more than one 2021 LSOA",
        ),
    ]
    for broken, problem in rules:
        if broken.any():
            row = _first_row(out, broken)
            raise SourceFileError(source, problem, row=row, column=columns["change_indicator"])


def parse_changes_csv(path: Path, place: PlaceConfig) -> pd.DataFrame:
    return changes_from_frame(read_csv_text(read_text(path), path), place, str(path))


def fetch_changes(
    session: requests.Session, place: PlaceConfig, url: str = CHANGE_QUERY_URL, page_size=1000
) -> tuple[pd.DataFrame, list[bytes]]:
    """Page through the ArcGIS REST query of the 2011 -> 2021 lookup for the place."""
    where = f"{CHANGE_FIELDS['lad_code']}='{place.code}'"
    frame, pages = arcgis_features(session, url, where, "LSOA11CD,LSOA21CD", page_size)
    return changes_from_frame(frame, place, url), pages


@publisher_asset(
    "ons_lsoa11_lsoa21_lookup",
    fetches=True,
    group="ons",
    owner="team:ons-geography",
    description=(
        "ONS's LSOA (2011) to LSOA (2021) to Local Authority District (2022) lookup for the "
        "place: which 2011 LSOAs are unchanged (U), split (S), merged (M) or changed "
        "irregularly (X) in 2021. The door converts partner files on LSOA 2011 codes to "
        "LSOA 2021 with it. Live: ArcGIS REST query API, paged. Demo: bundled CSV."
    ),
)
def ons_lsoa11_lsoa21_lookup(warehouse: DuckDBResource) -> dg.MaterializeResult:
    settings = get_settings()
    place = settings.place_config
    if settings.source_mode == "live":
        fetched, pages = fetch_changes(make_session(), place)
        names = [(f"arcgis_page_{i:03d}.json", page) for i, page in enumerate(pages)]
        landed, parse = land_payloads("ons", "lsoa_changes", names), lambda: fetched
    else:
        path = demo_file(*DEMO_CHANGES)
        landed = land_files("ons", "lsoa_changes", [path])
        parse = lambda: parse_changes_csv(path, place)  # noqa: E731
    frame, metadata = refresh_table(
        warehouse, "ons", "lsoa_changes", "ons_lsoa11_lsoa21_lookup", landed, parse
    )
    for indicator in CHANGE_INDICATORS:
        count = int((frame["change_indicator"] == indicator).sum())
        metadata[f"rows_{indicator}"] = dg.MetadataValue.int(count)
    return source_checked(warehouse, "ons_lsoa11_lsoa21_lookup", metadata)
