"""End to end: a full refresh publishes a release while a BI reader holds the served one open.

One full refresh (demo data) for the module. Before it, a small release is served (built
from a hand-made warehouse elsewhere) and a reader process opens it read-only with external
access disabled, as a BI tool would; the refresh and its publication must both succeed.
"""

from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest
from publish_helpers import READER, make_warehouse, publish, sql

from marmot_assets.cli import main, run_refresh
from marmot_assets.config import get_settings, read_indicator_catalogue
from marmot_assets.demo.generator import generate_demo_data
from marmot_assets.publish import releases as rel

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    home = tmp_path_factory.mktemp("publish_e2e") / "marmot"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MARMOT_HOME", str(home))
        for name in ("DAGSTER_HOME", "MARMOT_SOURCE_MODE", "MARMOT_SOURCE_DIR"):
            mp.delenv(name, raising=False)
        get_settings.cache_clear()
        settings = get_settings()
        generate_demo_data(
            settings.demo_dir,
            settings.place_config,
            read_indicator_catalogue(),
            settings.home / "inbox",
        )
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
        seen += [ask(), ask("reconnect")]
        reader.stdin.close()
        reader.wait(timeout=30)
        mp.delenv("MARMOT_PUBLISH_ROW_COUNT_TOLERANCE")
        get_settings.cache_clear()
        yield {
            "home": home,
            "small": small,
            "success": success,
            "checks": checks,
            "seen": seen,
            "reader_rc": reader.returncode,
        }
    get_settings.cache_clear()


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
