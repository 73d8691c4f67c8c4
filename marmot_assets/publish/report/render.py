"""The report's content: per principle, its scorecard and each indicator with its charts,
the stories and evaluations beside it, and what changed since the last release."""

from __future__ import annotations

import math
import re

import pandas as pd

from marmot_assets.publish.report import charts
from marmot_assets.publish.report.data import Release, reason_text

CHANGE_TYPES = ["new", "revised", "significance moved", "withdrawn"]
DETAILED_CHANGES = 40
# The outcomes (life expectancy and its gap): their inequality is drawn over time, by sex.
OUTCOMES_PRINCIPLE = 0


def number(value, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not available"
    decimals = 0 if abs(value) >= 1000 else (2 if abs(value) < 10 else 1)
    text = f"{value:,.{decimals}f}"
    return f"{text}%" if unit == "%" else f"{text} {unit}".strip()


def _text(value, default: str = "not compared") -> str:
    return str(value) if value is not None and pd.notna(value) else default


def value_text(row, unit: str) -> str:
    """A value with its 95% interval, or "suppressed (why)": never a hidden number. A value
    its method withholds (OHID's rules, e.g. life expectancy of 5,000 people or fewer) says
    so, with the reason."""
    note = row.get("value_note")
    if not row.get("is_suppressed") and pd.isna(row.get("value")) and isinstance(note, str):
        return f"withheld ({note})"
    if row.get("is_suppressed") or pd.isna(row.get("value")):
        return f"suppressed ({reason_text(row.get('suppression_reason'))})"
    text = number(row["value"], unit)
    low, high = row.get("lower_ci_95"), row.get("upper_ci_95")
    if pd.notna(low) and pd.notna(high):
        text += f" (95% interval {number(low)} to {number(high)})"
    return text


def latest_row(s: pd.DataFrame) -> dict:
    """The series' latest whole period; a provisional (partial) period only when there is no
    whole one, since a few months are no measure of a year."""
    ordered = s.sort_values("period_sortable")
    whole = ordered[~ordered["provisional"].astype(bool)]
    return (whole if len(whole) else ordered).iloc[-1].to_dict()


def provisional_text(row) -> str:
    """The label of a provisional period, with what it covers; "" for a whole period."""
    if not row.get("provisional"):
        return ""
    note = row.get("coverage_note")
    return f"provisional: {note}" if isinstance(note, str) and note else "provisional"


def _trend_rows(series: pd.DataFrame, unit: str) -> list[dict]:
    """The trend chart's values as a table, each provisional period labelled as such."""
    return [
        {
            "sex": r["sex"] if r["sex"] not in ("Persons", "Not applicable") else "",
            "period": r["period"],
            "value": value_text(r, unit),
            "provisional": provisional_text(r),
        }
        for r in series.sort_values(["sex", "period_sortable"]).to_dict("records")
    ]


def _headline(series: pd.DataFrame, unit: str) -> list[dict]:
    out = []
    for sex, s in series.groupby("sex", sort=False):
        last = latest_row(s)
        out.append(
            {
                "sex": sex if sex not in ("Persons", "Not applicable") else "",
                "period": last["period"],
                "value": value_text(last, unit),
                "provisional": bool(last["provisional"]),
                "england": number(last["england_value"], unit),
                "region": number(last["region_value"], unit),
                "compared": _text(last["compared_to_england"]),
                "travel": _text(last["direction_of_travel"]),
            }
        )
    return out


def _gradients(rows: pd.DataFrame, unit: str, key: str) -> list[dict]:
    out = []
    for (sex, scheme), g in rows.groupby(["sex", "quantile_scheme"], sort=False):
        first = g.iloc[0]
        if first["measures_withheld"]:
            sii = "withheld: a group is suppressed under disclosure control"
        elif pd.notna(first["sii"]):
            sii = f"{number(first['sii'], unit)}"
            if pd.notna(first["sii_lower"]) and pd.notna(first["sii_upper"]):
                sii += (
                    f" (95% interval {number(first['sii_lower'])} to {number(first['sii_upper'])})"
                )
            if pd.notna(first["gap_trend"]) and pd.notna(first["previous_period"]):
                sii += f"; since {first['previous_period']}: {first['gap_trend']}"
        else:
            note = first["sii_note"] if pd.notna(first["sii_note"]) else "fewer than 5 groups"
            sii = f"not calculated: {note}"
        out.append(
            {
                "scheme": scheme,
                "sex": sex if sex not in ("Persons", "Not applicable") else "",
                "period": first["period"],
                "provisional": bool(first.get("provisional", False)),
                "sii": sii,
                "svg": charts.gradient(g, unit, f"{key}-{scheme}-{sex}"),
                "cells": [
                    {
                        "quantile": int(r["quantile"]),
                        "value": value_text(r, unit),
                        "suppressed": bool(r["is_suppressed"] or pd.isna(r["value"])),
                        "reason": r["value_note"]
                        if not r["is_suppressed"] and isinstance(r.get("value_note"), str)
                        else reason_text(r["suppression_reason"]),
                    }
                    for r in g.to_dict("records")
                ],
            }
        )
    return out


def _sii_text(row, unit: str) -> str:
    """One period's SII with its interval, or why there is none."""
    if row["measures_withheld"]:
        return "withheld: a group is suppressed under disclosure control"
    if pd.isna(row["sii"]):
        note = row["sii_note"] if pd.notna(row["sii_note"]) else "fewer than 5 groups"
        return f"not calculated: {note}"
    text = number(row["sii"], unit)
    if pd.notna(row["sii_lower"]) and pd.notna(row["sii_upper"]):
        text += f" (95% interval {number(row['sii_lower'])} to {number(row['sii_upper'])})"
    return text


def _verdict(sex: str, s: pd.DataFrame, unit: str) -> str:
    """The gap trend in words: the latest whole period against the one before it (as
    mart_inequality judged it, on the SII's 95% intervals), and how the steps before went."""
    who = f"{sex}: " if sex not in ("Persons", "Not applicable") else ""
    whole = s[~s["provisional"].astype(bool)]
    if not len(whole):
        return f"{who}only provisional periods, which are not compared."
    last = whole.iloc[-1]
    if last["measures_withheld"] or pd.isna(last["gap_trend"]):
        return f"{who}{last['period']}: {_sii_text(last, unit)}; the trend is not shown."
    if last["gap_trend"] == "not compared" or pd.isna(last["previous_period"]):
        text = f"{who}the gap in {last['period']} ({_sii_text(last, unit)}) is not compared"
        return text + " with an earlier period."
    text = (
        f"{who}the gap {last['gap_trend']} between {last['previous_period']} and "
        f"{last['period']} (slope index of inequality {_sii_text(last, unit)})"
    )
    steps = whole["gap_trend"].dropna()
    steps = steps[steps.isin(["narrowed", "widened", "held"])]
    if len(steps) > 1:
        counts = steps.value_counts()
        parts = [f"{k} {int(counts[k])}" for k in ("narrowed", "widened", "held") if k in counts]
        text += f"; from {whole.iloc[0]['period']}, period to period: {', '.join(parts)}"
    return text + "."


def _gap_trends(rows: pd.DataFrame, unit: str, key: str) -> list[dict]:
    """Per deprivation scheme with at least two periods: the SII over time, one line per sex,
    the trend in words, and the values as a table."""
    out = []
    for (scheme, age), g in rows.groupby(["quantile_scheme", "age"], sort=False):
        if g["period"].nunique() < 2:
            continue
        g = g.sort_values(["sex", "period_sortable"])
        sexes = list(dict.fromkeys(g["sex"]))
        out.append(
            {
                "scheme": scheme,
                "sexes": sexes,
                "svg": charts.gap_trend(g, unit, f"{key}-gap-{scheme}-{age}"),
                "verdicts": [_verdict(sex, g[g["sex"] == sex], unit) for sex in sexes],
                "first": g["period"].iloc[0],
                "last": g.sort_values("period_sortable")["period"].iloc[-1],
                "rows": [
                    {
                        "sex": r["sex"] if r["sex"] not in ("Persons", "Not applicable") else "",
                        "period": r["period"],
                        "sii": _sii_text(r, unit),
                        "gap": "withheld"
                        if r["measures_withheld"]
                        else number(r["absolute_gap"], unit),
                        "trend": "withheld" if r["measures_withheld"] else _text(r["gap_trend"]),
                        "provisional": "provisional" if r["provisional"] else "",
                    }
                    for r in g.to_dict("records")
                ],
            }
        )
    return out


def _wards(rows: pd.DataFrame, unit: str, place: str, key: str) -> list[dict]:
    out = []
    for sex, g in rows.groupby("sex", sort=False):
        table = [
            {
                "code": r["ward_code"],
                "name": r["ward_name"],
                "period": r["period"],
                "value": value_text(r, unit),
                "suppressed": bool(r["is_suppressed"] or pd.isna(r["value"])),
                "compared": _text(r["compared_to_place"]),
            }
            for r in g.sort_values("value", ascending=False).to_dict("records")
        ]
        out.append(
            {
                "sex": sex if sex not in ("Persons", "Not applicable") else "",
                "period": g["period"].dropna().max() if g["period"].notna().any() else "",
                "svg": charts.wards(g, unit, place, f"{key}-wards-{sex}"),
                "rows": table,
            }
        )
    return out


def _change_counts(changes: pd.DataFrame) -> dict[str, int]:
    counts = changes["change_type"].value_counts().to_dict() if len(changes) else {}
    return {t: int(counts.get(t, 0)) for t in CHANGE_TYPES}


def indicator_block(release: Release, ind: dict, placed_stories: set) -> dict:
    key, unit, place = ind["indicator_id"], ind["unit"], release.place["area_name"]
    series = release.place_values[release.place_values.indicator_id == key]
    stories = release.stories[release.stories.indicator_id == key]
    story_cards = []
    for s in stories.to_dict("records"):
        if (s["story_id"], s["principle_id"]) not in placed_stories:
            placed_stories.add((s["story_id"], s["principle_id"]))
            story_cards.append(s)
    return {
        "id": key,
        "name": ind["indicator_name"],
        "unit": unit,
        "source": ind["source"],
        "method": ind["method"],
        "polarity": (ind["polarity"] or "").replace("_", " "),
        "headline": _headline(series, unit) if len(series) else [],
        "trend": charts.trend(series, unit, place, f"{key}-trend") if len(series) else None,
        "trend_rows": _trend_rows(series, unit),
        "gradients": _gradients(
            release.inequality[release.inequality.indicator_id == key], unit, key
        ),
        "gap_trends": _gap_trends(
            release.inequality_trend[release.inequality_trend.indicator_id == key], unit, key
        )
        if int(ind["principle_id"]) == OUTCOMES_PRINCIPLE and len(release.inequality_trend)
        else [],
        "wards": _wards(release.wards[release.wards.indicator_id == key], unit, place, key),
        "changes": _change_counts(release.changes[release.changes.indicator_id == key]),
        "stories": story_cards,
        "evidence": release.evidence[release.evidence.indicator_id == key]
        .drop_duplicates("evaluation_id")
        .to_dict("records"),
    }


def principle_sections(release: Release) -> list[dict]:
    sections = []
    for p in release.principles.to_dict("records"):
        pid = int(p["principle_id"])
        placed: set = set()
        indicators = release.indicators[release.indicators.principle_id == pid]
        blocks = [indicator_block(release, ind, placed) for ind in indicators.to_dict("records")]
        score = release.scorecard[release.scorecard.principle_id == pid]
        unplaced = [
            s
            for s in release.stories[release.stories.principle_id == pid]
            .drop_duplicates("story_id")
            .to_dict("records")
            if (s["story_id"], pid) not in placed
        ]
        evidence = release.evidence[
            (release.evidence.principle_id == pid) & release.evidence.indicator_id.isna()
        ]
        sections.append(
            {
                "id": pid,
                "name": p["principle_name"],
                "since": p["since_year"],
                "scorecard": score.sort_values("period_year", ascending=False).to_dict("records"),
                "indicators": blocks,
                "stories": unplaced,
                "evidence": evidence.drop_duplicates("evaluation_id").to_dict("records"),
            }
        )
    return sections


def changes_summary(release: Release) -> dict:
    changes = release.changes
    detailed = changes[changes.change_type != "new"].head(DETAILED_CHANGES).to_dict("records")
    names = dict(
        zip(release.indicators.indicator_id, release.indicators.indicator_name, strict=True)
    )
    for row in detailed:
        row["indicator_name"] = names.get(row["indicator_id"], row["indicator_id"])
        row["area_name"] = release.areas.get(row["area_code"], row["area_code"])
        if pd.notna(row["category"]):
            row["area_name"] += f" ({row['category_type']}: {row['category']})"
        if row["sex"] not in ("Persons", "Not applicable"):
            row["area_name"] += f", {row['sex']}"
        row["before"] = (
            number(row["previous_value"]) if pd.notna(row["previous_value"]) else "not shown"
        )
        row["after"] = number(row["value"]) if pd.notna(row["value"]) else "not shown"
    previous = changes["previous_release_id"].dropna()
    return {
        "counts": _change_counts(changes),
        "total": len(changes),
        "previous": previous.iloc[0] if len(previous) else None,
        "detailed": detailed,
        "more": int((changes.change_type != "new").sum()) - len(detailed),
    }


# A story speaks to the Marmot approach itself when it mentions the council's spending or the
# city's businesses (procurement, contracts, social value, pledging employers).
SYSTEM_STORY_WORDS = re.compile(
    r"procure|contract|social value|business|employer|pledge|supplier", re.IGNORECASE
)
SYSTEM_LINE = "system"
SYSTEM_YEARS = 6


def _count_text(value) -> str:
    """A published count: NULL is a count of 1-7 the release suppressed, never a number."""
    if value is None or pd.isna(value):
        return "suppressed (1-7)"
    return f"{int(value):,}"


def _share_text(row) -> str:
    if row.get("reviewed_is_suppressed"):
        return f"suppressed ({reason_text(row.get('reviewed_suppression_reason'))})"
    share = row.get("reviewed_share")
    if share is None or pd.isna(share):
        return "no contracts let"
    low, high = row.get("reviewed_share_lower_95"), row.get("reviewed_share_upper_95")
    return f"{100 * share:.0f}% (95% interval {100 * low:.0f}% to {100 * high:.0f}%)"


def _gbp_text(value) -> str:
    if value is None or pd.isna(value):
        return "withheld"
    return f"£{value:,.0f}"


def system_section(release: Release) -> dict | None:
    """The Marmot approach itself: per year the contracts let and the share reviewed through a
    health inequalities lens (with the scorecard's system line), social value and business
    pledges, the services' offers, and the stories that mention procurement or businesses.
    None for a release made before mart_system_measures."""
    system = release.system
    if system.empty:
        return None
    whole = system[system.principle_id.isna()].sort_values("period_year", ascending=False)
    by_principle = system[system.principle_id.notna()]
    scorecard = release.scorecard
    travel = {}
    if "scorecard_line" in scorecard.columns:
        line = scorecard[scorecard.scorecard_line == SYSTEM_LINE]
        travel = {
            int(r["period_year"]): (
                "improving"
                if r["improving"]
                else "worsening"
                if r["worsening"]
                else "no significant change or not compared"
            )
            for r in line.to_dict("records")
        }
    years = [
        {
            "year": int(r["period_year"]),
            "contracts": _count_text(r["contracts_let"]),
            "value": _gbp_text(r["contract_value_let_gbp"]),
            "reviewed": _share_text(r),
            "value_weighted": (
                f"{100 * r['reviewed_share_value_weighted']:.0f}%"
                if pd.notna(r.get("reviewed_share_value_weighted"))
                else "not shown"
            ),
            "travel": travel.get(int(r["period_year"]), "not judged (no contracts let)"),
            "commitments": _count_text(r["social_value_commitments"]),
            "signed_up": _count_text(r["organisations_signed_up"]),
            "new": _count_text(r["organisations_new"]),
            "lapsed": _count_text(r["organisations_lapsed"]),
        }
        for r in whole.head(SYSTEM_YEARS).to_dict("records")
    ]
    latest = int(by_principle.period_year.max()) if len(by_principle) else None
    names = dict(
        zip(release.principles.principle_id, release.principles.principle_name, strict=True)
    )
    principles = [
        {
            "id": int(r["principle_id"]),
            "name": names.get(r["principle_id"], r["principle_name"]),
            "signed_up": _count_text(r["organisations_signed_up"]),
            "pledges": _count_text(r["pledges"]),
            "commitments": _count_text(r["social_value_commitments"]),
        }
        for r in by_principle[by_principle.period_year == latest]
        .sort_values("principle_id")
        .to_dict("records")
    ]
    services = whole.iloc[0].to_dict() if len(whole) else {}
    stories = release.stories.drop_duplicates("story_id")
    mentioning = [
        s
        for s in stories.to_dict("records")
        if SYSTEM_STORY_WORDS.search(f"{s['title']} {s['body'] or ''}")
    ]
    return {
        "years": years,
        "latest": latest,
        "principles": principles,
        "services": {
            "services": services.get("services"),
            "both": services.get("services_with_both_offers"),
            "reach": services.get("services_with_reach_data"),
            "rises": services.get("services_help_rises_with_need"),
        },
        "stories": mentioning,
    }
