"""What the progress report shows, read from one release's serving file only.

The file is opened read-only with external access disabled and the configuration locked, as a
BI tool would open it: the report can show nothing that was not published (disclosure
controlled) in that release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

# Why a value is not shown, in words a reader understands (publish suppression_reason).
REASONS = {
    "primary": "a count of 1-7",
    "complement": "the rest of the group is 1-7",
    "denominator": "fewer than 8 people in the group",
    "secondary": "hidden so a small count cannot be worked out from the total",
    "rate_minimum": "too few events for a reliable rate",
    "publisher": "not published by its publisher",
}
# The column marking a period the data cover only in part (publish: is_partial), and what
# it covers (coverage_note); older releases may lack them.
PROVISIONAL_COLUMNS = ("is_partial", "is_provisional", "is_partial_period")
COVERAGE_COLUMN = "coverage_note"


# The Marmot approach itself (contracts, social value, business pledges); optional, as a
# release made before it has no such table.
SYSTEM_TABLE = "mart_system_measures"


def reason_text(reason: str | None) -> str:
    return REASONS.get(reason or "", reason or "not shown")


@dataclass
class Release:
    """Every table the report uses, as data frames, and the release manifest."""

    manifest: dict
    place: dict
    principles: pd.DataFrame
    indicators: pd.DataFrame
    place_values: pd.DataFrame
    scorecard: pd.DataFrame
    inequality: pd.DataFrame
    wards: pd.DataFrame
    changes: pd.DataFrame
    stories: pd.DataFrame
    evidence: pd.DataFrame
    provisional_column: str | None = None
    areas: dict = field(default_factory=dict)
    # mart_inequality's measures per indicator, period, sex, age and scheme, every period
    inequality_trend: pd.DataFrame = field(default_factory=pd.DataFrame)
    # mart_system_measures (the Marmot approach itself); empty in releases made before it
    system: pd.DataFrame = field(default_factory=pd.DataFrame)


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(
        str(path),
        read_only=True,
        config={"enable_external_access": False, "lock_configuration": True},
    )


REQUIRED = {
    "release_manifest": "release_id",
    "dim_area": "is_place",
    "dim_principle": "principle_id",
    "dim_indicator": "unit",
    "fct_indicator_values": "england_value",
    "mart_principle_scorecard": "principle_id",
    "mart_inequality": "sii",
    "mart_ward_profile": "place_value",
    "changes": "change_type",
    "mart_stories": "story_id",
    "mart_evidence": "evaluation_id",
}


def missing_tables(path: Path) -> list[str]:
    """The tables (or their key column) the report needs that the release file lacks."""
    with connect(path) as con:
        present = {
            (r[0], r[1])
            for r in con.execute("select table_name, column_name from duckdb_columns()").fetchall()
        }
    return [f"{t}.{c}" for t, c in REQUIRED.items() if (t, c) not in present]


def _df(con, sql: str, params: list | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def read_release(path: Path) -> Release:
    with connect(path) as con:
        manifest = _df(con, "select * exclude (source_files) from release_manifest").iloc[0]
        areas = _df(con, "select area_code, area_name, area_type, is_place from dim_area")
        place = areas[areas.is_place.fillna(False)].iloc[0].to_dict()
        names = dict(zip(areas.area_code, areas.area_name, strict=True))
        fact_columns = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = 'fct_indicator_values'"
            ).fetchall()
        }
        provisional = next((c for c in PROVISIONAL_COLUMNS if c in fact_columns), None)
        flag = f"coalesce({provisional}, false)" if provisional else "false"
        coverage = COVERAGE_COLUMN if COVERAGE_COLUMN in fact_columns else "null::varchar"
        inequality_columns = {
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where table_name = 'mart_inequality'"
            ).fetchall()
        }
        partial = "coalesce(is_partial, false)" if "is_partial" in inequality_columns else "false"
        tables = {r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()}
        system = (
            _df(
                con,
                "select * from mart_system_measures "
                "order by principle_id nulls first, period_year desc",
            )
            if SYSTEM_TABLE in tables
            else pd.DataFrame()
        )
        place_values = _df(
            con,
            "select indicator_id, period, period_sortable, sex, age, value, lower_ci_95, "
            "upper_ci_95, england_value, region_value, compared_to_england, "
            f"direction_of_travel, is_suppressed, suppression_reason, {flag} as provisional, "
            f"{coverage} as coverage_note "
            "from fct_indicator_values where area_code = ? and category_type is null "
            "order by indicator_id, sex, period_sortable",
            [place["area_code"]],
        )
        release = Release(
            manifest=manifest.to_dict(),
            place=place,
            principles=_df(con, "select * from dim_principle order by principle_id"),
            indicators=_df(con, "select * from dim_indicator order by principle_id, indicator_id"),
            place_values=place_values,
            scorecard=_df(
                con, "select * from mart_principle_scorecard order by principle_id, period_year"
            ),
            # the latest period of each scheme, a partial one too: it is drawn as provisional
            inequality=_df(
                con,
                f"select *, {partial} as provisional from mart_inequality qualify "
                "period_sortable = max(period_sortable) over (partition by indicator_id, sex, "
                "quantile_scheme) order by indicator_id, sex, quantile_scheme, quantile",
            ),
            inequality_trend=_df(
                con,
                "select indicator_id, period, period_sortable, sex, age, quantile_scheme, "
                f"bool_or({partial}) as provisional, bool_or(measures_withheld) as "
                "measures_withheld, any_value(quantiles) as quantiles, any_value(absolute_gap) "
                "as absolute_gap, any_value(sii) as sii, any_value(sii_lower) as sii_lower, "
                "any_value(sii_upper) as sii_upper, any_value(sii_note) as sii_note, "
                "any_value(previous_period) as previous_period, any_value(gap_trend) as "
                "gap_trend from mart_inequality group by all "
                "order by indicator_id, quantile_scheme, age, sex, period_sortable",
            ),
            wards=_df(
                con,
                "select * from mart_ward_profile where indicator_id is not null "
                "order by indicator_id, sex, ward_name",
            ),
            changes=_df(con, "select * from changes"),
            stories=_df(con, "select * from mart_stories order by story_date desc, title"),
            evidence=_df(con, "select * from mart_evidence order by intervention"),
            provisional_column=provisional,
            areas=names,
            system=system,
        )
    for frame in ("stories", "evidence"):  # text for the template: missing is None, not NaN
        df = getattr(release, frame)
        setattr(release, frame, df.astype(object).where(df.notna(), None))
    stories = release.stories
    stories["when"] = pd.to_datetime(stories["story_date"]).dt.strftime("%-d %B %Y").fillna("")
    stories["where"] = [
        names.get(code, ward) if isinstance(code, str) else (ward if isinstance(ward, str) else "")
        for code, ward in zip(stories["ward_code"], stories["ward"], strict=True)
    ]
    return release
