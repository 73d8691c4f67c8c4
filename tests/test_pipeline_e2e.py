"""End to end: the whole graph through Dagster into a DuckDB file in a temporary MARMOT_HOME.

The suite's good run of the untouched demo (``demo_refresh``) is copied for the module's tests
(a refresh takes minutes); tests that break things work on a copy of its state or after it, in
order.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg
import pytest
from helpers import copied_home, edited_csv, warehouse_rows

from marmot_assets.cli import run_refresh, warehouse_summary
from marmot_assets.config import read_indicator_catalogue

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, demo_refresh):
    # The suite's one refresh of the untouched demo, copied: the tests below change their home.
    with copied_home(tmp_path_factory, "e2e", demo_refresh) as run:
        yield run


def query(pipeline, sql):
    return warehouse_rows(pipeline["home"], sql)


def test_run_succeeds_with_every_check_passing(pipeline):
    assert pipeline["success"]
    checks = pipeline["checks"]
    assert checks and all(checks.values()), {k: v for k, v in checks.items() if not v}
    # dbt tests became asset checks, next to the great-expectations gate on Fingertips.
    assert "raw/fingertips_indicator_values:fingertips_values_valid" in checks
    assert any(name.startswith("marts/fct_indicator_values:") for name in checks)


def test_run_is_recorded_in_the_dagster_instance(pipeline):
    dagster_home = pipeline["home"] / "dagster"
    assert (dagster_home / "dagster.yaml").is_file()
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        run = instance.get_run_by_id(pipeline["run_id"])
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        materialized = instance.get_latest_materialization_event(
            dg.AssetKey(["raw", "fingertips_indicator_values"])
        )
        assert materialized.run_id == pipeline["run_id"]


def test_marts_hold_the_place_and_its_wards(pipeline):
    areas = dict(query(pipeline, "select area_type, count(*) from marts.dim_area group by 1"))
    assert areas["ward"] == 18
    assert areas["local_authority"] == 1 and areas["country"] == 1 and areas["region"] == 1
    lsoas = query(pipeline, "select count(*) from raw.ons_lsoa_ward_lookup")[0][0]
    assert areas["lsoa"] == lsoas
    foleshill = query(
        pipeline,
        "select local_imd_quintile from marts.dim_area where area_name = 'Foleshill'",
    )
    assert foleshill == [(1,)]


def test_every_catalogue_indicator_has_values(pipeline):
    catalogue = {row["indicator_id"] for row in read_indicator_catalogue()}
    present = {
        r[0]
        for r in query(pipeline, "select distinct indicator_id from marts.fct_indicator_values")
    }
    assert present == catalogue
    principles = query(
        pipeline,
        "select count(distinct principle_id) from marts.fct_indicator_values "
        "join marts.dim_indicator using (indicator_id)",
    )
    assert principles == [(9,)]


def test_intervals_contain_values_everywhere(pipeline):
    bad = query(
        pipeline,
        "select count(*) from marts.fct_indicator_values where value is not null and "
        "(lower_ci_95 > value or value > upper_ci_95)",
    )
    assert bad == [(0,)]
    with_ci = query(
        pipeline, "select count(*) from marts.fct_indicator_values where lower_ci_95 is not null"
    )
    assert with_ci[0][0] > 1000


def test_ward_profile_has_one_row_per_ward(pipeline):
    rows = query(
        pipeline,
        "select count(*), count(distinct ward_code), min(indicators_with_values) "
        "from marts.mart_ward_profile",
    )
    assert rows[0][0] == rows[0][1] == 18
    ward_level = sum(
        "ward" in row["geography_levels"].split("|") for row in read_indicator_catalogue()
    )
    assert rows[0][2] == ward_level  # every ward-level catalogue indicator, Fingertips and local


def test_summary_counts_match_the_marts(pipeline):
    summary = warehouse_summary()
    assert summary["principles_covered"] == 9
    assert summary["indicators"] == len(read_indicator_catalogue())
    assert summary["areas"]["ward"] == 18
    assert summary["periods"] >= 6


def test_marts_and_published_tables_refuse_nulls_where_their_contracts_say(pipeline):
    """The marts' and published tables' not-null guarantees are constraints DuckDB enforces
    as each table is built (no per-column dbt test): every column whose contract says
    not_null is NOT NULL in the warehouse, and no other column of those tables is."""
    from marmot_assets.transform.project import dbt_project

    manifest = json.loads(dbt_project().manifest_path.read_text())
    declared = {
        (node["schema"], node["alias"], column)
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] in ("marts", "publish")
        for column, spec in node["columns"].items()
        if any(c["type"] == "not_null" for c in spec.get("constraints", []))
    }
    built = set(
        query(
            pipeline,
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'publish') and is_nullable = 'NO'",
        )
    )
    assert len(declared) > 80
    assert built == declared


def _table_digest(pipeline, table):
    rows = query(pipeline, f"select * from {table} order by all")
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_malformed_file_fails_its_asset_and_changes_nothing(pipeline):
    settings = pipeline["settings"]
    before = _table_digest(pipeline, "raw.fingertips_indicator_values")
    path = settings.demo_dir / "ohid" / "fingertips" / "indicators-by_indicator_id.csv"

    def truncate_record_5(rows):
        rows[4] = rows[4][:10]

    with edited_csv(path, truncate_record_5):
        from marmot_assets.definitions import build_definitions

        defs = build_definitions()
        job = defs.resolve_implicit_global_asset_job_def().get_subset(
            asset_selection={dg.AssetKey(["raw", "fingertips_indicator_values"])}
        )
        with dg.DagsterInstance.get() as instance:
            result = job.execute_in_process(instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
        )
        error, messages = failure.event_specific_data.error, []
        while error is not None:  # Dagster wraps the asset's exception: read the chain
            messages.append(error.message)
            error = error.cause
        message = "\n".join(messages)
        assert str(path) in message and "row 5" in message and "truncated" in message
    assert _table_digest(pipeline, "raw.fingertips_indicator_values") == before
    status, error = query(
        pipeline,
        "select status, error from raw.landing_manifest where dataset = 'fingertips' "
        "order by received_at desc limit 1",
    )[0]
    assert status == "rejected" and "row 5" in error


def test_every_payload_is_recorded_in_the_landing_manifest(pipeline):
    rows = dict(
        query(
            pipeline,
            "select partner || '/' || dataset, count(*) from raw.landing_manifest "
            "where status in ('loaded', 'duplicate') group by 1",
        )
    )
    assert rows["ons/geography"] >= 1 and rows["mhclg/deprivation"] >= 3
    assert rows["ohid/fingertips"] >= 1


def test_failing_quality_gate_blocks_the_marts(pipeline):
    """A negative count passes the parser but not the GX suite: dbt must not run."""
    settings = pipeline["settings"]
    marts_before = _table_digest(pipeline, "marts.fct_indicator_values")
    path = settings.demo_dir / "ohid" / "fingertips" / "indicators-by_indicator_id.csv"

    def a_negative_count(rows):
        count = rows[0].index("Count")
        next(r for r in rows[1:] if r[count])[count] = "-5"

    with edited_csv(path, a_negative_count):
        success, run_id, checks = run_refresh()
    assert not success
    assert checks["raw/fingertips_indicator_values:fingertips_values_valid"] is False
    with dg.DagsterInstance.get() as instance:
        evaluation = next(
            r.event_log_entry.dagster_event.event_specific_data
            for r in instance.get_records_for_run(
                run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            ).records
            if r.event_log_entry.dagster_event.event_specific_data.check_name
            == "fingertips_values_valid"
        )
        assert evaluation.metadata["failing_row_count"].value == 1
        assert "-5" in evaluation.metadata["failing_rows"].value
        fct = instance.get_latest_materialization_event(
            dg.AssetKey(["marts", "fct_indicator_values"])
        )
        assert fct.run_id == pipeline["run_id"]  # not rebuilt by the blocked run
    assert _table_digest(pipeline, "marts.fct_indicator_values") == marts_before


def test_every_partner_delivery_came_through_the_door(pipeline):
    from marmot_assets.partners.contract import load_contracts

    loaded = dict(
        query(
            pipeline,
            "select partner || '/' || dataset, count(*) from raw.landing_manifest "
            "where status = 'loaded' group by 1",
        )
    )
    for name, contract in load_contracts().items():
        assert loaded.get(name, 0) >= 1, name
        rows = query(pipeline, f"select count(*) from raw.{contract.table}")[0][0]
        assert rows > 0, name
    assert not list((pipeline["home"] / "inbox").rglob("*.*"))  # every drop folder emptied
    quarantined = query(pipeline, "select count(*) from raw.quarantine")[0][0]
    assert quarantined == 0  # the demo deliveries are clean


def test_every_mart_covers_all_principles_and_the_outcomes(pipeline):
    scorecard = {
        r[0]
        for r in query(
            pipeline,
            "select distinct principle_id from marts.mart_principle_scorecard "
            "where scorecard_line = 'indicators'",
        )
    }
    assert scorecard == set(range(9))
    for mart in (
        "mart_system_measures",
        "mart_inequality",
        "mart_proportionate_universalism",
        "mart_allocation",
        "mart_stories",
        "mart_evidence",
        "mart_changes",
        "mart_ward_profile",
    ):
        assert query(pipeline, f"select count(*) from marts.{mart}")[0][0] > 0, mart


def test_scorecard_counts_add_up(pipeline):
    bad = query(
        pipeline,
        """
        select count(*) from marts.mart_principle_scorecard where
            better_than_england + similar_to_england + worse_than_england + other_comparison
                <> series
            or improving + worsening + no_change_or_not_compared <> series
            or inequality_narrowing + inequality_widening + inequality_held
               + inequality_not_assessed <> series
    """,
    )
    assert bad == [(0,)]
    place_series = query(
        pipeline,
        """
        select count(*) from (
            select distinct f.indicator_id, f.sex, f.age, f.period_sortable // 10000
            from marts.fct_indicator_values f join marts.dim_area a using (area_code)
            where a.is_place and f.category_type is null and f.value is not null
                and not f.is_partial)
    """,
    )[0][0]
    # every series counts once a year, or is named as the repeat of one that counts
    counted, repeats = query(
        pipeline,
        "select sum(series), sum(series_not_counted) from marts.mart_principle_scorecard "
        "where scorecard_line = 'indicators'",
    )[0]
    assert counted + repeats == place_series and repeats > 0


def _landed(pipeline, dataset: str) -> list:
    return sorted((pipeline["home"] / "landing" / "council_procurement" / dataset).glob("*.*"))


def test_contracts_count_in_the_year_let_and_the_reviewed_share_rises(pipeline):
    """The demo's lens spreads year by year from LENS_FROM (LENS_RAMP): the mart's contracts
    and reviews per year let are those of the landed registers, none reviewed before the
    lens, and the share rises every year since; the scorecard's system line finds the first
    year of the lens improving (its interval is above the previous year's 0)."""
    import csv

    from marmot_assets.demo.partners.council_procurement import LENS_FROM, LENS_RAMP

    assert list(LENS_RAMP.values()) == sorted(LENS_RAMP.values())  # the generator's intent
    contracts = {}
    for path in _landed(pipeline, "contracts_register"):
        with path.open(encoding="cp1252", newline="") as f:
            for row in csv.DictReader(f):
                contracts[row["Reference Number"]] = row  # a contract counts once
    expected: dict[int, list[int]] = {}
    for row in contracts.values():
        year = int(row["Start Date"][-4:])  # dd/mm/yyyy: the year let
        counts = expected.setdefault(year, [0, 0])
        counts[0] += 1
        counts[1] += row["Health Inequalities Lens Review"] == "Yes"
    measured = {
        year: [let, reviewed]
        for year, let, reviewed in query(
            pipeline,
            "select period_year, contracts_let, contracts_reviewed from marts.mart_system_measures "
            "where principle_id is null and contracts_let > 0",
        )
    }
    assert measured == expected
    before = [y for y in expected if y < LENS_FROM.year]
    assert before and all(expected[y][1] == 0 for y in before)
    lens_years = sorted(y for y in expected if y >= LENS_FROM.year)
    shares = [expected[y][1] / expected[y][0] for y in lens_years]
    assert len(shares) >= 3 and all(a < b for a, b in zip(shares[:-1], shares[1:], strict=True)), (
        shares
    )
    travel = dict(
        query(
            pipeline,
            "select period_year, improving from marts.mart_principle_scorecard "
            "where scorecard_line = 'system'",
        )
    )
    assert set(travel) == set(expected)
    assert travel[LENS_FROM.year] == 1


def test_contracts_are_published_by_name_but_never_a_person(pipeline):
    """The contracts register is public (its dataset contract says so): the served release
    lists every contract of the landed registers, naming each supplier that is an
    organisation (a company number, or a VCSE) and none that is not (the demo's sole
    traders, whose trading names are people's); their names appear nowhere in the release."""
    import csv

    import duckdb

    from marmot_assets.partners.contract import get_contract

    assert get_contract("council_procurement/contracts_register").public_register
    contracts = {}
    for path in _landed(pipeline, "contracts_register"):
        with path.open(encoding="cp1252", newline="") as f:
            for row in csv.DictReader(f):
                contracts[row["Reference Number"]] = row
    people = {
        ref: row["Supplier Name"]
        for ref, row in contracts.items()
        if not row["Supplier Company Registration Number"] and row["VCSE"] != "Yes"
    }
    assert people, "the demo has sole traders"
    with duckdb.connect(str(pipeline["home"] / "serving" / "marmot.duckdb"), read_only=True) as con:
        published = {
            ref: (name, reason)
            for ref, name, reason in con.execute(
                "select reference, supplier_name, supplier_withheld_reason from mart_contracts"
            ).fetchall()
        }
        text = " ".join(
            str(value)
            for (table,) in con.execute("select table_name from duckdb_tables()").fetchall()
            for row in con.execute(f'select * from "{table}"').fetchall()
            for value in row
        )
    assert set(published) == set(contracts)
    for ref, row in contracts.items():
        if ref in people:
            assert published[ref] == (None, "not an organisation: may name a person"), ref
        else:
            assert published[ref] == (row["Supplier Name"], None), ref
    assert not [name for name in people.values() if name in text]


def test_every_principle_with_a_pledge_appears(pipeline):
    """The principles the landed pledge lists serve (phrases of seed system_principles) are
    exactly those with pledges in the mart; every business that ever pledged is new once."""
    import csv
    import json

    seed = Path(__file__).parents[1] / "dbt_project" / "seeds" / "system_principles.csv"
    with seed.open(encoding="utf-8") as f:
        phrases = [r for r in csv.DictReader(f) if r["kind"] == "pledge"]
    businesses = {}
    for path in _landed(pipeline, "business_pledges"):
        for record in json.loads(path.read_text(encoding="utf-8")):
            businesses[record["business_name"]] = record
    served = {
        int(p["principle_id"])
        for b in businesses.values()
        for pledge in b["pledges"].split(";")
        for p in phrases
        if p["phrase"].lower() in pledge.lower()
    }
    in_mart = {
        r[0]
        for r in query(
            pipeline,
            "select distinct principle_id from marts.mart_system_measures "
            "where principle_id is not null and pledges > 0",
        )
    }
    assert served and in_mart == served
    new = query(
        pipeline,
        "select sum(organisations_new) from marts.mart_system_measures where principle_id is null",
    )[0][0]
    assert new == len(businesses)


def test_family_hubs_reach_rises_with_deprivation(pipeline):
    rows = query(
        pipeline,
        """
        select quintile, reach_per_1000, reach_gradient, help_rises_with_need
        from marts.mart_proportionate_universalism where service_id = 'family_hubs'
        order by quintile
    """,
    )
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    assert rows[0][2] > 0 and rows[0][3] is True
    assert rows[0][1] > rows[-1][1]


def test_inequality_measures_are_consistent(pipeline):
    rows = query(
        pipeline,
        """
        select indicator_id, quantile_scheme, quantiles, sii, sii_lower, sii_upper, absolute_gap
        from marts.mart_inequality where period = (
            select max(period) from marts.mart_inequality m2
            where m2.indicator_id = mart_inequality.indicator_id)
    """,
    )
    assert rows
    for indicator, scheme, n, sii, lower, upper, _gap in rows:
        if n >= 5:
            assert lower <= sii <= upper, (indicator, scheme)
    crime = [r for r in rows if r[0] == "crime_rate" and r[1] == "Local deprivation quintile"]
    assert crime and crime[0][3] < 0 and crime[0][6] > 0  # more crime in the most deprived fifth


def test_a_revised_value_shows_in_mart_changes(pipeline):
    """Rebuild after Fingertips revises one published value: mart_changes names it."""
    settings = pipeline["settings"]
    path = settings.demo_dir / "ohid" / "fingertips" / "indicators-by_indicator_id.csv"

    def nudge_a_value(rows):
        header = rows[0]
        at = {
            name: header.index(name)
            for name in ("Value", "Area Code", "Time period", "Indicator ID", "Sex")
        }
        target = next(r for r in rows[1:] if r[at["Area Code"]] == "E08000026" and r[at["Value"]])
        # Nudge the value inside its own interval so every check still passes.
        target[at["Value"]] = repr(float(target[at["Value"]]) + 1e-6)
        return at, target

    with edited_csv(path, nudge_a_value) as (at, target):
        success, _, _ = run_refresh()
    assert success
    changes = query(
        pipeline,
        "select indicator_id, area_code, period, sex, change_type, is_first_release "
        "from marts.mart_changes",
    )
    assert len(changes) == 1
    indicator, area, period, sex, change_type, first = changes[0]
    assert (area, period, sex, change_type, first) == (
        "E08000026",
        target[at["Time period"]],
        target[at["Sex"]],
        "revised value",
        False,
    )
