"""Periods that tell the truth, reach that means reach: the suite's whole refresh of the demo
(which takes a Job Shop returners file too: one client starting twice in a year,
``helpers.plant_returners``), then the marts and the report.

The Job Shop's exports run April 2023 to March 2025, so its calendar years 2023 and 2025 are
partial: marked with their coverage, drawn provisional, and never a "latest" value. Family
Hubs reach counts distinct children (the hubs' quarterly return), never contacts.
"""

from __future__ import annotations

import re

import pytest
from helpers import warehouse_rows

from marmot_assets.publish import releases as rel

pytestmark = pytest.mark.e2e

FOLESHILL = "E05001222"


@pytest.fixture(scope="module")
def run(demo_refresh):
    # The suite's refresh of the demo took the Job Shop's returners file too (RETURNERS: one
    # client starting twice in 2024, in Foleshill).
    assert demo_refresh["success"], demo_refresh["checks"]
    return demo_refresh


def rows(run, sql: str) -> list[tuple]:
    return warehouse_rows(run["home"], sql)


def partial_periods(run, schema: str = "marts") -> set[tuple[str, str]]:
    return set(
        rows(
            run,
            f"select distinct indicator_id, period from {schema}.fct_indicator_values "
            "where is_partial",
        )
    )


def test_every_value_carries_its_period_dates_and_kind(run):
    assert rows(
        run,
        "select count(*) from marts.fct_indicator_values f join marts.dim_indicator i "
        "using (indicator_id) where f.period_start is null or f.period_end is null "
        "or f.period_start > f.period_end or f.period_kind is distinct from i.period_kind "
        "or f.coverage_months is null or (f.is_partial and f.coverage_note is null) "
        "or (not f.is_partial and f.coverage_note is not null)",
    ) == [(0,)]
    # the publish layer carries them too
    published = rows(
        run,
        "select period_kind, period_start, period_end, is_partial, coverage_months "
        "from publish.fct_indicator_values where indicator_id = 'job_shop_reach' "
        "and period = '2025' limit 1",
    )
    assert [tuple(map(str, r)) for r in published] == [
        ("calendar_year", "2025-01-01", "2025-12-31", "True", "3")
    ]


def test_job_shop_2023_covers_april_to_december_as_its_start_dates_do(run):
    delivered = rows(
        run,
        "select year(start_date), count(distinct date_trunc('month', start_date)), "
        "strftime(min(start_date), '%B') from staging.stg_council_job_shop__clients "
        "group by 1 order by 1",
    )
    assert delivered[0] == (2023, 9, "April")  # the demo's exports begin in April 2023
    coverage = rows(
        run,
        "select distinct indicator_id, period, is_partial, coverage_months, coverage_note "
        "from marts.fct_indicator_values where indicator_id like 'job_shop%' order by 1, 2",
    )
    for indicator in ("job_shop_into_work", "job_shop_reach"):
        assert [r[1:] for r in coverage if r[0] == indicator] == [
            ("2023", True, 9, "April-December 2023 (9 of 12 months)"),
            ("2024", False, 12, None),
            ("2025", True, 3, "January-March 2025 (3 of 12 months)"),
        ]


def test_no_partial_period_is_ever_a_latest_value(run):
    partial = partial_periods(run)
    assert ("job_shop_reach", "2025") in partial  # the latest period of the series is partial
    latest = set(
        rows(run, "select distinct indicator_id, period from intermediate.int_ward_latest_values")
    )
    assert ("job_shop_reach", "2024") in latest and not latest & partial
    profile = set(
        rows(
            run,
            "select distinct e.indicator_id, e.period from marts.mart_ward_profile, "
            'unnest(from_json(latest_values, \'[{"indicator_id": "VARCHAR", '
            '"period": "VARCHAR"}]\')) as t (e)',
        )
    )
    assert ("job_shop_into_work", "2024") in profile and not profile & partial
    published_profile = set(
        rows(run, "select distinct indicator_id, period from publish.mart_ward_profile")
    )
    assert not published_profile & partial_periods(run, "publish")
    pu = rows(
        run,
        "select distinct reach_indicator_id, reach_period, need_indicator_id, need_period "
        "from marts.mart_proportionate_universalism",
    )
    used = {(r[0], r[1]) for r in pu} | {(r[2], r[3]) for r in pu}
    assert ("job_shop_reach", "2024") in used and not used & partial
    allocation = set(
        rows(run, "select distinct need_indicator_id, need_period from marts.mart_allocation")
    )
    assert allocation and not allocation & partial


