"""The report's charts are kept between reports: a chart whose inputs are unchanged is not
drawn again and is the same bytes; a changed one is redrawn; unused ones are removed."""

from __future__ import annotations

import pandas as pd
import pytest

from marmot_assets.publish.report import charts, drawing


def series(value: float = 50.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sex": "Persons", "period": ["2022", "2023", "2024"],
            "period_sortable": [2022, 2023, 2024], "value": [value, 52.0, None],
            "lower_ci_95": [value - 2, 50.0, None], "upper_ci_95": [value + 2, 54.0, None],
            "provisional": [False, False, True], "england_value": [49.0, 50.0, 51.0],
            "region_value": [None, None, None],
        }
    )  # fmt: skip


@pytest.fixture
def drawn(monkeypatch):
    """Charts drawn (figures written as SVG), counted."""
    count = []
    real = charts.to_svg

    def to_svg(fig, salt):
        count.append(salt)
        return real(fig, salt)

    monkeypatch.setattr(charts, "to_svg", to_svg)
    return count


def test_an_unchanged_chart_is_not_drawn_again_and_is_the_same(tmp_path, drawn):
    plain = charts.trend(series(), "%", "Coventry", "x-trend")
    assert drawn == ["x-trend"] and plain.startswith("<svg")
    folder = tmp_path / ".charts"
    with charts.drawn_in(folder):
        first = charts.trend(series(), "%", "Coventry", "x-trend")
    with charts.drawn_in(folder):
        again = charts.trend(series(), "%", "Coventry", "x-trend")
    assert len(drawn) == 2  # drawn once more to be kept, then taken from the folder
    assert first == again == plain  # no date or random id in the SVG
    assert len(list(folder.glob("*.svg"))) == 1


def test_a_changed_chart_is_redrawn_and_an_unused_one_removed(tmp_path, drawn):
    folder = tmp_path / ".charts"
    with charts.drawn_in(folder):
        before = charts.trend(series(50.0), "%", "Coventry", "x-trend")
        charts.trend(series(), "%", "Coventry", "y-trend")
    with charts.drawn_in(folder):
        after = charts.trend(series(50.5), "%", "Coventry", "x-trend")  # a revised value
    assert drawn == ["x-trend", "y-trend", "x-trend"]
    assert after != before
    assert [p.read_text() for p in folder.glob("*.svg")] == [after]  # y's chart went


def test_a_report_that_fails_removes_nothing(tmp_path, drawn):
    folder = tmp_path / ".charts"
    with charts.drawn_in(folder):
        charts.trend(series(), "%", "Coventry", "x-trend")
    with pytest.raises(RuntimeError), charts.drawn_in(folder):
        raise RuntimeError("the report failed before drawing anything")
    assert len(list(folder.glob("*.svg"))) == 1


def test_a_kept_chart_cut_short_is_drawn_again(tmp_path, drawn):
    folder = tmp_path / ".charts"
    with charts.drawn_in(folder):
        whole = charts.trend(series(), "%", "Coventry", "x-trend")
    (kept,) = folder.glob("*.svg")
    kept.write_bytes(kept.read_bytes()[:200])  # as a power cut after the rename may leave it
    with charts.drawn_in(folder):
        again = charts.trend(series(), "%", "Coventry", "x-trend")
    assert again == whole and len(drawn) == 2
    assert kept.read_text() == whole


def _page(charts_asked: list) -> str:
    return "<p>" + "</p><p>".join(charts_asked) + "</p>"


