"""End to end: a full refresh publishes a release while a BI reader holds the served one open.

One full refresh (demo data) for the module. Before it, a small release is served (built
from a hand-made warehouse elsewhere) and a reader process opens it read-only with external
access disabled, as a BI tool would; the refresh and its publication must both succeed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from helpers import demo_home
from publish_helpers import READER, make_warehouse, publish, sql

from marmot_assets.cli import main, run_refresh
from marmot_assets.config import get_settings
from marmot_assets.publish import releases as rel

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    with demo_home(tmp_path_factory, "publish_e2e") as (home, _settings, mp):
        # A first, small release to be served while the refresh runs: its row counts are
        # far from the demo's, so the row-count audit is loosened for this one refresh.
        assert publish(make_warehouse(home.parent / "small" / "warehouse.duckdb")).success
        small = rel.served_release_id(home)
        mp.setenv("MARMOT_PUBLISH_ROW_COUNT_TOLERANCE", "1000")
        get_settings.cache_clear()
        reader = subprocess.Popen(
            [sys.executable, "-c", READER, str(home / "serving" / "marmot.duckdb")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

        def ask(line="ask"):
            reader.stdin.write(line + "\n")
            reader.stdin.flush()
            return reader.stdout.readline().strip()

        seen = [ask()]
        success, run_id, checks = run_refresh()
        new = rel.served_release_id(home)
        seen += [ask(), ask("reconnect")]
        reader.stdin.close()
        reader.wait(timeout=30)
        mp.delenv("MARMOT_PUBLISH_ROW_COUNT_TOLERANCE")
        get_settings.cache_clear()
        yield {
            "home": home,
            "small": small,
            "new": new,
            "success": success,
            "checks": checks,
            "seen": seen,
            "reader_rc": reader.returncode,
        }


def served(refreshed, statement):
    path = refreshed["home"] / "serving" / "marmot.duckdb"
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(statement).fetchall()


def test_refresh_publishes_while_a_reader_holds_the_served_release(refreshed):
    assert refreshed["success"], {k: v for k, v in refreshed["checks"].items() if not v}
    assert all(refreshed["checks"].values())
    assert "publication/staged_release:release_complete" in refreshed["checks"]
    new = rel.served_release_id(refreshed["home"])
    assert new != refreshed["small"]
    # the reader saw the old release until it reconnected, then the new one
    assert refreshed["seen"] == [refreshed["small"], refreshed["small"], new]
    assert refreshed["reader_rc"] == 0


def test_the_release_manifest_names_sources_checks_and_rules(refreshed):
    home = refreshed["home"]
    release_id = rel.served_release_id(home)
    manifest = json.loads(
        (home / "serving" / "releases" / release_id / "manifest.json").read_text()
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        accepted = {
            r[0]
            for r in con.execute(
                "select sha256 from raw.landing_manifest where status <> 'duplicate' "
                "qualify row_number() over (partition by partner, dataset, sha256 "
                "order by received_at desc) = 1 and status like 'loaded%'"
            ).fetchall()
        }
    assert accepted and {f["sha256"] for f in manifest["source_files"]} == accepted
    assert any(c.startswith(("publish/", "marts/")) for c in manifest["checks_passed"])
    assert "raw/fingertips_indicator_values:fingertips_values_valid" in manifest["checks_passed"]
    assert manifest["disclosure_rules_version"].startswith("nhse-hes")
    assert manifest["row_counts"]["fct_indicator_values"] > 1000
    assert manifest["previous_release_id"] == refreshed["small"]
    # changes against the small release served before: its values withdrawn, the demo's new
    kinds = dict(served(refreshed, "select change_type, count(*) from changes group by 1"))
    assert kinds["new"] > 1000 and kinds["withdrawn"] > 0


def test_every_published_table_and_its_columns_are_described(refreshed):
    tables = served(
        refreshed, "select table_name, comment from duckdb_tables() where schema_name = 'main'"
    )
    assert len(tables) >= 8 and all(comment for _, comment in tables), tables
    undescribed = served(
        refreshed,
        "select table_name, column_name from duckdb_columns() "
        "where schema_name = 'main' and not internal and comment is null",
    )
    assert undescribed == []


def test_a_failing_check_keeps_the_served_release_then_rollback(refreshed, capsys):
    home = refreshed["home"]
    before = (home / "serving" / "marmot.duckdb").read_bytes()
    schema = served(refreshed, "select source_schema from release_manifest")[0][0]
    sql(
        home / "warehouse.duckdb",
        f"update {schema}.fct_indicator_values set lower_ci_95 = value + 1 "
        f"where value_key = (select min(value_key) from {schema}.fct_indicator_values "
        "where value is not null)",
    )
    result = publish(home / "warehouse.duckdb")
    assert not result.success
    failed = [e for e in result.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == ["release_limits_ordered"]
    assert (home / "serving" / "marmot.duckdb").read_bytes() == before
    assert main(["releases"]) == 0
    assert main(["rollback"]) == 0
    assert rel.served_release_id(home) == refreshed["small"]
    assert main(["releases"]) == 0
    out = capsys.readouterr().out
    assert f"* {refreshed['small']}" in out.split("(* = served)")[1]


def test_the_manifest_counts_what_disclosure_control_did(refreshed):
    home = refreshed["home"]
    folder = home / "serving" / "releases" / refreshed["new"]
    figures = json.loads((folder / "manifest.json").read_text())["disclosure"]

    def released(statement):
        with duckdb.connect(str(folder / "marmot.duckdb"), read_only=True) as con:
            return con.execute(statement).fetchall()

    (controlled, suppressed), *_ = released(
        "select count(*) filter (where disclosure_applied), "
        "count(*) filter (where disclosure_applied and is_suppressed) from fct_indicator_values",
    )
    assert figures["cells_controlled"] == controlled > 0
    assert figures["cells_suppressed"] == suppressed > 0
    assert sum(figures["suppressed_by_reason"].values()) == suppressed
    assert {"primary", "secondary"} <= set(figures["suppressed_by_reason"])
    # Rounding to 5 changes exactly the published counts that were not multiples of 5.
    published = dict(
        released(
            "select value_key, numerator from fct_indicator_values "
            "where disclosure_applied and numerator is not null",
        )
    )
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        unrounded = dict(
            con.execute("select value_key, numerator from marts.fct_indicator_values").fetchall()
        )
    changed = sum(1 for key in published if unrounded[key] % 5 != 0)
    assert figures["counts_rounded"] == changed > 0
    assert all(value % 5 == 0 for value in published.values())


def test_the_run_ends_by_saying_what_is_served_and_where(refreshed):
    from marmot_assets.publish.summary import publication_lines, served_summary

    home = refreshed["home"]
    release_id = refreshed["new"]
    rel.rollback(home, release_id)  # an earlier test served the small release again
    summary = served_summary(home)
    text = "\n".join(publication_lines(summary))
    assert f"release {release_id}" in text
    assert str(home / "serving" / "marmot.duckdb") in text
    for label, kind in (("Parquet", "parquet"), ("CSV", "csv")):
        folder = home / "serving" / "releases" / release_id / kind
        assert f"{label}: {folder}" in text
        assert (folder / f"fct_indicator_values.{kind}").is_file()
    assert summary["report"] is not None and summary["report"].is_file()
    assert f"report: {summary['report']}" in text
    assert f"{summary['disclosure']['cells_suppressed']} suppressed" in text
    assert "counts rounded to 5" in text
    assert publication_lines(None) == ["Published: nothing yet (no release has passed its checks)"]


def test_the_report_was_drawn_and_printed_by_the_processes_started_with_the_run(refreshed):
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(["publication", "report"]))
    metadata = event.asset_materialization.metadata
    assert metadata["release_id"].value == refreshed["new"]
    assert metadata["pdf_printed_by"].value == "chromium started ahead"
    assert Path(metadata["pdf"].value).is_file()
