"""Every local rate per resident divides by the residents of its own period (the ONS mid-year
small-area estimates, in the indicator's age band), or by the latest estimates with a note
saying so: checked on a whole demo refresh against sums computed here from the raw rows."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from helpers import warehouse_rows

# indicator -> the ages its denominator counts (inclusive; 90 = 90 and over)
AGE_BANDS = {
    "claimant_rate": (16, 64),
    "job_shop_reach": (16, 64),
    "family_hubs_reach": (0, 15),
    "temporary_accommodation_rate": (0, 90),
    "crime_rate": (0, 90),
}


@pytest.fixture(scope="module")
def refreshed(demo_refresh):
    return demo_refresh


def period_year(period: str) -> int:
    """The year whose mid-year estimate a period takes: a month's or calendar year's own
    year; a financial year's (2024/25) or financial quarter's (2024-25 Q1) start year."""
    match = re.fullmatch(r"(\d{4})(?:-\d{2}|/\d{2}|-\d{2} Q[1-4])?", period)
    assert match, f"unexpected period {period!r}"
    return int(match.group(1))


@pytest.fixture(scope="module")
def residents(refreshed):
    """(ages) -> (area code, mid-year) -> residents, from raw.ons_population_estimates."""
    home = refreshed["home"]
    ward_of = dict(
        warehouse_rows(home, "select lsoa_code, ward_code from raw.ons_lsoa_ward_lookup")
    )
    [place] = warehouse_rows(home, "select area_code from raw.place_areas where is_place")
    rows = warehouse_rows(
        home, "select lsoa_code, mid_year, age, population from raw.ons_population_estimates"
    )
    out: dict[tuple[int, int], dict[tuple[str, int], int]] = {}
    for band in set(AGE_BANDS.values()):
        sums: dict[tuple[str, int], int] = defaultdict(int)
        for lsoa, year, age, population in rows:
            if band[0] <= age <= band[1] and lsoa in ward_of:
                for area in (lsoa, ward_of[lsoa], place[0]):
                    sums[area, year] += population
        out[band] = sums
    return out, max(year for _, year, _, _ in rows)


def headline_values(home, indicator: str) -> list[tuple]:
    return warehouse_rows(
        home,
        "select area_code, area_type, period, denominator, value_note "
        "from marts.fct_indicator_values "
        f"where indicator_id = '{indicator}' and category_type is null "
        "and area_type in ('lsoa', 'ward', 'local_authority')",
    )


def test_refresh_succeeded(refreshed):
    assert refreshed["success"], refreshed["checks"]


@pytest.mark.parametrize("indicator", sorted(AGE_BANDS))
def test_rates_per_resident_use_their_own_periods_population(refreshed, residents, indicator):
    sums, latest = residents
    values = headline_values(refreshed["home"], indicator)
    assert values, f"no values of {indicator}"
    for area, area_type, period, denominator, note in values:
        year = min(period_year(period), latest)
        expected = sums[AGE_BANDS[indicator]][area, year]
        assert denominator == expected, (indicator, area_type, area, period)
        if period_year(period) > latest:
            assert note and f"mid-{latest}" in note, (indicator, area, period, note)
        else:
            assert note is None, (indicator, area, period, note)


def test_periods_after_the_latest_estimate_fall_back_with_a_note(refreshed, residents):
    _, latest = residents
    assert latest == 2024  # the demo's estimates run mid-2015 to mid-2024
    newer = warehouse_rows(
        refreshed["home"],
        "select indicator_id, period, value_note from marts.fct_indicator_values "
        f"where indicator_id in {tuple(AGE_BANDS)} and left(period, 4)::integer > {latest}",
    )
    assert newer, "the demo has no period after mid-2024 to fall back from"
    assert all(
        note == f"Denominator: mid-{latest} population estimates (the latest published) "
        f"for a period of {period[:4]}"
        for _, period, note in newer
    ), newer[:3]


def test_the_note_is_published(refreshed):
    """publish.fct_indicator_values carries value_note, so a reader sees the fallback."""
    home = refreshed["home"]
    marts = dict(
        (key, note)
        for key, note in warehouse_rows(
            home,
            "select value_key, value_note from marts.fct_indicator_values "
            "where value_note like 'Denominator:%'",
        )
    )
    published = dict(
        warehouse_rows(home, "select value_key, value_note from publish.fct_indicator_values")
    )
    both = marts.keys() & published.keys()
    assert both, "no value with a denominator note is published"
    assert {k: published[k] for k in both} == {k: marts[k] for k in both}