@pytest.mark.parametrize("workers", [2, 3])
def test_charts_drawn_together_in_other_processes_are_the_charts_drawn_here(
    tmp_path, workers, drawn
):
    asked = [(series(50.0 + i), f"c{i}-trend") for i in range(5)]
    with charts.drawn_in(tmp_path / "one_by_one"):
        expected = _page([charts.trend(s, "%", "Coventry", salt) for s, salt in asked])
    drawn.clear()
    folder = tmp_path / "together"
    with charts.drawn_together(folder, workers) as finish:
        placeholders = [charts.trend(s, "%", "Coventry", salt) for s, salt in asked]
        again = charts.trend(asked[0][0], "%", "Coventry", asked[0][1])  # asked twice
        assert all(p.startswith("@@marmot-chart:") for p in [*placeholders, again])
        assert drawn == []  # nothing drawn yet
        page = finish(_page(placeholders))
    assert page == expected and "<svg" in page
    # here, only what the other processes had not started, each chart once
    assert len(drawn) <= len(asked) and len(set(drawn)) == len(drawn)
    assert sorted(p.name for p in folder.glob("*.svg")) == sorted(
        p.name for p in (tmp_path / "one_by_one").glob("*.svg")
    )
    with charts.drawn_together(folder, workers) as finish:  # kept: not drawn, not deferred
        kept = [charts.trend(s, "%", "Coventry", salt) for s, salt in asked]
        assert finish(_page(kept)) == expected and not any(k.startswith("@@") for k in kept)


def test_charts_the_other_processes_cannot_draw_are_drawn_here(tmp_path, monkeypatch):
    class Broken:
        def submit(self, *args):
            raise RuntimeError("a process lost")

        def shutdown(self, **kwargs):
            pass

    monkeypatch.setattr(drawing, "start_pool", lambda size: Broken())
    with charts.drawn_in(tmp_path / "here"):
        expected = charts.trend(series(), "%", "Coventry", "x-trend")
    with charts.drawn_together(tmp_path / "together", 2) as finish:
        assert finish(charts.trend(series(), "%", "Coventry", "x-trend")) == expected


def test_charts_are_handed_to_a_pool_started_ahead_as_soon_as_they_are_asked(tmp_path, drawn):
    asked = [(series(60.0 + i), f"a{i}-trend") for i in range(4)]
    with charts.drawn_in(tmp_path / "one_by_one"):
        expected = _page([charts.trend(s, "%", "Coventry", salt) for s, salt in asked])
    drawn.clear()
    pool = drawing.start_pool(1, nice=10)
    try:
        with charts.drawn_together(tmp_path / "together", 2, pool) as finish:
            placeholders = [charts.trend(s, "%", "Coventry", salt) for s, salt in asked]
            # the pool draws them while the page is being put together: by the time it is,
            # there is nothing left to draw here
            futures = [future for *_, future in charts._kept["pending"].values()]
            assert len(futures) == len(asked)
            for future in futures:
                future.result(timeout=120)
            page = finish(_page(placeholders))
        assert page == expected and drawn == []
        assert not pool._broken  # a pool it was given is left to its owner, running
    finally:
        pool.shutdown(wait=True)


def test_a_pool_started_ahead_that_has_gone_leaves_its_charts_to_be_drawn_here(tmp_path, drawn):
    with charts.drawn_in(tmp_path / "here"):
        expected = charts.trend(series(), "%", "Coventry", "x-trend")
    drawn.clear()
    pool = drawing.start_pool(1)
    pool.submit(drawing.ready).result(timeout=120)
    for process in list(pool._processes.values()):
        process.kill()
        process.join(timeout=30)
    try:
        with charts.drawn_together(tmp_path / "together", 2, pool) as finish:
            page = finish(charts.trend(series(), "%", "Coventry", "x-trend"))
        assert page == expected and drawn == ["x-trend"]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def test_a_chart_is_laid_out_and_drawn_once(monkeypatch):
    """to_svg lays the figure out once and draws it once: savefig draws a figure that still
    has a layout engine (even matplotlib's placeholder for "none") once more before it
    prints it, for the same SVG."""
    from matplotlib.figure import Figure

    draws = []
    real = Figure.draw

    def draw(self, renderer):
        draws.append(type(renderer).__name__)
        return real(self, renderer)

    monkeypatch.setattr(Figure, "draw", draw)
    svg = charts.trend.__wrapped__(series(), "years", "Coventry", "t1")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert len(draws) == 1
