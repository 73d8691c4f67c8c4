"""ONS small-area population estimates (Nomis NM_2014_1): the exact CSV layout, its refusals,
the live API paged by recordoffset (real server on 127.0.0.1), and the demo's values."""

from __future__ import annotations

import csv
import io
import re

import pytest
from helpers import csv_rows

from marmot_assets.config import get_settings
from marmot_assets.demo.publishers.mhclg import IMD_FILE_6
from marmot_assets.partners import nomis
from marmot_assets.reading.errors import SourceFileError
from marmot_assets.sources.http import make_session
from marmot_assets.sources.population import (
    COLUMNS,
    DEMO_FILE,
    fetch_population,
    parse_population_csv,
    parse_population_text,
)

PATH = "/api/v01/dataset/NM_2014_1.data.csv"
LABELS = [f"Age {a}" for a in range(90)] + ["Aged 90+"]


def nomis_csv(rows: list[list], header: list[str] = COLUMNS) -> str:
    """A reply as Nomis writes it: every field quoted, LF."""
    buffer = io.StringIO()
    out = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\n")
    out.writerow(header)
    out.writerows(rows)
    return buffer.getvalue()


def lsoa_year(lsoa: str, year: str, base: int = 10) -> list[list]:
    """One whole LSOA-year: both sexes, all 91 ages; population = base + age (+100 female)."""
    return [
        [year, lsoa, sex, label, base + age + (100 if sex == "Female" else 0)]
        for sex in ("Male", "Female")
        for age, label in enumerate(LABELS)
    ]


@pytest.fixture
def population_server(http_server, monkeypatch):
    monkeypatch.setenv("MARMOT_POPULATION_URL", http_server.base_url + PATH)
    get_settings.cache_clear()
    return http_server


# --- the layout -----------------------------------------------------------------------------
def test_parses_the_exact_nomis_layout():
    text = nomis_csv(lsoa_year("E01009526", "2023") + lsoa_year("E01009527", "2022", base=1))
    frame = parse_population_text(text, "nomis.csv")
    assert list(frame.columns) == ["mid_year", "lsoa_code", "sex", "age", "population"]
    assert len(frame) == 2 * 2 * 91
    row = frame[(frame.lsoa_code == "E01009526") & (frame.sex == "Female") & (frame.age == 90)]
    assert (row.mid_year.item(), row.population.item()) == (2023, 10 + 90 + 100)
    seven = frame[(frame.lsoa_code == "E01009527") & (frame.sex == "Male") & (frame.age == 7)]
    assert (seven.mid_year.item(), seven.population.item()) == (2022, 8)
    assert sorted(frame.age.unique()) == list(range(91))


def test_lower_case_headers_are_matched():
    text = nomis_csv(lsoa_year("E01009526", "2023"), [c.lower() for c in COLUMNS])
    assert parse_population_text(text, "nomis.csv").population.sum() == 2 * (91 * 10 + 4095) + 9100


@pytest.mark.parametrize(
    "column, value, row, words",
    [
        ("C_AGE_NAME", "All Ages", 5, "single year of age"),
        ("GENDER_NAME", "Total", 3, "Male or Female"),
        ("GEOGRAPHY_CODE", "E0100952", 2, "LSOA code"),
        ("DATE_NAME", "twenty", 4, "mid-year"),
        ("OBS_VALUE", "1.5", 6, "whole number"),
    ],
)
def test_bad_cell_names_file_row_and_column(column, value, row, words):
    rows = lsoa_year("E01009526", "2023")
    rows[row - 2][COLUMNS.index(column)] = value
    with pytest.raises(SourceFileError, match=words) as err:
        parse_population_text(nomis_csv(rows), "nomis.csv")
    assert (err.value.source, err.value.row, err.value.column) == ("nomis.csv", row, column)


def test_missing_column_is_named():
    header = ["VALUE" if c == "OBS_VALUE" else c for c in COLUMNS]
    with pytest.raises(SourceFileError, match="missing column OBS_VALUE") as err:
        parse_population_text(nomis_csv(lsoa_year("E01009526", "2023"), header), "nomis.csv")
    assert err.value.row == 1


def test_incomplete_lsoa_year_is_refused():
    rows = lsoa_year("E01009526", "2023") + lsoa_year("E01009527", "2023")[:-1]
    with pytest.raises(SourceFileError, match="E01009527 in 2023 has 181 of the 182") as err:
        parse_population_text(nomis_csv(rows), "nomis.csv")
    assert (err.value.row, err.value.column) == (184, "GEOGRAPHY_CODE")