def test_the_scorecard_counts_whole_periods_only(run):
    def series(where: str) -> dict[int, int]:
        return dict(
            rows(
                run,
                "select period_year, count(*) from (select distinct f.indicator_id, f.sex, "
                "f.age, f.period_sortable // 10000 as period_year from marts.fct_indicator_values "
                "f join marts.dim_area a using (area_code) join marts.dim_indicator i "
                "using (indicator_id) where a.is_place and f.category_type is null and "
                f"f.value is not null and i.principle_id = 3 {where}) group by 1",
            )
        )

    scorecard = dict(
        rows(
            run,
            "select period_year, series from marts.mart_principle_scorecard where principle_id = 3",
        )
    )
    whole, every = series("and not f.is_partial"), series("")
    assert every != whole  # the Job Shop's partial years would otherwise count
    assert scorecard == whole


def test_a_client_starting_twice_in_a_year_is_reached_once(run):
    episodes, clients = rows(
        run,
        "select count(*), count(distinct client_key) from staging.stg_council_job_shop__clients "
        f"where ward_code = '{FOLESHILL}' and year(start_date) = 2024",
    )[0]
    assert episodes == clients + 1  # the planted client, twice
    assert rows(
        run,
        "select numerator from intermediate.int_local_counts where indicator_id = "
        f"'job_shop_reach' and area_code = '{FOLESHILL}' and period = '2024'",
    ) == [(clients,)]


def test_family_hubs_reach_is_distinct_children_within_the_population(run):
    assert rows(
        run,
        "select count(*) from marts.fct_indicator_values "
        "where indicator_id = 'family_hubs_reach' and value > 1000",
    ) == [(0,)]
    reach = rows(
        run,
        "select r.area_code, r.period, r.numerator, r.denominator, c.contacts, h.children "
        "from intermediate.int_local_counts r "
        "join (select ward_code, sum(children_reached) as children "
        "      from staging.stg_council_family_hubs__children_reached "
        "      where quarter = '2024-25 Q1' group by ward_code) h on h.ward_code = r.area_code "
        "join (select ward_code, sum(contacts) as contacts "
        "      from staging.stg_council_family_hubs__contacts "
        "      where month between '2024-04' and '2024-06' group by all) c "
        "on c.ward_code = r.area_code "
        "where r.indicator_id = 'family_hubs_reach' and r.period = '2024-25 Q1'",
    )
    assert len(reach) == 18  # every ward
    for _ward, _period, numerator, denominator, contacts, children in reach:
        assert numerator == children  # the hubs' distinct children, not contacts
        assert numerator < contacts and numerator < denominator
    assert all(
        r[0] <= 1000
        for r in rows(run, "select reach_per_1000 from marts.mart_proportionate_universalism")
    )
    assert set(
        rows(
            run,
            "select distinct service_id, reach_measure from marts.mart_proportionate_universalism",
        )
    ) == set(
        rows(
            run,
            "select s.service_id, i.indicator_name from reference.services s "
            "join marts.dim_indicator i on s.reach_indicator_id = i.indicator_id",
        )
    )


def test_the_report_draws_partial_periods_as_provisional(run):
    home = run["home"]
    html = (home / "reports" / rel.served_release_id(home) / "index.html").read_text()
    start = html.index('id="indicator-job_shop_reach"')
    block = html[start : html.index("</article>", start)]
    table = {
        m.group(1): m.group(0)
        for m in re.finditer(
            r'<tr data-indicator="job_shop_reach" data-period="([^"]+)".*?</tr>', block, re.S
        )
    }
    assert set(table) == {"2023", "2024", "2025"}
    assert 'class="provisional"' in table["2025"] and "January-March 2025" in table["2025"]
    assert "provisional" in table["2023"] and "(9 of 12 months)" in table["2023"]
    assert "provisional" not in table["2024"]
    # the headline is the latest whole year; the chart draws the partial years hollow
    assert re.search(r"<p><strong>\s*2024:</strong>", block)
    assert "hollow markers are provisional periods" in block
    assert ">provisional<" in block  # the chart legend
