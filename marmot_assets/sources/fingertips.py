"""OHID Fingertips: indicator values from ``all_data/csv/by_indicator_id``.

Traps of the real CSV (brief, section 5): the 23rd column's name depends on the parent area
type ("Compared to Region value or percentiles", "Compared to CCGs ..."); older files lack
``Time period range`` and call ``Compared to goal`` ``Target data``; text fields can hold
quoted newlines; suppressed values are blank with a ``Value note``. Values and limits are
carried exactly as published, never recomputed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import dagster as dg
import pandas as pd
import requests
from dagster_duckdb import DuckDBResource

from marmot_assets.config import PlaceConfig, get_settings, read_indicator_catalogue
from marmot_assets.quality import fingertips_checks
from marmot_assets.quality.expectations import ExpectationsResource
from marmot_assets.reading.cells import check_pattern, to_float, to_integer, to_text
from marmot_assets.reading.delimited import read_csv_text
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.reading.text import read_text
from marmot_assets.sources.common import (
    land_files,
    land_payloads,
    publisher_asset,
    refresh_table,
    source_checked,
)
from marmot_assets.sources.http import get_bytes, make_session
from marmot_assets.sources.tables import raw_columns

MAX_IDS_PER_CALL = 100  # the API's limit on indicator_ids

TEXT = {
    "indicator_name": "Indicator Name",
    "parent_code": "Parent Code",
    "parent_name": "Parent Name",
    "area_code": "Area Code",
    "area_name": "Area Name",
    "area_type": "Area Type",
    "sex": "Sex",
    "age": "Age",
    "category_type": "Category Type",
    "category": "Category",
    "time_period": "Time period",
    "value_note": "Value note",
    "recent_trend": "Recent Trend",
    "compared_to_england": "Compared to England value or percentiles",
    "new_data": "New data",
}
NUMBERS = {
    "value": "Value",
    "lower_ci_95": "Lower CI 95.0 limit",
    "upper_ci_95": "Upper CI 95.0 limit",
    "lower_ci_99_8": "Lower CI 99.8 limit",
    "upper_ci_99_8": "Upper CI 99.8 limit",
    "count": "Count",
    "denominator": "Denominator",
}
COLUMNS = raw_columns("fingertips_indicator_values")
PARENT_COMPARISON = re.compile(r"Compared to (?!England\b).+ value or percentiles")


def parse_indicator_csv(text: str, source: str) -> pd.DataFrame:
    """Every row of one Fingertips CSV, typed, in canonical columns."""
    header = read_csv_text(text.split("\n", 1)[0], source).columns.tolist()
    # Fingertips leaves off the empty trailing fields after "New data" on data rows.
    trailing = len(header) - header.index("New data") - 1 if "New data" in header else 0
    frame = read_csv_text(text, source, optional_trailing=trailing)

    def need(name: str) -> str:
        if name not in header:
            raise SourceFileError(
                source, f"missing column '{name}'; the header has {header}", row=1, column=name
            )
        return name

    parent_cols = [h for h in header if PARENT_COMPARISON.fullmatch(h)]
    goal_cols = [h for h in header if h in ("Compared to goal", "Target data")]
    out = pd.DataFrame(index=frame.index)
    out["indicator_id"] = to_integer(frame, need("Indicator ID"), source)
    for name, column in TEXT.items():
        out[name] = to_text(frame, need(column))
    for name, column in NUMBERS.items():
        out[name] = to_float(frame, need(column), source)
    out["compared_to_parent"] = to_text(frame, parent_cols[0]) if parent_cols else None
    out["time_period_sortable"] = to_integer(frame, need("Time period Sortable"), source)
    out["compared_to_goal"] = to_text(frame, goal_cols[0]) if goal_cols else None
    out["time_period_range"] = (
        to_text(frame, "Time period range") if "Time period range" in header else None
    )
    for name in ("area_code", "area_type", "time_period"):
        missing = out[name].isna()
        if missing.any():
            row = int(out.index[missing.to_numpy().nonzero()[0][0]])
            raise SourceFileError(source, "empty cell", row=row, column=TEXT[name])
    check_pattern(out["area_code"], "Area Code", r"[EWSNK]\d{8}", "an ONS area code", source)
    _check_limits(out, frame.index, source)
    return out[COLUMNS]


def _check_limits(out: pd.DataFrame, rows: pd.Index, source: str) -> None:
    """A published interval must contain its value: anything else is a corrupt file."""
    for lower, upper, label in (
        ("lower_ci_95", "upper_ci_95", "95.0"),
        ("lower_ci_99_8", "upper_ci_99_8", "99.8"),
    ):
        bad = (out[lower] > out["value"]) | (out["value"] > out[upper])
        bad = bad.fillna(False).to_numpy(dtype=bool)
        if bad.any():
            position = bad.nonzero()[0][0]
            raise SourceFileError(
                source,
                f"value {out['value'].iloc[position]} lies outside its {label}% limits"
                f" {out[lower].iloc[position]}..{out[upper].iloc[position]}",
                row=int(rows[position]),
                column="Value",
            )


def keep_place_rows(frame: pd.DataFrame, place: PlaceConfig, indicator_ids: Iterable[int]):
    """Rows for the place, its comparators and its wards (parent = the place)."""
    codes = {place.code, *(a.code for a in place.comparators)}
    is_ward = frame["area_type"].str.lower().eq("ward") & frame["parent_code"].eq(place.code)
    wanted = frame["area_code"].isin(codes) | is_ward.fillna(False)
    wanted &= frame["indicator_id"].isin(list(indicator_ids))
    return frame[wanted.to_numpy(dtype=bool)]


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack several calls' rows; the same row from two calls (England, say) is kept once."""
    combined = pd.concat(frames, ignore_index=True)
    key = [
        "indicator_id",
        "area_code",
        "sex",
        "age",
        "category_type",
        "category",
        "time_period",
    ]
    return combined.drop_duplicates(subset=key, keep="first").reset_index(drop=True)