def test_duplicate_cell_is_refused():
    rows = lsoa_year("E01009526", "2023")
    rows[5] = list(rows[4])
    with pytest.raises(SourceFileError, match="appear twice") as err:
        parse_population_text(nomis_csv(rows), "nomis.csv")
    assert err.value.row == 7


# --- the live API ---------------------------------------------------------------------------
def test_live_fetch_pages_by_recordoffset(coventry, population_server, monkeypatch):
    monkeypatch.setattr(nomis, "PAGE_ROWS", 182)
    pages = [lsoa_year("E01009526", "2023"), lsoa_year("E01009527", "2023")]
    population_server.route(
        PATH,
        (200, {}, nomis_csv(pages[0]).encode()),
        (200, {}, nomis_csv(pages[1]).encode()),
        (200, {}, nomis_csv([]).encode()),  # a full last page: Nomis then sends none
    )
    name, body = fetch_population(make_session(), coventry)

    queries = population_server.requests[PATH]
    assert [q["recordoffset"] for q in queries] == [["0"], ["182"], ["364"]]
    first = queries[0]
    assert first["geography"] == ["E08000026TYPE151"]  # the place's LSOAs, its vintage (2021)
    assert first["select"] == ["date_name,geography_code,gender_name,c_age_name,obs_value"]
    assert (first["gender"], first["c_age"], first["measures"]) == (
        ["1,2"],
        ["101...191"],
        ["20100"],
    )
    assert first["date"] == ["latestMINUS9-latest"]
    assert body.decode() == nomis_csv(pages[0] + pages[1])  # one header, rows in order
    assert name == "NM_2014_1_E08000026.csv"
    frame = parse_population_text(body.decode(), PATH)
    assert frame.groupby("lsoa_code").size().to_dict() == {"E01009526": 182, "E01009527": 182}


def test_live_fetch_gives_up_on_a_lasting_error(coventry, population_server):
    population_server.route(PATH, (503, {}, b"Service Unavailable"))
    with pytest.raises(SourceFileError, match="HTTP 503"):
        fetch_population(make_session(retries=2), coventry)


# --- the demo -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_population(demo_root):
    return parse_population_csv(demo_root.joinpath("demo", *DEMO_FILE))


def test_demo_file_is_in_the_nomis_layout(demo_root, demo_again, demo_lookup):
    path = demo_root.joinpath("demo", *DEMO_FILE)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(f'"{c}"' for c in COLUMNS)
    assert all(re.fullmatch(r'"[^"]*"(,"[^"]*")*', line) for line in lines[:2000])
    assert path.read_bytes() == demo_again.joinpath("demo", *DEMO_FILE).read_bytes()
    rows = csv_rows(path)[1:]
    assert {r[0] for r in rows} == {str(y) for y in range(2015, 2025)}
    assert {r[1] for r in rows} == {x["LSOA21CD"] for x in demo_lookup}
    assert {r[3] for r in rows} == set(LABELS)


def test_demo_mid_2015_adds_up_to_the_iod_denominators(demo_root, demo_population):
    file_6 = {
        r[0]: [int(v.replace(",", "")) for v in r[4:8]]
        for r in csv_rows(demo_root / "demo" / IMD_FILE_6)[1:]
    }
    p = demo_population[demo_population.mid_year == 2015]
    bands = {
        "total": p,
        "0-15": p[p.age <= 15],
        "16-59": p[(p.age >= 16) & (p.age <= 59)],
        "60+": p[p.age >= 60],
    }
    sums = {name: frame.groupby("lsoa_code").population.sum() for name, frame in bands.items()}
    for lsoa in p.lsoa_code.unique():
        assert [int(sums[b][lsoa]) for b in bands] == file_6[lsoa], lsoa


def test_demo_populations_are_realistic(demo_population):
    totals = demo_population.groupby("mid_year").population.sum()
    assert 335_000 <= totals[2021] <= 355_000
    assert 352_000 <= totals[2023] <= 368_000
    assert totals[2023] > totals[2022] > totals[2021]
    for year in (2015, 2023):
        ages = demo_population[demo_population.mid_year == year].groupby("age").population.sum()
        median = int((ages.cumsum() >= ages.sum() / 2).idxmax())
        assert 33 <= median <= 37, (year, median)
        # a university city: more 20-year-olds than 50-year-olds
        assert ages[20] > 1.2 * ages[50]
    males = demo_population[demo_population.sex == "Male"].groupby("age").population.sum()
    everyone = demo_population.groupby("age").population.sum()
    assert 0.49 < males[:18].sum() / everyone[:18].sum() < 0.53
    assert males[90] / everyone[90] < 0.4  # women outlive men
