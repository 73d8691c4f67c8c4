"""Comparisons a Fingertips user expects, after one whole demo refresh: local indicators with a
Fingertips indicator of the same definition (the catalogue's comparable_fingertips_id) are
judged against its England and region values for the same days, sex and age; wards, LSOAs and
deprivation quantiles against the place; our place values reconcile with Fingertips' published
ones. Every judgement is recomputed here from the rows, by Fingertips' rule."""

from __future__ import annotations

import pytest
from helpers import warehouse_rows

from marmot_assets.config import read_indicator_catalogue

PLACE = "E08000026"
FINGERTIPS = "OHID Fingertips"
QUANTILE_SCHEMES = ("National IMD decile", "Local deprivation quintile")
e2e = pytest.mark.e2e  # the tests that read the warehouse of a whole refresh

COLUMNS = [
    "indicator_id", "area_code", "area_type", "period", "period_start", "period_end", "sex",
    "age", "category_type", "category", "value", "lower_ci_95", "upper_ci_95",
    "lower_ci_99_8", "upper_ci_99_8", "england_value", "region_value", "place_value",
    "compared_to_england", "compared_to_region", "compared_to_place", "is_partial", "source",
]  # fmt: skip


def judge(lower, upper, comparator, polarity: str) -> str:
    """Fingertips' colouring: the comparator outside the row's 95% interval is significant."""
    if lower is None or upper is None or comparator is None:
        return "not compared"
    if lower <= comparator <= upper:
        return "similar"
    higher = comparator < lower
    if polarity == "higher_is_better":
        return "better" if higher else "worse"
    if polarity == "lower_is_better":
        return "worse" if higher else "better"
    return "higher" if higher else "lower"


@pytest.fixture(scope="module")
def run(demo_refresh):
    return demo_refresh


@pytest.fixture(scope="module")
def facts(run) -> list[dict]:
    sql = f"select {', '.join(COLUMNS)} from marts.fct_indicator_values"
    return [dict(zip(COLUMNS, row, strict=True)) for row in warehouse_rows(run["home"], sql)]


@pytest.fixture(scope="module")
def catalogue() -> dict[str, dict[str, str]]:
    return {row["indicator_id"]: row for row in read_indicator_catalogue()}


@pytest.fixture(scope="module")
def comparable(catalogue) -> dict[str, str]:
    """Local indicator -> the catalogue's Fingertips indicator of the same definition."""
    by_fingertips_id = {r["fingertips_id"]: i for i, r in catalogue.items() if r["fingertips_id"]}
    return {
        i: by_fingertips_id[r["comparable_fingertips_id"]]
        for i, r in catalogue.items()
        if r["comparable_fingertips_id"]
    }


def headline(facts, area_type: str) -> dict[tuple, dict]:
    """Fingertips' headline rows of one area type by (indicator, first day, last day, sex, age)."""
    return {
        (f["indicator_id"], f["period_start"], f["period_end"], f["sex"], f["age"]): f
        for f in facts
        if f["area_type"] == area_type and f["category_type"] is None and f["source"] == FINGERTIPS
    }


@e2e
def test_refresh_passes_every_check_including_the_reconciliation(run):
    """The reconciliation's data test is an asset check of the refresh, and passes on the demo."""
    reconciliation = {k: v for k, v in run["checks"].items() if "fingertips_99_8" in k}
    assert reconciliation, sorted(run["checks"])
    assert all(reconciliation.values()), reconciliation
    failed = sorted(name for name, ok in run["checks"].items() if not ok)
    assert run["success"], failed


@e2e
def test_the_catalogue_maps_local_indicators_of_the_same_definition(catalogue, comparable):
    assert comparable == {
        "school_readiness_gld_local": "school_readiness_gld",
        "reception_overweight_local": "reception_overweight_obese",
        "year6_overweight_local": "year6_overweight_obese",
        "life_expectancy_birth_local": "life_expectancy_birth",
        "life_expectancy_sii_local": "life_expectancy_inequality_sii",
    }
    for local, published in comparable.items():
        ours, theirs = catalogue[local], catalogue[published]
        assert ours["source"] != "fingertips", local
        for field in ("sexes", "age", "period_kind", "polarity", "multiplier"):
            assert ours[field] == theirs[field], (local, field)


@e2e
def test_local_rows_take_england_and_the_region_from_the_comparable_indicator(
    facts, catalogue, comparable
):
    england, region = headline(facts, "country"), headline(facts, "region")
    judged = {indicator: 0 for indicator in comparable}
    for f in facts:
        if f["indicator_id"] not in comparable:
            continue
        key = (comparable[f["indicator_id"]], f["period_start"], f["period_end"], f["sex"],
               f["age"])  # fmt: skip
        whole = not f["is_partial"]
        eng = england[key]["value"] if key in england and whole else None
        reg = region[key]["value"] if key in region and whole else None
        assert (f["england_value"], f["region_value"]) == (eng, reg), f
        polarity = catalogue[f["indicator_id"]]["polarity"]
        assert f["compared_to_england"] == judge(
            f["lower_ci_95"], f["upper_ci_95"], eng, polarity
        ), f
        assert f["compared_to_region"] == judge(
            f["lower_ci_95"], f["upper_ci_95"], reg, polarity
        ), f
        if f["area_code"] == PLACE and f["category_type"] is None and eng is not None:
            judged[f["indicator_id"]] += 1
    # every mapped indicator has place rows judged against England (the demo's periods overlap)
    assert all(judged.values()), judged


