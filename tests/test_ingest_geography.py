"""ONS lookup: published CSV and the ArcGIS REST API (real server on 127.0.0.1)."""

from __future__ import annotations

import csv
import json

import pytest

from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.http import make_session
from marmot_assets.sources.ons import fetch_lookup, parse_lookup_csv

LOOKUP = "geography/LSOA11_to_WD19_to_LAD19__Coventry_E08000026.csv"


def test_published_csv(reference, coventry):
    frame = parse_lookup_csv(reference / LOOKUP, coventry)
    assert len(frame) == 195
    assert frame["ward_code"].nunique() == 18
    assert frame.loc[frame["lsoa_code"] == "E01009526", "ward_name"].item() == "Bablake"
    assert set(frame["geography_vintage"]) == {"LSOA11_WD19_LAD19"}


def test_bad_ward_code_is_located(tmp_path, reference, coventry):
    text = (reference / LOOKUP).read_text().replace("E05001218", "X05001218", 1)
    path = tmp_path / "lookup.csv"
    path.write_text(text)
    with pytest.raises(SourceFileError) as err:
        parse_lookup_csv(path, coventry)
    assert (err.value.row, err.value.column) == (2, "WD19CD")


def test_truncated_file_names_the_row(tmp_path, reference, coventry):
    text = (reference / LOOKUP).read_text()
    path = tmp_path / "lookup.csv"
    path.write_text(text[: len(text) // 2].rsplit(",", 2)[0])  # cut mid-row
    with pytest.raises(SourceFileError, match="truncated or malformed row") as err:
        parse_lookup_csv(path, coventry)
    assert err.value.row == len(path.read_text().splitlines())


def _arcgis_pages(reference, page_size):
    with (reference / LOOKUP).open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["FID"] = int(row["FID"])
    return [
        {
            "features": [{"attributes": r} for r in rows[i : i + page_size]],
            "exceededTransferLimit": i + page_size < len(rows),
        }
        for i in range(0, len(rows), page_size)
    ]


def test_arcgis_api_is_paged_by_result_offset(http_server, reference, coventry):
    pages = _arcgis_pages(reference, page_size=80)

    def by_offset(query):
        return json.dumps(pages[int(query["resultOffset"][0]) // 80]).encode()

    http_server.route("/arcgis/query", (200, {"Content-Type": "application/json"}, by_offset))
    geography = coventry.geography.model_copy(
        update={"arcgis_query_url": http_server.base_url + "/arcgis/query"}
    )
    place = coventry.model_copy(update={"geography": geography})
    frame, raw_pages = fetch_lookup(make_session(), place, page_size=80)
    assert len(frame) == 195 and frame["ward_code"].nunique() == 18
    offsets = [q["resultOffset"][0] for q in http_server.requests["/arcgis/query"]]
    assert offsets == ["0", "80", "160"]
    assert http_server.requests["/arcgis/query"][0]["where"] == ["LAD19CD='E08000026'"]
    assert len(raw_pages) == 3 and json.loads(raw_pages[0]) == pages[0]


def test_arcgis_error_payload_is_refused(http_server, coventry):
    http_server.route("/arcgis/query", (200, {}, b'{"error": {"code": 400, "message": "bad"}}'))
    geography = coventry.geography.model_copy(
        update={"arcgis_query_url": http_server.base_url + "/arcgis/query"}
    )
    with pytest.raises(SourceFileError, match="ArcGIS error"):
        fetch_lookup(make_session(), coventry.model_copy(update={"geography": geography}))
