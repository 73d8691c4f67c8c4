"""Nomis: the claimant count (dataset NM_162_1) for the place's LSOAs, as CSV.

The fetcher only downloads: what comes back is written to the drop folder and goes through
the door like any delivered file (marmot_assets.partners.assets.fetch_into_inbox), so a changed
header is rejected there, naming the missing column.

Request (brief, section 5):
- ``geography=<local authority code>TYPE<n>``: every LSOA within the place. The LSOA type
  follows the place's geography vintage, so codes match raw.ons_lsoa_ward_lookup (the door
  quarantines LSOAs the place does not have): TYPE298 = 2011 LSOAs, TYPE151 = 2021 LSOAs.
  Not checked against the live service from here (no network); should Nomis want its own
  numeric id as the parent instead of the GSS code, only ``query`` changes.
- the last 12 months (or a backfill's months, its partitions), total gender, all ages 16+,
  both the count (measure 1) and the share of residents aged 16-64 (measure 2); revised months
  are fetched again and staging keeps the latest delivery of each.
- ``select=`` pins the columns, so a Nomis default change cannot reshape the file.
- Nomis returns at most 25,000 rows a call: page with ``recordoffset`` while a page is full.
"""

from __future__ import annotations

import csv
import hashlib
import io

import requests

from marmot_assets.config import PlaceConfig, get_settings
from marmot_assets.sources.http import get_bytes

DATASET = "NM_162_1"
PAGE_ROWS = 25_000  # Nomis's maximum rows per call
COLUMNS = [
    "DATE",
    "DATE_NAME",
    "GEOGRAPHY_CODE",
    "GEOGRAPHY_NAME",
    "GEOGRAPHY_TYPE",
    "GENDER_NAME",
    "AGE_NAME",
    "MEASURE_NAME",
    "MEASURES_NAME",
    "OBS_VALUE",
]
LSOA_TYPES = {2011: "TYPE298", 2021: "TYPE151"}  # LSOA census year -> Nomis geography type


def lsoa_type(place: PlaceConfig) -> str:
    """Nomis geography type of the place's LSOAs (the census year of its lookup's vintage)."""
    return LSOA_TYPES[place.geography.lsoa_year]


def query(place: PlaceConfig, months: list[str] | None = None) -> dict[str, str]:
    """``months`` (YYYY-MM, a backfill's partitions) or else the latest 12."""
    return {
        "geography": f"{place.code}{lsoa_type(place)}",
        "date": ",".join(months) if months else "latestMINUS11-latest",
        "gender": "0",
        "age": "0",
        "measure": "1,2",
        "measures": "20100",
        "select": ",".join(COLUMNS),
    }


def _data_rows(page: bytes) -> int:
    """Records below the header (parsed, since a quoted field may hold a newline)."""
    text = page.decode("utf-8-sig", errors="replace")
    return max(sum(1 for record in csv.reader(io.StringIO(text)) if record) - 1, 0)


def _without_header(page: bytes) -> bytes:
    return page.split(b"\n", 1)[1] if b"\n" in page else b""


def fetch_claimant_count(
    session: requests.Session, place: PlaceConfig, contract, months: list[str] | None = None
) -> list[tuple[str, bytes]]:
    """One CSV (the pages joined under the first page's header), named after the place and
    the payload's digest so each distinct download is one delivery."""
    body = fetch_pages(session, get_settings().nomis_url, query(place, months))
    digest = hashlib.sha256(body).hexdigest()[:12]
    return [(f"{DATASET}_{place.code}_{digest}.csv", body)]


def fetch_pages(session: requests.Session, url: str, params: dict[str, str]) -> bytes:
    """Every page of a Nomis CSV query as one CSV: the first page's header, then the pages'
    rows in order (any Nomis dataset: the claimant count here, population estimates in
    marmot_assets.sources.population)."""
    pages, offset = [], 0
    while True:
        page = get_bytes(session, url, {**params, "recordoffset": str(offset)})
        pages.append(page if not pages else _without_header(page))
        if _data_rows(page) < PAGE_ROWS:
            break
        offset += PAGE_ROWS
    # Each page ends its last row with a newline before the next page's rows follow.
    return b"".join(p if p.endswith(b"\n") else p + b"\n" for p in pages if p)
