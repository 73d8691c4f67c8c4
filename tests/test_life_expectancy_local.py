"""Life expectancy computed locally (principle 0) from PCMD death registrations and the ONS
estimates, after one whole demo refresh: the marts hold exactly what
marmot_assets.methods.life_expectancy and .sii give on the warehouse's own deaths and
residents; the demo agrees with the demo Fingertips values; deprivation shortens lives."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from conftest import PROJECT_DIR
from helpers import warehouse_rows

from marmot_assets.methods import life_expectancy, sii
from marmot_assets.methods.life_expectancy import LE_START_AGES

PLACE = "E08000026"
MODEL = PROJECT_DIR / "dbt_project" / "models" / "intermediate" / "int_life_expectancy_local.py"
e2e = pytest.mark.e2e  # the tests that read the warehouse of a whole refresh


@pytest.fixture(scope="module")
def run(demo_refresh):
    assert demo_refresh["success"]
    return demo_refresh


def frame(run, sql: str, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(warehouse_rows(run["home"], sql), columns=columns)


@pytest.fixture(scope="module")
def residents(run) -> pd.DataFrame:
    """Deaths and residents by year, LSOA, sex and single year of age, from the staging
    tables, with each LSOA's ward and deprivation groups."""
    deaths = frame(
        run,
        "select year_of_death, lsoa_code, sex, least(age_at_death, 90), count(*) "
        "from staging.stg_nhs_pcmd__deaths where lsoa_code is not null group by all",
        ["year", "lsoa_code", "sex", "age", "deaths"],
    )
    population = frame(
        run,
        "select population_year, lsoa_code, sex, age, population "
        "from staging.stg_ons__population_estimates",
        ["year", "lsoa_code", "sex", "age", "population"],
    )
    lsoas = frame(
        run,
        "select lsoa_code, ward_code, imd_decile, local_imd_quintile "
        "from intermediate.int_lsoa_deprivation",
        ["lsoa_code", "ward_code", "imd_decile", "local_imd_quintile"],
    )
    cells = population.merge(deaths, how="left", on=["year", "lsoa_code", "sex", "age"])
    cells["deaths"] = cells["deaths"].fillna(0)
    bands = np.array(LE_START_AGES)
    cells["band"] = bands[np.searchsorted(bands, cells["age"], side="right") - 1]
    return cells.merge(lsoas, on="lsoa_code")


def expected(residents, years, sex, confidence=0.95, **where) -> pd.DataFrame:
    """methods.life_expectancy on the pooled deaths and residents of the cells selected."""
    chosen = residents[residents["year"].isin(years) & (residents["sex"] == sex)]
    for column, value in where.items():
        chosen = chosen[chosen[column] == value]
    by_band = chosen.groupby("band")[["deaths", "population"]].sum().reindex(LE_START_AGES)
    return life_expectancy(by_band["deaths"], by_band["population"], by_band.index, confidence)


def values(run, where: str) -> pd.DataFrame:
    columns = [
        "indicator_id", "area_code", "period", "sex", "category", "numerator", "denominator",
        "value", "lower_ci_95", "upper_ci_95", "value_note", "source",
    ]  # fmt: skip
    return frame(
        run, f"select {', '.join(columns)} from marts.fct_indicator_values where {where}", columns
    )


def ward_code(run, name: str) -> str:
    return warehouse_rows(
        run["home"], f"select area_code from marts.dim_area where area_name = '{name}'"
    )[0][0]


# --- what the marts hold is what OHID's method gives -----------------------------------------
@e2e
@pytest.mark.parametrize("sex", ["Male", "Female"])
def test_place_life_expectancy_is_the_method_on_the_warehouse_deaths(run, residents, sex):
    rows = values(run, f"indicator_id = 'life_expectancy_birth_local' and category is null "
                       f"and sex = '{sex}' order by period")  # fmt: skip
    assert list(rows["period"]) == ["2019 - 21", "2020 - 22", "2021 - 23", "2022 - 24"]
    for row in rows.itertuples():
        first = int(row.period[:4])
        table = expected(residents, range(first, first + 3), sex)
        assert row.value == pytest.approx(table["value"][0], abs=1e-9)
        assert (row.lower_ci_95, row.upper_ci_95) == pytest.approx(
            (table["lower"][0], table["upper"][0]), abs=1e-9
        )
    at_65 = values(run, f"indicator_id = 'life_expectancy_65_local' and category is null "
                        f"and sex = '{sex}' and period = '2022 - 24'")  # fmt: skip
    table = expected(residents, range(2022, 2025), sex)
    assert at_65["value"][0] == pytest.approx(table.set_index("start_age")["value"][65], abs=1e-9)


