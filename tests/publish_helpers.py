"""A small hand-made warehouse with a `publish` schema, and publishing it through Dagster."""

from __future__ import annotations

import textwrap
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb import DuckDBResource

from marmot_assets.config import read_indicator_catalogue
from marmot_assets.publish.assets import build_publication_definitions
from marmot_assets.publish.report.ahead import ReportAheadResource
from marmot_assets.quality.expectations import ExpectationsResource

WARDS = ["E05001218", "E05001219", "E05001220"]
PERIODS = ["2022/23", "2023/24"]


def local_ward_indicators() -> list[dict]:
    return [
        r
        for r in read_indicator_catalogue()
        if r["source"] != "fingertips" and "ward" in r["geography_levels"].split("|")
    ]


def fact_rows() -> pd.DataFrame:
    rows = []
    for i, ind in enumerate(local_ward_indicators()):
        for w, ward in enumerate(WARDS):
            for p, period in enumerate(PERIODS):
                value = 10.0 + i + w + p
                rows.append(
                    {
                        "value_key": f"{ind['indicator_id']}|{ward}|{period}",
                        "indicator_id": ind["indicator_id"],
                        "area_code": ward,
                        "area_type": "ward",
                        "period": period,
                        "sex": "Persons",
                        "age": "All ages",
                        "category_type": None,
                        "category": None,
                        "numerator": 20.0 + w,
                        "denominator": 200.0,
                        "value": value,
                        "lower_ci_95": value - 2,
                        "upper_ci_95": value + 2,
                        "lower_ci_99_8": value - 3,
                        "upper_ci_99_8": value + 3,
                        "compared_to_england": "similar",
                        "is_suppressed": False,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["value_note"] = pd.Series([None] * len(frame), dtype="string")
    return frame


def make_warehouse(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        con.execute("create schema publish; create schema raw")
        fact = fact_rows()  # noqa: F841 (read by DuckDB below)
        con.execute("create table publish.fct_indicator_values as select * from fact")
        con.execute(
            "create table publish.dim_area as select unnest(?) as area_code, 'ward' as area_type",
            [WARDS],
        )
        con.execute(
            "create table raw.landing_manifest (partner varchar, dataset varchar, "
            "original_name varchar, sha256 varchar, bytes bigint, received_at timestamp, "
            "status varchar)"
        )
        con.execute(
            "insert into raw.landing_manifest values "
            "('police', 'street_crime', 'a.csv', 'aaa1', 10, '2026-01-01', 'loaded'), "
            "('police', 'street_crime', 'b.csv', 'bbb2', 10, '2026-01-02', 'rejected'), "
            "('vcs', 'stories', 'c.md', 'ccc3', 10, '2026-01-03', 'loaded'), "
            "('vcs', 'stories', 'c.md', 'ccc3', 10, '2026-01-04', 'withdrawn')"
        )
    return path


def sql(path: Path, statement: str) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute(statement)


def publish(warehouse: Path) -> dg.ExecuteInProcessResult:
    """Materialise the publication group (write, audit, publish) on ``warehouse``."""
    assets, checks = build_publication_definitions()
    return dg.materialize(
        [*assets, *checks],
        resources={
            "warehouse": DuckDBResource(database=str(warehouse)),
            "expectations": ExpectationsResource(in_own_process=False),
            "report_ahead": ReportAheadResource(),  # not started: draws nothing ahead
        },
        raise_on_error=False,
    )


def served(home: Path, sql_text: str = "select release_id from release_manifest"):
    with duckdb.connect(str(home / "serving" / "marmot.duckdb"), read_only=True) as con:
        return con.execute(sql_text).fetchall()


# A BI reader in its own process: opens the serving file read-only with external access off
# and the configuration locked; on each line it reads the served release id ("reconnect"
# first closes and reopens).
READER = textwrap.dedent(
    """
    import sys, duckdb
    path, config = sys.argv[1], {"enable_external_access": False, "lock_configuration": True}
    con = duckdb.connect(path, read_only=True, config=config)
    ask = lambda c: c.execute("select release_id from release_manifest").fetchone()[0]
    for line in sys.stdin:
        if line.strip() == "reconnect":
            con.close()
            con = duckdb.connect(path, read_only=True, config=config)
        try:
            con.execute("select * from read_csv('/etc/passwd')")
            print("external access ALLOWED", flush=True)
        except duckdb.Error:
            pass
        print(ask(con), flush=True)
    """
)
