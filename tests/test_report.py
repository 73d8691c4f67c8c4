"""The progress report: one whole refresh of the demo publishes a release, and
``publication/report`` renders it as HTML (inline SVG charts) and PDF (headless Chromium).

The report must show only the release's disclosure-controlled numbers, every principle, each
kind of chart, and work offline. Chromium is a Debian package (``make browser``).
"""

from __future__ import annotations

import csv
import re
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import numpy as np
import pytest
from PIL import Image
from pypdf import PdfReader

from marmot_assets.publish import releases as rel
from marmot_assets.publish.report import chromium
from marmot_assets.publish.report.page import render_report

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def report(demo_refresh):
    run = demo_refresh
    assert run["success"], run["checks"]
    home = run["home"]
    release_id = rel.served_release_id(home)
    folder = home / "reports" / release_id
    html = (folder / "index.html").read_text(encoding="utf-8")
    tree = Elements()
    tree.feed(html)
    return {"home": home, "release_id": release_id, "folder": folder, "html": html,
            "tree": tree}  # fmt: skip


class Elements(HTMLParser):
    """Every element as (tag, attributes, text inside it up to its end tag)."""

    def __init__(self):
        super().__init__()
        self.open: list[list] = []
        self.elements: list[tuple[str, dict, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("meta", "br", "img", "link", "input", "hr"):
            self.elements.append((tag, dict(attrs), ""))
            return
        self.open.append([tag, dict(attrs), []])

    def handle_data(self, data):
        for element in self.open:
            element[2].append(data)

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                name, attrs, text = self.open.pop(i)
                self.elements.append((name, attrs, "".join(text)))
                return

    def find(self, tag=None, cls=None, **attrs) -> list[tuple[str, dict, str]]:
        out = []
        for name, a, text in self.elements:
            if tag and name != tag:
                continue
            if cls and cls not in (a.get("class") or "").split():
                continue
            if all(a.get(k.replace("_", "-")) == v for k, v in attrs.items()):
                out.append((name, a, text))
        return out


def release_rows(home: Path, release_id: str, sql: str) -> list[tuple]:
    path = rel.releases_dir(home) / release_id / rel.SERVING_FILE
    config = {"enable_external_access": False}
    with duckdb.connect(str(path), read_only=True, config=config) as con:
        return con.execute(sql).fetchall()


def test_the_served_release_has_its_report(report):
    assert (report["folder"] / "index.html").is_file()
    assert (report["folder"] / "report.pdf").is_file()
    assert report["release_id"] in report["html"]
    manifest = rel.read_json(
        rel.releases_dir(report["home"]) / report["release_id"] / "manifest.json"
    )
    assert manifest["disclosure_rules_version"] in report["html"]


def test_it_renders_in_headless_chromium(report):
    png = report["home"] / "report_screenshot.png"
    ok, why = chromium.screenshot(report["folder"] / "index.html", png)
    assert ok, why
    pixels = np.asarray(Image.open(png).convert("RGB"))
    assert pixels.shape[:2] == (2000, 1200)
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    not_white = (pixels.min(axis=2) < 240).mean()
    assert colours > 100, colours
    assert not_white > 0.03, not_white


def test_every_principle_and_every_kind_of_chart(report):
    tree = report["tree"]
    sections = tree.find("section", cls="principle")
    assert [s[1]["id"] for s in sections] == [f"principle-{i}" for i in range(9)]
    for kind in ("chart-trend", "chart-gradient", "chart-wards"):
        figures = [f for f in tree.find("figure", cls=kind)]
        assert figures, kind
    # each chart figure holds an inline SVG
    for kind in ("chart-trend", "chart-gradient", "chart-wards"):
        assert re.search(rf'<figure class="chart {kind}"><svg', report["html"]), kind
    assert tree.find("table", cls="scorecard")
    assert tree.find("section", id="changes")
    assert "95% interval" in report["html"] and "Wilson" in report["html"]


def test_stories_and_evaluations_sit_beside_their_indicators(report):
    rows = release_rows(
        report["home"], report["release_id"],
        "select distinct indicator_id, story_id from mart_stories where indicator_id is not null",
    )  # fmt: skip
    assert rows
    html = report["html"]
    for story_id in {s for _, s in rows}:
        assert f'data-story="{story_id}"' in html, story_id
    # an evaluation naming an indicator is inside that indicator's article
    [(indicator, evaluation)] = release_rows(
        report["home"], report["release_id"],
        "select indicator_id, evaluation_id from mart_evidence where indicator_id is not null "
        "order by evaluation_id limit 1",
    )  # fmt: skip
    start = html.index(f'<article id="indicator-{indicator}"')
    assert f'data-evaluation="{evaluation}"' in html[start : html.index("</article>", start)]


def test_the_system_section_shows_contracts_pledges_and_their_stories(report):
    """The Marmot approach itself: a row per year of the release's whole-system measures
    (latest six), the reviewed share with its interval where published, every story whose
    text mentions procurement or businesses beside them, and no supplier named."""
    from marmot_assets.publish.report.render import SYSTEM_STORY_WORDS, SYSTEM_YEARS

    html = report["html"]
    start = html.index('<section id="system"')
    section = html[start : html.index("</section>", start)]
    years = release_rows(
        report["home"], report["release_id"],
        "select period_year, reviewed_share, reviewed_share_lower_95 from mart_system_measures "
        "where principle_id is null order by period_year desc",
    )  # fmt: skip
    assert years
    for year, share, lower in years[:SYSTEM_YEARS]:
        row = section[section.index(f'<tr data-year="{year}">') :]
        row = row[: row.index("</tr>")]
        if share is not None:
            assert f"{100 * share:.0f}% (95% interval {100 * lower:.0f}%" in row, year
    stories = release_rows(
        report["home"], report["release_id"],
        "select distinct story_id, title, body from mart_stories",
    )  # fmt: skip
    mentioning = {
        sid for sid, title, body in stories if SYSTEM_STORY_WORDS.search(f"{title} {body}")
    }
    shown = set(re.findall(r'data-story="([^"]+)"', section))
    assert mentioning and shown == mentioning
    principles = release_rows(
        report["home"], report["release_id"],
        "select distinct principle_id from mart_system_measures where principle_id is not null "
        "and period_year = (select max(period_year) from mart_system_measures)",
    )  # fmt: skip
    for (pid,) in principles:
        assert f'<tr data-principle="{pid}">' in section, pid
    suppliers = set()
    landed = report["home"] / "landing" / "council_procurement" / "contracts_register"
    for path in landed.glob("*.csv"):
        with path.open(encoding="cp1252", newline="") as f:
            suppliers |= {r["Supplier Name"] for r in csv.DictReader(f)}
    assert suppliers and not [name for name in suppliers if name in html]


def test_the_pdf_has_pages(report):
    pages = len(PdfReader(report["folder"] / "report.pdf").pages)
    assert pages >= 5, pages


def test_the_pdf_prints_every_chart_as_drawing_with_its_text(report):
    # Chromium prints the charts from a copy of the page where they are SVG images: the PDF
    # still draws them (no picture of a chart) and keeps their words as text
    reader = PdfReader(report["folder"] / "report.pdf")
    assert not [page for page in reader.pages if page.images]
    text = "".join(page.extract_text() for page in reader.pages)
    charts = re.findall(r"<svg\b.*?</svg>", report["html"], re.S)
    for legend in ("ward value, 95% interval", "slope index of inequality: "):
        drawn = sum(chart.count(legend) for chart in charts)
        assert drawn and text.count(legend) == drawn, legend
    # and the copy it printed from is gone
    assert sorted(p.name for p in report["folder"].iterdir()) == ["index.html", "report.pdf"]


def test_suppressed_ward_values_are_shown_as_suppressed_never_as_numbers(report):
    tree = report["tree"]
    suppressed = release_rows(
        report["home"], report["release_id"],
        "select f.area_code, f.indicator_id, f.period, f.suppression_reason "
        "from fct_indicator_values f join mart_ward_profile w on w.ward_code = f.area_code "
        "and w.indicator_id = f.indicator_id and w.period = f.period and w.sex = f.sex "
        "where f.area_type = 'ward' and f.category_type is null and f.is_suppressed",
    )  # fmt: skip
    # the demo has suppressed ward cells (a primary one and its secondary, in the Job Shop's
    # latest whole year; its partial years are never a ward's latest value)
    assert len(suppressed) >= 2
    for ward, indicator, period, _reason in suppressed:
        rows = tree.find("tr", data_ward=ward, data_indicator=indicator, data_period=period)
        assert rows, (ward, indicator, period)
        for _, attrs, text in rows:
            assert "suppressed" in attrs.get("class", ""), (ward, indicator, text)
            value = text.split("suppressed")[0]
            assert not re.search(r"\d", value.replace(period, "")), text
    # and no ward row in any period that is suppressed in the release shows as a value
    hidden = {
        (a, i, p)
        for a, i, p in release_rows(
            report["home"],
            report["release_id"],
            "select area_code, indicator_id, period from fct_indicator_values "
            "where area_type = 'ward' and category_type is null and is_suppressed",
        )  # fmt: skip
    }
    for _, attrs, _text in tree.find("tr"):
        key = (attrs.get("data-ward"), attrs.get("data-indicator"), attrs.get("data-period"))
        if key in hidden:
            assert "suppressed" in attrs.get("class", ""), key


def test_suppressed_quantiles_are_named_not_drawn(report):
    [(indicator, quantile)] = release_rows(
        report["home"], report["release_id"],
        "select indicator_id, quantile from mart_inequality where is_suppressed qualify "
        "period_sortable = max(period_sortable) over (partition by indicator_id, sex, "
        "quantile_scheme) order by indicator_id, quantile limit 1",
    )  # fmt: skip
    html = report["html"]
    start = html.index(f'<article id="indicator-{indicator}"')
    article = html[start : html.index("</article>", start)]
    assert f"group {quantile} (" in article
    assert "withheld" in article  # the SII of a scheme with a suppressed group


def test_the_report_works_offline(report):
    html = report["html"]
    assert "<script" not in html.lower()
    for found in re.finditer(r"""(?:src|href)\s*=\s*["']?\s*([^"'\s>]+)""", html, re.I):
        assert not re.match(r"(?:https?:)?//", found.group(1)), found.group(0)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html, re.I)
    assert "@import" not in html


def test_without_chromium_the_html_still_renders(report, tmp_path, monkeypatch):
    home = tmp_path / "marmot"
    source = rel.releases_dir(report["home"]) / report["release_id"]
    target = rel.releases_dir(home) / report["release_id"]
    target.mkdir(parents=True)
    shutil.copy(source / rel.SERVING_FILE, target / rel.SERVING_FILE)
    monkeypatch.setenv("MARMOT_CHROMIUM", str(tmp_path / "no-such-chromium"))
    started = time.monotonic()
    out = render_report(home, report["release_id"])
    print(f"report HTML rendered in {time.monotonic() - started:.1f} s")
    assert out["html"].is_file() and out["pdf"] is None
    assert "chromium" in out["pdf_error"]
    assert not (home / "reports" / report["release_id"] / "report.pdf").exists()


# --- the outcomes: the life expectancy gap over time, by sex ----------------------------------
def figure_html(html: str, start_marker: str) -> str:
    start = html.index(start_marker)
    return html[start : html.index("</figure>", start)]


def drawn_points(figure: str, sex: str) -> int:
    """The markers drawn on a sex's line of a gap-trend chart (a NaN is never drawn)."""
    start = figure.index(f'<g id="gap-trend-series-{sex}">')
    end = figure.find('<g id="', start + 1)
    return figure[start : end if end > 0 else len(figure)].count("<use ")


def test_the_outcomes_section_draws_the_life_expectancy_gap_trend_by_sex(report):
    html = report["html"]
    start = html.index('<section id="principle-0"')
    section = html[start : html.index("</section>", start)]
    rows = release_rows(
        report["home"], report["release_id"],
        "select distinct sex, period, period_sortable, is_partial, measures_withheld, sii, "
        "previous_period, gap_trend from mart_inequality where indicator_id = "
        "'life_expectancy_birth_local' and quantile_scheme = 'National IMD decile' "
        "order by sex, period_sortable",
    )  # fmt: skip
    sexes = sorted({r[0] for r in rows})
    assert sexes == ["Female", "Male"]
    figure = figure_html(
        section,
        '<figure class="chart chart-gap-trend" data-indicator="life_expectancy_birth_local" '
        'data-scheme="National IMD decile"',
    )
    assert f'data-sexes="{" ".join(sexes)}"' in figure
    assert "<svg" in figure
    for sex in sexes:
        assert figure.count(f'id="gap-trend-series-{sex}"') == 1, sex
        # one point per period with a published SII, none for a withheld one
        shown = [r for r in rows if r[0] == sex and r[5] is not None and not r[4]]
        assert drawn_points(figure, sex) == len(shown) >= 2, sex
        # the verdict in words: the latest whole period against the one it was compared with
        whole = [r for r in rows if r[0] == sex and not r[3]]
        _, period, _, _, withheld, _, previous, trend = whole[-1]
        verdict = re.search(r'<span class="verdict">(.*?)</span>', figure, re.S).group(1)
        if withheld:
            assert f"{sex}: {period}: withheld" in verdict
        elif trend == "not compared":
            assert f"{sex}: the gap in {period}" in verdict and "not compared" in verdict
        else:
            assert f"{sex}: the gap {trend} between {previous} and {period}" in verdict
    # the five-year quintiles (most against least deprived fifth) have their chart too
    quintiles = figure_html(
        section,
        '<figure class="chart chart-gap-trend" data-indicator="life_expectancy_birth_local_5y" '
        'data-scheme="Local deprivation quintile"',
    )
    assert 'data-sexes="Female Male"' in quintiles
    # no other principle carries a gap-trend chart
    assert html.count("chart-gap-trend") == section.count("chart-gap-trend")


def test_a_withheld_or_provisional_gap_is_never_drawn_as_a_whole_value():
    import pandas as pd

    from marmot_assets.publish.report.render import _gap_trends

    def row(sex, period, sii, *, withheld=False, partial=False, trend="held", note=None):
        year = int(period[:4])
        return {
            "indicator_id": "le", "period": period, "period_sortable": year * 10_000,
            "sex": sex, "age": "All ages", "quantile_scheme": "National IMD decile",
            "provisional": partial, "measures_withheld": withheld, "quantiles": 10,
            "absolute_gap": None if sii is None else -sii, "sii": sii,
            "sii_lower": None if sii is None else sii - 1, "sii_upper": None if sii is None
            else sii + 1, "sii_note": note, "previous_period": None if partial else "x",
            "gap_trend": "not compared" if partial else trend,
        }  # fmt: skip

    rows = pd.DataFrame(
        [
            row("Male", "2019 - 21", 12.0, trend="not compared"),
            row("Male", "2020 - 22", None, withheld=True),
            row("Male", "2021 - 23", 9.0, trend="narrowed"),
            row("Male", "2022 - 24", 8.0, partial=True),
            row("Female", "2019 - 21", 8.0, trend="not compared"),
            row("Female", "2020 - 22", None, note="fewer than 5 quantiles"),
            row("Female", "2021 - 23", 8.5),
        ]
    )
    [block] = _gap_trends(rows, "years", "le")
    assert block["sexes"] == ["Female", "Male"]  # one line per sex, in order
    assert drawn_points(block["svg"], "Male") == 3  # the withheld period is not drawn
    assert drawn_points(block["svg"], "Female") == 2
    # each missing point is named, with its sex and why
    assert ">Male: withheld<" in block["svg"] and ">Female: not calculated<" in block["svg"]
    assert "Male: provisional" in block["svg"]  # the partial period drawn hollow, labelled
    female, male = block["verdicts"]
    # the latest whole period is judged, never the provisional one
    assert male.startswith("Male: the gap narrowed between x and 2021 - 23")
    assert female.startswith("Female: the gap held between x and 2021 - 23")
    table = {(r["sex"], r["period"]): r for r in block["rows"]}
    assert table["Male", "2020 - 22"]["sii"].startswith("withheld")
    assert table["Male", "2020 - 22"]["gap"] == "withheld"
    assert table["Female", "2020 - 22"]["sii"] == "not calculated: fewer than 5 quantiles"
    assert table["Male", "2022 - 24"]["provisional"] == "provisional"