@e2e
@pytest.mark.parametrize("ward", ["Foleshill", "Wainbody"])
def test_ward_life_expectancy_pools_five_years(run, residents, ward):
    code = ward_code(run, ward)
    rows = values(run, f"indicator_id = 'life_expectancy_birth_local_5y' and area_code = '{code}'")
    assert set(rows["period"]) == {"2019 - 23", "2020 - 24"} and set(rows["sex"]) == {
        "Male",
        "Female",
    }
    for row in rows.itertuples():
        first = int(row.period[:4])
        table = expected(residents, range(first, first + 5), row.sex, ward_code=code)
        assert row.value == pytest.approx(table["value"][0], abs=1e-9)
        cells = residents[
            residents["year"].between(first, first + 4)
            & (residents["sex"] == row.sex)
            & (residents["ward_code"] == code)
        ]
        assert (row.numerator, row.denominator) == (
            cells["deaths"].sum(),
            cells["population"].sum(),
        )


@e2e
def test_sii_is_the_method_on_the_decile_values(run, residents):
    sii_rows = values(run, "indicator_id = 'life_expectancy_sii_local'")
    assert len(sii_rows) == 8  # four three-year periods, two sexes
    for row in sii_rows.itertuples():
        deciles = values(run, f"indicator_id = 'life_expectancy_birth_local' and category_type "
                              f"= 'National IMD decile' and period = '{row.period}' and sex = "
                              f"'{row.sex}' and value is not null")  # fmt: skip
        deciles = deciles.assign(d=deciles["category"].astype(int)).sort_values("d")
        assert len(deciles) >= 5
        # each decile's value is the method on its own LSOAs
        first = int(row.period[:4])
        most = expected(
            residents, range(first, first + 3), row.sex, imd_decile=deciles["d"].iloc[0]
        )
        assert deciles["value"].iloc[0] == pytest.approx(most["value"][0], abs=1e-9)
        result = sii(deciles["value"], deciles["denominator"], deciles["lower_ci_95"],
                     deciles["upper_ci_95"], repetitions=100_000, seed=1)  # fmt: skip
        assert row.value == pytest.approx(result["sii"], abs=1e-9)
        # limits by simulation (another seed): close to ours, and around the value
        assert row.lower_ci_95 < row.value < row.upper_ci_95
        assert row.lower_ci_95 == pytest.approx(result["sii_lower"], abs=0.1)
        assert row.upper_ci_95 == pytest.approx(result["sii_upper"], abs=0.1)


# --- the demo tells one story ------------------------------------------------------------------
@e2e
@pytest.mark.parametrize("sex", ["Male", "Female"])
def test_place_value_lies_within_the_demo_fingertips_interval(run, sex):
    ours = values(run, f"indicator_id = 'life_expectancy_birth_local' and category is null "
                       f"and sex = '{sex}'").set_index("period")  # fmt: skip
    theirs = values(run, f"indicator_id = 'life_expectancy_birth' and area_code = '{PLACE}' "
                         f"and sex = '{sex}'").set_index("period")  # fmt: skip
    common = ours.index.intersection(theirs.index)
    assert list(common) == ["2019 - 21", "2020 - 22"]
    for period in common:
        low, high = theirs.loc[period, ["lower_ci_95", "upper_ci_95"]]
        assert low <= ours.loc[period, "value"] <= high


@e2e
@pytest.mark.parametrize("sex", ["Male", "Female"])
def test_the_most_deprived_live_shorter_lives(run, sex):
    foleshill, wainbody = ward_code(run, "Foleshill"), ward_code(run, "Wainbody")
    wards = values(run, f"indicator_id = 'life_expectancy_birth_local_5y' and period = "
                        f"'2020 - 24' and sex = '{sex}' and area_code in ('{foleshill}', "
                        f"'{wainbody}')").set_index("area_code")  # fmt: skip
    assert wards.loc[foleshill, "value"] < wards.loc[wainbody, "value"]
    deciles = values(run, f"indicator_id = 'life_expectancy_birth_local' and period = "
                          f"'2022 - 24' and sex = '{sex}' and category_type = "
                          f"'National IMD decile' and value is not null")  # fmt: skip
    by = deciles.set_index(deciles["category"].astype(int))["value"]
    gap = by[by.index.max()] - by[by.index.min()]
    assert (6 < gap < 14) if sex == "Male" else (4 < gap < 13)


