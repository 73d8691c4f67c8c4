"""Publication (write-audit-publish) on small hand-made `publish` schemas: no dbt run."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest
from publish_helpers import make_warehouse, publish, served, sql

from marmot_assets.cli import main
from marmot_assets.publish import releases as rel
from marmot_assets.publish.build import PUBLISHED_SCHEMA
from marmot_assets.publish.content import dbt_descriptions


@pytest.fixture
def warehouse(marmot_home):
    return make_warehouse(marmot_home / "warehouse.duckdb")


def check_results(result) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def materialized(result) -> set[str]:
    return {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def test_a_release_holds_the_tables_manifest_exports_and_comments(marmot_home, warehouse):
    assert PUBLISHED_SCHEMA == "publish"
    result = publish(warehouse)
    assert result.success
    assert materialized(result) == {"publication/staged_release", "publication/release"}
    (release_id,) = rel.release_ids(marmot_home)
    folder = marmot_home / "serving" / "releases" / release_id
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["release_id"] == release_id
    assert manifest["git_commit"] == "unknown" or len(manifest["git_commit"]) == 40
    assert manifest["disclosure_rules_version"].startswith("nhse-hes-2018")
    # accepted deliveries only: the rejected one and the withdrawn one are not sources
    assert [f["sha256"] for f in manifest["source_files"]] == ["aaa1"]
    assert manifest["row_counts"]["fct_indicator_values"] == len(
        served(marmot_home, "from fct_indicator_values")
    )
    assert "publication/staged_release:release_complete" in manifest["checks_passed"]
    row = served(marmot_home, "select release_id, checks_passed, row_counts from release_manifest")
    assert row[0][0] == release_id and json.loads(row[0][2]) == manifest["row_counts"]
    for table in ("fct_indicator_values", "dim_area", "changes"):
        assert (folder / "parquet" / f"{table}.parquet").stat().st_size > 0
        assert (
            (folder / "csv" / f"{table}.csv")
            .read_text()
            .startswith(
                "change_type"
                if table == "changes"
                else ("value_key" if "fct" in table else "area_code")
            )
        )
    # every table and the columns dbt describes carry their description as a comment
    comments = dict(served(marmot_home, "select table_name, comment from duckdb_tables()"))
    assert all(
        comments[t] for t in ("fct_indicator_values", "dim_area", "changes", "release_manifest")
    )
    described = dbt_descriptions()["fct_indicator_values"]  # the publish model's, else the mart's
    assert (
        comments["fct_indicator_values"] == described["description"]
        and len(described["description"]) > 40
    )
    columns = served(
        marmot_home,
        "select comment from duckdb_columns() where table_name = 'fct_indicator_values' "
        "and column_name = 'value_key'",
    )
    assert columns[0][0] == described["columns"]["value_key"]
    current = json.loads((marmot_home / "serving" / "current.json").read_text())
    assert current["release_id"] == release_id and current["how"] == "publish"


def test_a_failing_check_blocks_publication_and_the_served_file_stays_byte_for_byte(
    marmot_home, warehouse
):
    assert publish(warehouse).success
    before = (marmot_home / "serving" / "marmot.duckdb").read_bytes()
    (first,) = rel.release_ids(marmot_home)
    sql(
        warehouse,
        "update publish.fct_indicator_values set numerator = 500 "
        "where value_key = (select min(value_key) from publish.fct_indicator_values "
        "where indicator_id = 'school_readiness_gld_local')",
    )
    result = publish(warehouse)
    assert not result.success
    checks = check_results(result)
    failed = checks["release_numerator_within_denominator"]
    assert not failed.passed
    assert "500" in failed.metadata["failing_rows"].md_str
    assert failed.metadata["failing_row_count"].value == 1
    assert all(c.passed for n, c in checks.items() if n != failed.check_name)
    assert "publication/release" not in materialized(result)
    assert (marmot_home / "serving" / "marmot.duckdb").read_bytes() == before
    assert rel.release_ids(marmot_home) == [first]
    assert rel.served_release_id(marmot_home) == first
    # publishing the audited-and-failed staged release on its own is refused too
    from marmot_assets.publish.assets import build_publication_definitions

    (_, release), _ = build_publication_definitions()
    alone = dg.materialize([release], raise_on_error=False)
    assert not alone.success
    failure = next(e for e in alone.all_events if e.event_type_value == "STEP_FAILURE")
    assert "release_numerator_within_denominator" in str(failure.event_specific_data.error)
    assert (marmot_home / "serving" / "marmot.duckdb").read_bytes() == before


@pytest.mark.parametrize(
    ("statement", "check", "shown"),
    [
        (
            "delete from publish.fct_indicator_values where area_code = 'E05001219' "
            "and indicator_id = 'crime_rate' and period = '2023/24'",
            "release_complete",
            "crime_rate",
        ),
        (  # a ward's value gone without a word of why
            "update publish.fct_indicator_values set value = null, lower_ci_95 = null, "
            "upper_ci_95 = null, lower_ci_99_8 = null, upper_ci_99_8 = null "
            "where value_key = 'crime_rate|E05001219|2023/24'",
            "release_complete",
            "crime_rate",
        ),
        (
            "update publish.fct_indicator_values set value = 140, upper_ci_95 = 150, "
            "upper_ci_99_8 = 160 where value_key like 'fsm_take_up|E05001218|2022/23'",
            "release_values_in_range",
            "140",
        ),
        (
            "update publish.fct_indicator_values set lower_ci_95 = value + 1 "
            "where value_key like 'crime_rate|E05001220|2022/23'",
            "release_limits_ordered",
            "crime_rate",
        ),
        (
            "delete from publish.fct_indicator_values where period = '2023/24'",
            "release_row_counts_stable",
            "fct_indicator_values",
        ),
    ],
)
def test_each_audit_stops_a_bad_release(marmot_home, warehouse, statement, check, shown):
    assert publish(warehouse).success
    before = (marmot_home / "serving" / "marmot.duckdb").read_bytes()
    sql(warehouse, statement)
    result = publish(warehouse)
    evaluation = check_results(result)[check]
    assert not evaluation.passed
    assert shown in evaluation.metadata["failing_rows"].md_str
    assert "publication/release" not in materialized(result)
    assert (marmot_home / "serving" / "marmot.duckdb").read_bytes() == before


def test_an_audit_that_raises_fails_its_own_check_and_the_others_still_report(
    marmot_home, warehouse, monkeypatch
):
    """The audits run in one step: one that raises (here the limits' audit) fails its own
    check with the error; every other audit still reports; nothing is published."""
    from marmot_assets.publish import assets as publish_assets

    assert publish(warehouse).success
    before = (marmot_home / "serving" / "marmot.duckdb").read_bytes()

    def broken(con, pending, suites):
        """Every interval's limits in order (an audit that cannot run)."""
        raise RuntimeError("the audit's own fault")

    monkeypatch.setitem(publish_assets.AUDITS, "release_limits_ordered", broken)
    result = publish(warehouse)
    checks = check_results(result)
    assert set(checks) >= set(publish_assets.AUDITS)
    assert not checks["release_limits_ordered"].passed
    assert "the audit's own fault" in checks["release_limits_ordered"].metadata["error"].text
    assert all(c.passed for n, c in checks.items() if n != "release_limits_ordered")
    assert "publication/release" not in materialized(result)
    assert (marmot_home / "serving" / "marmot.duckdb").read_bytes() == before


def test_a_ward_without_a_value_that_says_why_is_published(marmot_home, warehouse):
    # as int_local_indicator_values shows a ward missing from a partner's return
    note = "No value: the partner's return for this period has no accepted row for this ward"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "update publish.fct_indicator_values set value = null, lower_ci_95 = null, "
            "upper_ci_95 = null, lower_ci_99_8 = null, upper_ci_99_8 = null, "
            "numerator = null, denominator = null, value_note = ? "
            "where value_key = 'crime_rate|E05001219|2023/24'",
            [note],
        )
    result = publish(warehouse)
    assert check_results(result)["release_complete"].passed
    assert served(
        marmot_home,
        "select value, value_note from fct_indicator_values "
        "where value_key = 'crime_rate|E05001219|2023/24'",
    ) == [(None, note)]