@e2e
def test_periods_of_another_span_are_not_compared(facts, catalogue, comparable):
    """Five pooled years of life expectancy and the monthly NEET count have no Fingertips
    indicator of the same definition; neither do periods Fingertips has not published."""
    unmapped = [
        f for f in facts
        if f["source"] != FINGERTIPS and f["indicator_id"] not in comparable
    ]  # fmt: skip
    assert {f["indicator_id"] for f in unmapped} >= {
        "life_expectancy_birth_local_5y",
        "neet_or_not_known_local",
    }
    for f in unmapped:
        assert f["england_value"] is None and f["region_value"] is None, f
        assert f["compared_to_england"] == f["compared_to_region"] == "not compared", f
    england = headline(facts, "country")
    beyond = [
        f for f in facts
        if f["indicator_id"] == "life_expectancy_birth_local" and f["period"] == "2022 - 24"
    ]  # fmt: skip
    assert beyond, "no life expectancy for 2022 - 24"
    assert not any(
        ("life_expectancy_birth", f["period_start"], f["period_end"], f["sex"], f["age"]) in england
        for f in beyond
    )
    assert all(f["compared_to_england"] == "not compared" for f in beyond)


@e2e
def test_wards_lsoas_and_quantiles_are_judged_against_the_place(facts, catalogue):
    place = {
        (f["indicator_id"], f["period"], f["sex"], f["age"], f["source"]): f["value"]
        for f in facts
        if f["area_code"] == PLACE and f["category_type"] is None
    }
    counts = {"ward": 0, "lsoa": 0, "quantile": 0}
    for f in facts:
        small_area = f["area_type"] in ("ward", "lsoa") and f["category_type"] is None
        quantile = f["category_type"] in QUANTILE_SCHEMES
        if not (small_area or quantile):
            assert f["place_value"] is None, f
            assert f["compared_to_place"] == "not compared", f
            continue
        if f["source"] == FINGERTIPS:
            continue  # Fingertips' own judgement of its wards is kept (unit-tested in dbt)
        expected = place.get((f["indicator_id"], f["period"], f["sex"], f["age"], f["source"]))
        assert f["place_value"] == expected, f
        polarity = catalogue[f["indicator_id"]]["polarity"]
        assert f["compared_to_place"] == judge(
            f["lower_ci_95"], f["upper_ci_95"], expected, polarity
        ), f
        if f["compared_to_place"] != "not compared":
            counts["quantile" if quantile else f["area_type"]] += 1
    assert all(counts.values()), counts


@e2e
def test_fingertips_wards_keep_the_published_judgement_against_the_place(run, facts):
    published = dict(
        (tuple(row[:4]), row[4])
        for row in warehouse_rows(
            run["home"],
            "select indicator_id, area_code, period, sex, compared_to_parent "
            f"from intermediate.int_indicator_values where parent_code = '{PLACE}' "
            "and category_type is null",
        )
    )
    assert published
    for f in facts:
        key = (f["indicator_id"], f["area_code"], f["period"], f["sex"])
        if f["source"] == FINGERTIPS and f["area_type"] == "ward":
            assert f["compared_to_place"] == published[key], f


@e2e
def test_reconciliation_pairs_our_place_values_with_fingertips(run, facts, comparable):
    columns = ["indicator_id", "period", "sex", "value", "fingertips_value",
               "fingertips_lower_ci_99_8", "fingertips_upper_ci_99_8", "difference",
               "within_fingertips_99_8"]  # fmt: skip
    rows = warehouse_rows(
        run["home"],
        f"select {', '.join(columns)} from marts.mart_fingertips_reconciliation",
    )
    found = {(r[0], r[1], r[2]): dict(zip(columns, r, strict=True)) for r in rows}
    theirs = {
        (f["indicator_id"], f["period_start"], f["period_end"], f["sex"], f["age"]): f
        for f in facts
        if f["area_code"] == PLACE and f["category_type"] is None and f["source"] == FINGERTIPS
        and f["value"] is not None
    }  # fmt: skip
    expected = {}
    for f in facts:
        if (
            f["indicator_id"] in comparable and f["area_code"] == PLACE
            and f["category_type"] is None and not f["is_partial"] and f["value"] is not None
        ):  # fmt: skip
            key = (comparable[f["indicator_id"]], f["period_start"], f["period_end"], f["sex"],
                   f["age"])  # fmt: skip
            if key in theirs:
                expected[f["indicator_id"], f["period"], f["sex"]] = (f, theirs[key])
    assert expected and found.keys() == expected.keys()
    assert {indicator for indicator, _, _ in found} == set(comparable)
    for key, (ours, published) in expected.items():
        row = found[key]
        assert row["value"] == ours["value"] and row["fingertips_value"] == published["value"]
        assert row["difference"] == pytest.approx(ours["value"] - published["value"])
        inside = published["lower_ci_99_8"] <= ours["value"] <= published["upper_ci_99_8"]
        assert row["within_fingertips_99_8"] is inside, row
        # the demo's partner data and its Fingertips values agree
        assert inside, row


@e2e
def test_published_comparisons_are_withheld_with_their_cell(run):
    hidden = warehouse_rows(
        run["home"],
        "select count(*), count(compared_to_england), count(compared_to_region), "
        "count(compared_to_place) from publish.fct_indicator_values "
        "where disclosure_applied and is_suppressed",
    )[0]
    assert hidden[0] > 0 and hidden[1:] == (0, 0, 0), hidden
    shown = warehouse_rows(
        run["home"],
        "select count(*) from publish.fct_indicator_values p "
        "join marts.fct_indicator_values m using (value_key) "
        "where not p.is_suppressed and (p.compared_to_place is distinct from m.compared_to_place "
        "or p.compared_to_region is distinct from m.compared_to_region)",
    )[0][0]
    assert shown == 0