# --- published under disclosure control ------------------------------------------------------
@e2e
def test_published_counts_are_controlled(run):
    # life expectancy is no rate: its deaths and residents are rounded, 1-7 deaths hidden
    published = warehouse_rows(
        run["home"],
        "select count(*), count(value), count(*) filter (where numerator % 5 <> 0 or "
        "denominator % 5 <> 0), count(*) filter (where numerator between 1 and 7), "
        "bool_and(disclosure_applied) from publish.fct_indicator_values "
        "where indicator_id like 'life_expectancy_%_local%'",
    )[0]
    total, with_value, unrounded, small, applied = published
    assert total > 100 and with_value > 0.8 * total
    assert (unrounded, small, applied) == (0, 0, True)


# --- the model's own rules, on inputs small enough to break them ------------------------------
def model_module():
    """The dbt Python model, imported as the plain module it is (dbt calls its ``model``)."""
    spec = importlib.util.spec_from_file_location("int_life_expectancy_local", MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def inputs(population_per_band: float, deaths_per_band: float, area: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "area_code": area, "area_type": "ward", "category_type": None, "category": None,
            "pool_years": 5, "period": "2020 - 24", "period_sortable": 20200000, "sex": "Male",
            "start_age": list(LE_START_AGES), "deaths": deaths_per_band,
            "population": population_per_band,
        }
    )  # fmt: skip


def test_values_are_withheld_with_ohids_reason():
    module = model_module()
    # 20 bands of 240 residents: 4,800 in all, under OHID's 5,000
    small = inputs(240.0, 12.0, "E05000001")
    # 6,000 residents and two deaths (at 80-84 and 90+): the 95% interval spans centuries
    sparse = inputs(300.0, 0.0, "E05000002")
    sparse.loc[sparse["start_age"].isin([80, 90]), "deaths"] = 1.0
    rows = pd.DataFrame(module.life_expectancy_rows(pd.concat([small, sparse])))
    assert len(rows) == 4  # two areas, at birth and at 65
    withheld = rows[rows["area_code"] == "E05000001"]
    assert withheld["value"].isna().all() and withheld["lower_ci_95"].isna().all()
    assert all("5,000 or less" in note for note in withheld["value_note"])
    # the counts stay, for disclosure control: deaths and residents (from 65 at 65)
    at_65 = withheld[withheld["age"] == "65 yrs"].iloc[0]
    assert (at_65["numerator"], at_65["denominator"]) == (12.0 * 6, 240.0 * 6)
    wide = rows[rows["area_code"] == "E05000002"]
    assert wide["value"].isna().all() and wide["lower_ci_95"].isna().all()
    assert all("wider than 20 years" in note for note in wide["value_note"])


def test_sii_needs_five_deciles_with_a_value():
    module = model_module()
    deciles = pd.DataFrame(
        {
            "indicator_id": "life_expectancy_birth_local", "area_code": PLACE,
            "period": "2022 - 24", "period_sortable": 20220000, "sex": "Male",
            "category_type": "National IMD decile",
            "category": [str(d) for d in range(1, 7)], "denominator": 30_000.0,
            "value": [74.0, 75.5, 77.0, np.nan, 79.0, 80.5],
            "lower_ci_95": [73.0, 74.5, 76.0, np.nan, 78.0, 79.5],
            "upper_ci_95": [75.0, 76.5, 78.0, np.nan, 80.0, 81.5],
        }
    )  # fmt: skip
    (row,) = module.sii_rows(deciles)  # five deciles with a value: computed, decile 4 left out
    present = deciles.dropna(subset=["value"])
    assert row["value"] == pytest.approx(sii(present["value"], present["denominator"])["sii"])
    assert row["lower_ci_95"] < row["value"] < row["upper_ci_95"]
    (row,) = module.sii_rows(deciles[deciles["category"] != "6"])  # four: withheld, with why
    assert row["value"] is None and "5 and 100 quantiles" in row["value_note"]


