"""ONS lookup: published CSV and the ArcGIS REST API (real server on 127.0.0.1), on either LSOA
vintage: the real LSOA 2011 lookup for a place configured on it, and Coventry's default
LSOA 2021 -> ward 2024 -> LAD 2024 lookup."""

from __future__ import annotations

import csv
import json

import pytest

from marmot_assets.config import DeprivationConfig, GeographyConfig
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.http import make_session
from marmot_assets.sources.ons import fetch_lookup, parse_lookup_csv

LOOKUP = "geography/LSOA11_to_WD19_to_LAD19__Coventry_E08000026.csv"
IOD2025_COVENTRY = "imd2025/IoD2025_LSOA21__Coventry_E08000026.csv"


@pytest.fixture
def coventry_2011(coventry):
    """Coventry configured on the LSOA 2011 lookup (and so IoD2019), as the place file says."""
    geography = GeographyConfig(
        vintage="LSOA11_WD19_LAD19",
        lsoa_field="LSOA11CD",
        lsoa_name_field="LSOA11NM",
        ward_field="WD19CD",
        ward_name_field="WD19NM",
        lad_field="LAD19CD",
        lad_name_field="LAD19NM",
        arcgis_query_url=coventry.geography.arcgis_query_url.replace(
            "LSOA21_WD24_LAD24", "LSOA11_WD19_LAD19"
        ),
    )
    return coventry.model_copy(
        update={"geography": geography, "deprivation": DeprivationConfig(release="IoD2019")}
    )


def test_published_csv(reference, coventry_2011):
    frame = parse_lookup_csv(reference / LOOKUP, coventry_2011)
    assert len(frame) == 195
    assert frame["ward_code"].nunique() == 18
    assert frame.loc[frame["lsoa_code"] == "E01009526", "ward_name"].item() == "Bablake"
    assert set(frame["geography_vintage"]) == {"LSOA11_WD19_LAD19"}


def test_bad_ward_code_is_located(tmp_path, reference, coventry_2011):
    text = (reference / LOOKUP).read_text().replace("E05001218", "X05001218", 1)
    path = tmp_path / "lookup.csv"
    path.write_text(text)
    with pytest.raises(SourceFileError) as err:
        parse_lookup_csv(path, coventry_2011)
    assert (err.value.row, err.value.column) == (2, "WD19CD")


def test_truncated_file_names_the_row(tmp_path, reference, coventry_2011):
    text = (reference / LOOKUP).read_text()
    path = tmp_path / "lookup.csv"
    path.write_text(text[: len(text) // 2].rsplit(",", 2)[0])  # cut mid-row
    with pytest.raises(SourceFileError, match="truncated or malformed row") as err:
        parse_lookup_csv(path, coventry_2011)
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


def test_arcgis_api_is_paged_by_result_offset(http_server, reference, coventry_2011):
    pages = _arcgis_pages(reference, page_size=80)

    def by_offset(query):
        return json.dumps(pages[int(query["resultOffset"][0]) // 80]).encode()

    http_server.route("/arcgis/query", (200, {"Content-Type": "application/json"}, by_offset))
    geography = coventry_2011.geography.model_copy(
        update={"arcgis_query_url": http_server.base_url + "/arcgis/query"}
    )
    place = coventry_2011.model_copy(update={"geography": geography})
    frame, raw_pages = fetch_lookup(make_session(), place, page_size=80)
    assert len(frame) == 195 and frame["ward_code"].nunique() == 18
    offsets = [q["resultOffset"][0] for q in http_server.requests["/arcgis/query"]]
    assert offsets == ["0", "80", "160"]
    assert http_server.requests["/arcgis/query"][0]["where"] == ["LAD19CD='E08000026'"]
    assert len(raw_pages) == 3 and json.loads(raw_pages[0]) == pages[0]


def test_arcgis_error_payload_is_refused(http_server, coventry_2011):
    http_server.route("/arcgis/query", (200, {}, b'{"error": {"code": 400, "message": "bad"}}'))
    geography = coventry_2011.geography.model_copy(
        update={"arcgis_query_url": http_server.base_url + "/arcgis/query"}
    )
    with pytest.raises(SourceFileError, match="ArcGIS error"):
        fetch_lookup(make_session(), coventry_2011.model_copy(update={"geography": geography}))


def test_default_geography_is_lsoa21_wards_2024(tmp_path, reference, coventry):
    # Coventry's 203 real LSOA (2021) codes and names; wards and their codes are synthetic
    # (two made-up wards): only the LSOA codes and the place's fields are under test.
    with (reference / IOD2025_COVENTRY).open(newline="") as f:
        lsoas = [(r["lsoa21_code"], r["lsoa21_name"]) for r in csv.DictReader(f)]
    header = ["FID", "LSOA21CD", "LSOA21NM", "WD24CD", "WD24NM", "LAD24CD", "LAD24NM"]
    rows = [
        [i, code, name, f"E0500000{i % 2}", f"Ward {i % 2}", "E08000026", "Coventry"]
        for i, (code, name) in enumerate(lsoas, start=1)
    ]
    rows.append([len(rows) + 1, "E01010001", "Elsewhere 001A", "E05000009", "W", "E08000025", "B"])
    path = tmp_path / "LSOA21_WD24_LAD24_EW_LU.csv"
    with path.open("w", newline="") as f:
        csv.writer(f).writerows([header, *rows])
    assert coventry.geography.lsoa_year == 2021
    frame = parse_lookup_csv(path, coventry)
    assert len(frame) == 203 and frame["lsoa_code"].tolist() == sorted(c for c, _ in lsoas)
    assert set(frame["geography_vintage"]) == {"LSOA21_WD24_LAD24"}
    assert frame["ward_code"].nunique() == 2


def test_default_arcgis_query_asks_for_the_lad24_field(http_server, reference, coventry):
    with (reference / IOD2025_COVENTRY).open(newline="") as f:
        codes = [r["lsoa21_code"] for r in csv.DictReader(f)][:3]
    attributes = [
        {"LSOA21CD": c, "LSOA21NM": c, "WD24CD": "E05001218", "WD24NM": "Ward",
         "LAD24CD": "E08000026", "LAD24NM": "Coventry"}
        for c in codes
    ]  # fmt: skip
    body = json.dumps({"features": [{"attributes": a} for a in attributes]}).encode()
    http_server.route("/arcgis/query", (200, {"Content-Type": "application/json"}, body))
    geography = coventry.geography.model_copy(
        update={"arcgis_query_url": http_server.base_url + "/arcgis/query"}
    )
    frame, _ = fetch_lookup(make_session(), coventry.model_copy(update={"geography": geography}))
    assert frame["lsoa_code"].tolist() == sorted(codes)
    query = http_server.requests["/arcgis/query"][0]
    assert query["where"] == ["LAD24CD='E08000026'"] and query["orderByFields"] == ["LSOA21CD"]
    assert "LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query" in coventry.geography.arcgis_query_url