def test_changes_compare_with_the_previous_published_release(marmot_home, warehouse):
    assert publish(warehouse).success
    first = rel.served_release_id(marmot_home)
    edits = [
        "set value = value + 0.5 where value_key = 'crime_rate|E05001218|2022/23'",
        "set compared_to_england = 'worse' where value_key = 'crime_rate|E05001219|2022/23'",
        "set value_key = 'x|new' where value_key = 'crime_rate|E05001220|2022/23'",
    ]
    for edit in edits:
        sql(warehouse, f"update publish.fct_indicator_values {edit}")
    # A failed release in between is not what the next one is compared with.
    assert publish(warehouse).success
    changes = served(
        marmot_home,
        "select change_type, value_key, previous_release_id from changes order by value_key",
    )
    assert changes == [
        ("revised", "crime_rate|E05001218|2022/23", first),
        ("significance moved", "crime_rate|E05001219|2022/23", first),
        ("withdrawn", "crime_rate|E05001220|2022/23", first),
        ("new", "x|new", first),
    ]


def test_releases_rollback_and_retention(marmot_home, warehouse, monkeypatch, capsys):
    monkeypatch.setenv("MARMOT_RELEASES_KEPT", "2")
    from marmot_assets.config import get_settings

    get_settings.cache_clear()
    for _ in range(3):
        assert publish(warehouse).success
    ids = rel.release_ids(marmot_home)
    assert len(ids) == 2  # the oldest pruned
    assert main(["releases"]) == 0
    out = capsys.readouterr().out
    assert f"* {ids[1]}" in out and f"  {ids[0]}" in out
    assert main(["rollback"]) == 0
    assert rel.served_release_id(marmot_home) == ids[0]
    assert served(marmot_home)[0][0] == ids[0]
    current = json.loads((marmot_home / "serving" / "current.json").read_text())
    assert current["release_id"] == ids[0] and current["how"].startswith("rollback")
    assert main(["rollback"]) == 1  # nothing older kept
    assert main(["rollback", ids[1].rsplit("-", 1)[0]]) == 0
    assert served(marmot_home)[0][0] == ids[1]
    # the served release is never pruned, even when older than the N kept
    assert main(["rollback", ids[0]]) == 0
    assert rel.prune(marmot_home, keep=1) == []
    assert rel.release_ids(marmot_home) == ids
    assert main(["rollback", ids[1]]) == 0
    assert rel.prune(marmot_home, keep=1) == [ids[0]]