# --- preventable mortality under 75 ------------------------------------------------------------
@e2e
def test_preventable_mortality_is_the_dsr_of_the_warehouse_deaths(run):
    from marmot_assets.methods import ESP2013, dsr

    causes = warehouse_rows(
        run["home"],
        "select icd10_from, icd10_to, preventable_share "
        "from reference.preventable_mortality_causes",
    )
    deaths = frame(
        run,
        "select year_of_death, age_at_death, underlying_cause from staging.stg_nhs_pcmd__deaths d "
        "join intermediate.int_lsoa_deprivation using (lsoa_code) where age_at_death < 75",
        ["year", "age", "cause"],
    )
    residents = frame(
        run,
        "select population_year, age // 5 * 5, sum(population) from "
        "staging.stg_ons__population_estimates where age < 75 group by all",
        ["year", "band", "population"],
    )

    def share(cause: str) -> float:
        return sum(s for low, high, s in causes if low <= cause[:3] <= high)

    deaths["share"] = deaths["cause"].map(share)
    deaths["band"] = deaths["age"] // 5 * 5
    assert 0 < deaths["share"].sum() < len(deaths)  # some causes count, some do not, some half
    rows = values(run, "indicator_id = 'preventable_mortality_u75_local' and category is null")
    assert len(rows) == 4
    for row in rows.itertuples():
        years = range(int(row.period[:4]), int(row.period[:4]) + 3)
        x = deaths[deaths["year"].isin(years)].groupby("band")["share"].sum()
        n = residents[residents["year"].isin(years)].groupby("band")["population"].sum()
        bands = range(0, 75, 5)
        result = dsr(x.reindex(bands, fill_value=0), n.reindex(bands), ESP2013[:15])
        assert (row.value, row.lower_ci_95, row.upper_ci_95) == pytest.approx(
            (result.value, result.lower, result.upper), abs=1e-9
        )
        assert row.numerator == pytest.approx(x.sum())
        assert 100 < row.value < 400  # per 100,000: England is about 140