def read_indicator_files(
    paths: Sequence[Path], place: PlaceConfig, indicator_ids: Iterable[int]
) -> pd.DataFrame:
    ids = list(indicator_ids)
    if not paths:
        raise SourceFileError("(no files)", "no Fingertips CSV files found")
    frames = [keep_place_rows(parse_indicator_csv(read_text(p), str(p)), place, ids) for p in paths]
    return combine(frames)


def api_calls(place: PlaceConfig, indicator_ids: Sequence[int]) -> list[dict[str, object]]:
    """Query parameters for every call: ids in chunks of 100, place level and ward level."""
    f = place.fingertips
    levels = [
        (f.place_area_type_id, f.place_parent_area_type_id),
        (f.ward_area_type_id, f.place_area_type_id),
    ]
    ids = sorted(set(indicator_ids))
    return [
        {
            "indicator_ids": ",".join(str(i) for i in ids[start : start + MAX_IDS_PER_CALL]),
            "child_area_type_id": child,
            "parent_area_type_id": parent,
        }
        for start in range(0, len(ids), MAX_IDS_PER_CALL)
        for child, parent in levels
    ]


def fetch_indicator_values(
    session: requests.Session, place: PlaceConfig, indicator_ids: Sequence[int]
) -> tuple[pd.DataFrame, list[tuple[str, bytes]]]:
    """Call the API for every chunk and level; return the rows and each raw response."""
    url = place.fingertips.base_url.rstrip("/") + "/all_data/csv/by_indicator_id"
    frames, payloads = [], []
    for params in api_calls(place, indicator_ids):
        body = get_bytes(session, url, params)
        name = (
            f"by_indicator_id__child_{params['child_area_type_id']}"
            f"__parent_{params['parent_area_type_id']}.csv"
        )
        payloads.append((name, body))
        try:
            text = body.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SourceFileError(url, "response is not UTF-8 text") from None
        source = f"{url}?{'&'.join(f'{k}={v}' for k, v in params.items())}"
        frames.append(keep_place_rows(parse_indicator_csv(text, source), place, indicator_ids))
    return combine(frames), payloads


DEMO_FOLDER = ("ohid", "fingertips")


def catalogue_fingertips_ids() -> list[int]:
    return sorted(
        {int(row["fingertips_id"]) for row in read_indicator_catalogue() if row["fingertips_id"]}
    )


@publisher_asset(
    "fingertips_indicator_values",
    fetches=True,
    group="ohid_fingertips",
    owner="team:ohid",
    cadence="monthly",
    description=(
        "Indicator values for the place, its comparators and its wards from the OHID "
        "Fingertips API (all_data/csv/by_indicator_id), carried exactly as published. "
        "Live: HTTP, at most 100 indicator ids a call, retries on 429/5xx. Demo: bundled CSV "
        "files in the same format."
    ),
)
def fingertips_indicator_values(
    warehouse: DuckDBResource, expectations: ExpectationsResource
) -> dg.MaterializeResult:
    settings = get_settings()
    place, ids = settings.place_config, catalogue_fingertips_ids()
    if settings.source_mode == "live":
        fetched, payloads = fetch_indicator_values(make_session(), place, ids)
        landed, parse = land_payloads("ohid", "fingertips", payloads), lambda: fetched
    else:
        folder = settings.demo_dir.joinpath(*DEMO_FOLDER)
        paths = sorted(folder.glob("*.csv"))
        if not paths:
            raise SourceFileError(folder, "no CSV files: write the demo data with `marmot demo`")
        landed = land_files("ohid", "fingertips", paths)
        parse = lambda: read_indicator_files(paths, place, ids)  # noqa: E731
    frame, metadata = refresh_table(
        warehouse, "ohid", "fingertips", "fingertips_indicator_values", landed, parse
    )
    missing = sorted(set(ids) - set(frame["indicator_id"].astype(int)))
    metadata["indicators"] = dg.MetadataValue.int(frame["indicator_id"].nunique())
    metadata["catalogue_ids_without_data"] = dg.MetadataValue.json(missing)
    # its gate's suite (quality/fingertips_checks.py) started now, in the suites' process,
    # while the other sources load: the check then takes the outcome instead of waiting on it
    with warehouse.get_connection() as con:
        metadata["gate_started_ahead"] = fingertips_checks.validate_ahead(con, expectations, ids)
    return source_checked(warehouse, "fingertips_indicator_values", metadata)