def test_publication_waits_for_every_publish_model_and_its_audit():
    from marmot_assets.definitions import build_definitions
    from marmot_assets.publish.assets import AUDITS, RELEASE, STAGED, published_model_keys

    graph = build_definitions().resolve_asset_graph()
    layer = published_model_keys()
    assert layer and all(key.path[0] in ("publish", "marts") for key in layer)
    staged = graph.get(STAGED)
    assert staged.group_name == "publication" and set(staged.parent_keys) == set(layer)
    assert any(key.path[-1].endswith("fct_indicator_values") for key in layer)
    assert graph.get(RELEASE).parent_keys == {STAGED}
    for name in AUDITS:
        check = graph.get_check_spec(dg.AssetCheckKey(STAGED, name))
        assert check.blocking


def test_a_failed_dbt_step_means_no_release(marmot_home, warehouse):
    """dagster-dbt raises after `dbt build` exits non-zero (a failed dbt test): the step fails
    and publication, downstream of its models, is skipped. Here a stand-in step fails."""
    from dagster_duckdb import DuckDBResource

    from marmot_assets.publish.assets import build_publication_definitions, published_model_keys
    from marmot_assets.publish.report.ahead import ReportAheadResource
    from marmot_assets.quality.expectations import ExpectationsResource

    @dg.multi_asset(specs=[dg.AssetSpec(key) for key in published_model_keys()])
    def dbt_build_failing_a_test():
        raise RuntimeError("dbt build: 1 test failed (not_suppressed_small_count)")

    assets, checks = build_publication_definitions()
    result = dg.materialize(
        [dbt_build_failing_a_test, *assets, *checks],
        resources={
            "warehouse": DuckDBResource(database=str(warehouse)),
            "expectations": ExpectationsResource(in_own_process=False),
            "report_ahead": ReportAheadResource(),  # not started: draws nothing ahead
        },
        raise_on_error=False,
    )
    assert not result.success
    assert materialized(result) == set()
    assert not (marmot_home / "serving" / "marmot.duckdb").exists()


def test_changes_compare_across_column_types_and_layers(marmot_home, warehouse):
    """The previous release's columns may have other types (an all-null column, an older
    publish layer) or be missing: the comparison still runs."""
    sql(warehouse, "alter table publish.fct_indicator_values alter category type integer")
    sql(warehouse, "alter table publish.fct_indicator_values drop column compared_to_england")
    assert publish(warehouse).success
    sql(warehouse, "alter table publish.fct_indicator_values alter category type varchar")
    sql(
        warehouse,
        "alter table publish.fct_indicator_values add column compared_to_england varchar",
    )
    sql(warehouse, "update publish.fct_indicator_values set compared_to_england = 'similar'")
    assert publish(warehouse).success
    moved = served(marmot_home, "select distinct change_type from changes")
    assert moved == [("significance moved",)]


def test_a_published_csv_never_hands_a_spreadsheet_a_formula(tmp_path):
    # partners' words are published (stories, evaluations, supplier names); an analyst opens
    # the CSV in Excel: a cell that begins like a formula is given a leading apostrophe there
    import csv

    import duckdb

    from marmot_assets.publish.build import csv_rows

    with duckdb.connect(str(tmp_path / "release.duckdb")) as con:
        con.execute(
            "create table stories as select * from (values "
            "('=HYPERLINK(\"http://evil.example\",\"read\")', -5, 'Foleshill'), "
            "('+1+cmd|'' /C calc''!A0', 3, '-2'), ('@SUM(A1:A9)', 0, e'\\tTab'), "
            "('A plain story - with a dash', -1.5, null)) v(story, n, ward)"
        )
        con.execute(f"copy {csv_rows(con, 'stories')} to '{tmp_path / 's.csv'}' (header)")
        exact = con.execute("select story from stories").fetchall()
    with (tmp_path / "s.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["story"] for r in rows] == [
        "'" + exact[0][0], "'" + exact[1][0], "'" + exact[2][0], exact[3][0]
    ]  # fmt: skip
    assert [r["ward"] for r in rows] == ["Foleshill", "'-2", "'\tTab", ""]
    assert [r["n"] for r in rows] == ["-5.0", "3.0", "0.0", "-1.5"]  # numbers untouched
