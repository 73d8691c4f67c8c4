"""Fingertips CSV parser and API client, on the real published format."""

from __future__ import annotations

import pytest

from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.fingertips import (
    MAX_IDS_PER_CALL,
    api_calls,
    fetch_indicator_values,
    parse_indicator_csv,
)
from marmot_assets.sources.http import make_session

REAL = "fingertips/indicators-CountyUA.data.csv"


@pytest.fixture(scope="module")
def real_text(reference):
    return (reference / REAL).read_text(encoding="utf-8-sig")


def test_real_file_with_older_header_and_short_rows(real_text):
    frame = parse_indicator_csv(real_text, REAL)
    assert len(frame) == 852
    coventry = frame[(frame["area_code"] == "E08000026") & frame["category_type"].isna()].iloc[0]
    assert coventry["count"] == 224 and coventry["denominator"] == 345_385
    assert coventry["value"] == pytest.approx(64.8551616312231, rel=1e-15)
    assert coventry["lower_ci_95"] == pytest.approx(56.6394811839269, rel=1e-15)
    assert coventry["upper_ci_95"] == pytest.approx(73.9276063457891, rel=1e-15)
    # The quoted newline in the indicator name is folded, the parent column found by meaning.
    assert coventry["indicator_name"] == "Campylobacter incidence rate/100,000"
    assert coventry["compared_to_parent"] == "Better"
    assert frame["time_period_range"].isna().all()
    england = frame[frame["area_code"] == "E92000001"].iloc[0]
    assert england["parent_code"] is None or england["parent_code"] != england["parent_code"]


def test_value_outside_its_interval_is_refused(real_text):
    lines = real_text.split("\n")
    # Row 2 (the first data row) spans two physical lines: the name holds a newline.
    second = lines[1] + "\n" + lines[2]
    fields = second.split(",")
    fields[13] = "99.0"  # lower 95% limit above the value 94.7
    broken = "\n".join([lines[0], ",".join(fields), *lines[3:]])
    with pytest.raises(SourceFileError) as err:
        parse_indicator_csv(broken, "broken.csv")
    assert err.value.row == 2 and err.value.column == "Value"


def test_changed_header_is_refused(real_text):
    broken = real_text.replace("Area Code", "AreaCode", 1)
    with pytest.raises(SourceFileError, match="missing column 'Area Code'") as err:
        parse_indicator_csv(broken, "changed.csv")
    assert err.value.row == 1


def test_non_numeric_value_names_row_and_column(real_text):
    broken = real_text.replace("94.7261896202678", "n/a", 1)
    with pytest.raises(SourceFileError) as err:
        parse_indicator_csv(broken, "typed.csv")
    assert (err.value.row, err.value.column) == (2, "Value")


def test_calls_chunk_ids_by_100_at_both_levels(coventry):
    calls = api_calls(coventry, list(range(1, 251)))
    assert len(calls) == 6  # 3 chunks x (place level, ward level)
    assert max(len(c["indicator_ids"].split(",")) for c in calls) == MAX_IDS_PER_CALL
    assert {(c["child_area_type_id"], c["parent_area_type_id"]) for c in calls} == {
        (502, 6),
        (8, 502),
    }


def _place(coventry, http_server):
    fingertips = coventry.fingertips.model_copy(update={"base_url": http_server.base_url + "/api/"})
    return coventry.model_copy(update={"fingertips": fingertips})


def test_api_retries_on_5xx_and_429_then_succeeds(http_server, reference, coventry):
    body = (reference / REAL).read_bytes()
    http_server.route(
        "/api/all_data/csv/by_indicator_id",
        (503, {}, b"busy"),
        (429, {"Retry-After": "1"}, b"slow down"),
        (200, {"Content-Type": "text/csv"}, body),
    )
    frame, payloads = fetch_indicator_values(make_session(), _place(coventry, http_server), [93356])
    requests = http_server.requests["/api/all_data/csv/by_indicator_id"]
    assert len(requests) == 4  # 503, 429, 200 for the place level; 200 for the ward level
    assert requests[0]["indicator_ids"] == ["93356"]
    assert payloads[0][1] == body
    # The place, England and the region; the file has no ward rows.
    assert set(frame["area_code"]) == {"E08000026", "E92000001", "E12000005"}
    # Both calls answered the same rows: each kept once.
    key = ["area_code", "age", "category_type", "category", "time_period"]
    assert len(frame) == len(frame.drop_duplicates(key)) == 73


def test_api_persistent_500_fails_with_the_url(http_server, coventry):
    http_server.route("/api/all_data/csv/by_indicator_id", (500, {}, b"down"))
    with pytest.raises(SourceFileError, match=r"by_indicator_id.*HTTP 500 after retries"):
        fetch_indicator_values(make_session(retries=2), _place(coventry, http_server), [93356])


def test_api_timeout_fails_cleanly(coventry):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts connections but never answers
    fingertips = coventry.fingertips.model_copy(
        update={"base_url": f"http://127.0.0.1:{listener.getsockname()[1]}/api/"}
    )
    place = coventry.model_copy(update={"fingertips": fingertips})
    import marmot_assets.sources.http as http

    try:
        with pytest.raises(SourceFileError, match="request failed after retries"):
            session = make_session(retries=1, backoff_factor=0)
            http.get_bytes(session, fingertips.base_url + "x", timeout=(0.5, 0.5))
    finally:
        listener.close()
    assert place.fingertips.base_url.startswith("http://127.0.0.1")
