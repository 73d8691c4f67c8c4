"""A partner's return short of a ward never stops a release.

The council's temporary-accommodation return has one row per ward and quarter. A new quarter
arrives with one ward's count refused at the door (12.5 households): the row is quarantined,
the partner's warning checks name file, row, column and reason, and the quarter and ward left
without a row, and the refresh still publishes. In the release the ward has a row for the
quarter with no value and the reason; the place's total and its quintiles for the quarter
are withheld, with the reason (a total over the other wards would understate the place); the
other wards' values and the earlier quarters are published as before.

On a copy of the shared demo refresh.
"""

from __future__ import annotations

import re

import dagster as dg
import duckdb
import pytest
from helpers import copied_home, inbox_files

from marmot_assets.config import get_settings
from marmot_assets.definitions import REFRESH_JOB, build_definitions
from marmot_assets.partners.contract import get_contract
from marmot_assets.publish import releases as rel

pytestmark = pytest.mark.e2e

CONTRACT = get_contract("council_housing/temporary_accommodation")
RAW = dg.AssetKey(["raw", CONTRACT.table])
INDICATOR = "temporary_accommodation_rate"


def _next_quarter(quarter: str) -> str:
    year, q = int(quarter[:4]), int(quarter[-1])
    year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return f"{year}-{(year + 1) % 100:02d} Q{q}"


def _served(home, sql: str, *params) -> list[tuple]:
    with duckdb.connect(str(home / "serving" / "marmot.duckdb"), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


@pytest.fixture(scope="module")
def short_return(demo_refresh, demo_root, tmp_path_factory):
    with copied_home(tmp_path_factory, "short_return", demo_refresh) as run:
        home = run["home"]
        latest = max(inbox_files(demo_root, CONTRACT), key=lambda p: p.name)
        last = re.search(r"\d{4}-\d{2}_Q\d", latest.name).group().replace("_", " ")
        quarter = _next_quarter(last)
        lines = latest.read_text(encoding="utf-8-sig").splitlines()
        header, rows = lines[0], [line.replace(last, quarter) for line in lines[1:]]
        cells = rows[1].split(",")
        short_ward, cells[3] = cells[0], "12.5"  # a count no household can be
        rows[1] = ",".join(cells)
        name = latest.name.replace(last.replace(" ", "_"), quarter.replace(" ", "_"))
        folder = home / "inbox" / CONTRACT.partner / CONTRACT.dataset
        (folder / name).write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
        before = rel.served_release_id(home)
        earlier = _served(
            home,
            "select area_code, period, value from fct_indicator_values "
            "where indicator_id = ? and category_type is null order by all",
            INDICATOR,
        )
        defs = build_definitions()
        graph = defs.get_repository_def().asset_graph
        selection = list(dg.AssetSelection.assets(RAW).downstream().resolve(graph))
        with dg.DagsterInstance.get() as instance:
            result = defs.resolve_job_def(REFRESH_JOB).execute_in_process(
                instance=instance, asset_selection=selection, raise_on_error=False
            )
        yield {
            "home": home, "result": result, "quarter": quarter, "ward": short_ward,
            "name": name, "before": before, "earlier": earlier,
        }  # fmt: skip


def test_the_refresh_publishes_a_new_release(short_return):
    assert short_return["result"].success
    home = short_return["home"]
    assert rel.served_release_id(home) != short_return["before"]
    evaluations = {
        (tuple(c.asset_key.path), c.check_name): c
        for c in short_return["result"].get_asset_check_evaluations()
    }
    assert evaluations[(("publication", "staged_release"), "release_complete")].passed
    quarantine = evaluations[(tuple(RAW.path), "no_rows_quarantined")]
    assert not quarantine.passed
    assert quarantine.severity == dg.AssetCheckSeverity.WARN
    shown = quarantine.metadata["quarantined_rows"].md_str
    (line,) = [line for line in shown.splitlines() if short_return["name"] in line]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells == [short_return["name"], "3", "households_in_ta", "is not a whole number"]
    coverage = evaluations[(tuple(RAW.path), "every_ward_reported")]  # the partner is told
    assert not coverage.passed
    assert coverage.severity == dg.AssetCheckSeverity.WARN
    short = coverage.metadata["periods_short"].md_str
    (line,) = [line for line in short.splitlines() if short_return["name"] in line]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells[1:] == [short_return["quarter"], "17 of 18", short_return["ward"]]
    assert "withheld" in coverage.metadata["what_follows"].value


def test_the_short_ward_says_why_it_has_no_value(short_return):
    (row,) = _served(
        short_return["home"],
        "select value, numerator, lower_ci_95, value_note from fct_indicator_values "
        "where indicator_id = ? and area_code = ? and period = ? and category_type is null",
        INDICATOR, short_return["ward"], short_return["quarter"],
    )  # fmt: skip
    value, numerator, lower, note = row
    assert (value, numerator, lower) == (None, None, None)
    assert "no accepted row for this ward" in note and "quarantined at the door" in note


def test_the_place_totals_of_the_quarter_are_withheld(short_return):
    place = get_settings().place_config.code
    rows = _served(
        short_return["home"],
        "select category_type, category, value, numerator, denominator, value_note "
        "from fct_indicator_values where indicator_id = ? and area_code = ? and period = ?",
        INDICATOR, place, short_return["quarter"],
    )  # fmt: skip
    assert {r[0] for r in rows} == {None, "Local deprivation quintile"}
    assert len(rows) == 6  # the headline and five quintiles
    wards = _served(short_return["home"], "select count(*) from dim_area where area_type = 'ward'")
    for _type, _category, value, numerator, denominator, note in rows:
        assert (value, numerator, denominator) == (None, None, None)
        assert f"lacks 1 of {wards[0][0]} wards" in note


def test_the_other_wards_and_the_earlier_quarters_are_published(short_return):
    home, quarter = short_return["home"], short_return["quarter"]
    others = _served(
        home,
        "select area_code, value from fct_indicator_values where indicator_id = ? "
        "and area_type = 'ward' and period = ? and area_code <> ?",
        INDICATOR, quarter, short_return["ward"],
    )  # fmt: skip
    wards = _served(home, "select count(*) from dim_area where area_type = 'ward'")[0][0]
    assert len(others) == wards - 1
    assert all(value is not None for _, value in others)
    now = _served(
        home,
        "select area_code, period, value from fct_indicator_values "
        "where indicator_id = ? and category_type is null and period <> ? order by all",
        INDICATOR, quarter,
    )  # fmt: skip
    assert now == short_return["earlier"]