def test_preventable_mortality_is_withheld_under_ten_deaths():
    spec = importlib.util.spec_from_file_location(
        "int_preventable_mortality_local", MODEL.with_name("int_preventable_mortality_local.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    inputs = pd.DataFrame(
        {
            "area_code": PLACE, "area_type": "local_authority", "category_type": None,
            "category": None, "period": "2022 - 24", "period_sortable": 20220000,
            "sex": "Male", "start_age": list(range(0, 75, 5)), "population": 3_000.0,
            "deaths": [0.0] * 13 + [4.5, 4.5],  # 9 deaths, both sexes pooled
        }
    )  # fmt: skip
    (row,) = module.dsr_rows(inputs)
    assert row["value"] is None and "below 10" in row["value_note"]
    assert row["numerator"] == 9.0 and row["denominator"] == 45_000.0
    inputs.loc[inputs["start_age"] == 70, "deaths"] = 5.5  # 10 deaths: published
    (row,) = module.dsr_rows(inputs)
    assert row["value"] > 0 and row["value_note"] is None


# --- the inequality mart and the scorecard -----------------------------------------------------
LE_SCHEMES = {
    ("life_expectancy_birth_local", "National IMD decile"),
    ("life_expectancy_65_local", "National IMD decile"),
    ("life_expectancy_birth_local_5y", "Local deprivation quintile"),
    ("life_expectancy_65_local_5y", "Local deprivation quintile"),
}


@e2e
def test_inequality_mart_holds_the_methods_gap_and_sii_of_the_quantile_values(run):
    columns = [
        "indicator_id", "quantile_scheme", "period", "sex", "age", "is_partial", "quantiles",
        "most_deprived_value", "least_deprived_value", "absolute_gap", "sii", "sii_lower",
        "sii_upper", "sii_indicator_id", "previous_period", "gap_trend",
    ]  # fmt: skip
    mart = frame(
        run,
        f"select {', '.join(columns)} from marts.mart_inequality "
        "where indicator_id like 'life_expectancy_%_local%' order by indicator_id, "
        "quantile_scheme, sex, period_sortable",
        columns,
    )
    assert set(zip(mart["indicator_id"], mart["quantile_scheme"], strict=True)) == LE_SCHEMES
    for (_, _), rows in mart.groupby(["indicator_id", "quantile_scheme"]):
        assert set(rows["sex"]) == {"Male", "Female"}
    published_sii = values(run, "indicator_id = 'life_expectancy_sii_local'").set_index(
        ["period", "sex"]
    )
    for row in mart.itertuples():
        cells = values(run, f"indicator_id = '{row.indicator_id}' and area_code = '{PLACE}' "
                            f"and category_type = '{row.quantile_scheme}' and period = "
                            f"'{row.period}' and sex = '{row.sex}'")  # fmt: skip
        cells = cells.assign(q=cells["category"].astype(int)).sort_values("q")
        present = cells[cells["value"].notna()]
        least = cells["q"].max()  # the scheme's least deprived quantile, with a value or not
        by = cells.set_index("q")["value"]
        assert row.most_deprived_value == pytest.approx(by[1], abs=1e-9)
        assert row.least_deprived_value == pytest.approx(by[least], abs=1e-9)
        # gap = most minus least deprived: life expectancy is shorter in the most deprived
        assert row.absolute_gap == pytest.approx(by[1] - by[least], abs=1e-9)
        assert row.absolute_gap < 0
        expected_sii = sii(present["value"], present["denominator"], present["lower_ci_95"],
                           present["upper_ci_95"], repetitions=100_000, seed=7)  # fmt: skip
        assert row.quantiles == len(present) >= 5
        assert row.sii == pytest.approx(expected_sii["sii"], abs=1e-9)
        assert row.sii > 0 and row.sii_lower < row.sii < row.sii_upper
        if (row.indicator_id, row.quantile_scheme) == (
            "life_expectancy_birth_local",
            "National IMD decile",
        ):
            # the SII is life_expectancy_sii_local's, value and limits: the tables agree
            own = published_sii.loc[(row.period, row.sex)]
            assert row.sii_indicator_id == "life_expectancy_sii_local"
            assert (row.sii, row.sii_lower, row.sii_upper) == pytest.approx(
                (own["value"], own["lower_ci_95"], own["upper_ci_95"]), abs=1e-9
            )
        else:
            assert row.sii_indicator_id is None or pd.isna(row.sii_indicator_id)
            assert row.sii_lower == pytest.approx(expected_sii["sii_lower"], abs=0.1)
            assert row.sii_upper == pytest.approx(expected_sii["sii_upper"], abs=0.1)
    # the gap trend: each whole period against the previous whole one, on the intervals
    for _, rows in mart.groupby(["indicator_id", "quantile_scheme", "sex"]):
        whole = rows[~rows["is_partial"].astype(bool)].reset_index(drop=True)
        assert whole["gap_trend"].iloc[0] == "not compared"
        steps = zip(whole.iloc[:-1].itertuples(), whole.iloc[1:].itertuples(), strict=True)
        for before, now in steps:
            assert now.previous_period == before.period
            apart = now.sii_lower > before.sii_upper or now.sii_upper < before.sii_lower
            narrower = abs(now.sii) < abs(before.sii)
            expected = ("narrowed" if narrower else "widened") if apart else "held"
            assert now.gap_trend == expected, (now.indicator_id, now.period, now.sex)


@e2e
def test_the_scorecard_counts_each_life_expectancy_outcome_once(run):
    def place_series(year: int) -> set[tuple]:
        return set(
            warehouse_rows(
                run["home"],
                "select distinct f.indicator_id, f.sex, f.age from marts.fct_indicator_values f "
                "join marts.dim_area a using (area_code) join marts.dim_indicator i using "
                "(indicator_id) where a.is_place and f.category_type is null and f.value is not "
                f"null and not f.is_partial and i.principle_id = 0 and "
                f"f.period_sortable // 10000 = {year}",
            )
        )

    board = {
        r[0]: r[1:]
        for r in warehouse_rows(
            run["home"],
            "select period_year, series, series_not_counted, inequality_narrowing + "
            "inequality_widening + inequality_held from marts.mart_principle_scorecard "
            "where principle_id = 0",
        )
    }
    # 2019: Fingertips' life expectancy and its SII are replaced by ours (same definitions),
    # our five-year pools (at birth and at 65, two sexes) repeat the three-year ones
    every = place_series(2019)
    repeats = {
        s for s in every if s[0] in ("life_expectancy_birth", "life_expectancy_inequality_sii")
    }
    repeats |= {s for s in every if s[0].endswith("_local_5y")}
    assert len(repeats) == 8
    series, not_counted, judged = board[2019]
    assert (series, not_counted) == (len(every - repeats), len(repeats))
    assert ("life_expectancy_birth_local", "Male", "All ages") in every - repeats
    # 2022: our three-year series alone, each judged on its decile gap trend where it has one
    every = place_series(2022)
    assert {s[0] for s in every} >= {"life_expectancy_birth_local", "life_expectancy_65_local"}
    series, not_counted, judged = board[2022]
    assert (series, not_counted) == (len(every), 0)
    with_trend = warehouse_rows(
        run["home"],
        "select count(distinct (indicator_id, sex, age)) from marts.mart_inequality where "
        "period_sortable // 10000 = 2022 and not is_partial and gap_trend in "
        "('narrowed', 'widened', 'held') and indicator_id in (select indicator_id from "
        "marts.dim_indicator where principle_id = 0)",
    )[0][0]
    assert judged == with_trend >= 4  # life expectancy at birth and at 65, two sexes
