"""The report's charts, drawn with matplotlib and returned as inline SVG (no scripts, no
network: the page works offline and prints sharply).

Every chart takes only disclosure-controlled values: a suppressed value is never drawn (it is
NULL in the release) and is labelled "suppressed" instead.

Drawing is most of a report's time (~100 ms a chart, ~90 charts), and a partner's file changes
the values of a few indicators only. Within ``drawn_in(folder)`` each chart is kept as
``<folder>/<sha256>.svg``, the digest of its function, its arguments (frames' rows written exactly)
and this module's code and matplotlib's version; a chart whose digest is there is not drawn
again. The folder keeps only the charts the latest report used.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import uuid
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

from marmot_assets.publish.report import drawing

PLACE, ENGLAND, REGION, BAND = "#1f4e79", "#444444", "#c55a11", "#9dc3e6"
SUPPRESSED = "#8c8c8c"
STYLE = {
    "svg.fonttype": "none",  # text stays text: smaller files, the page's font
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


_CODE = hashlib.sha256(Path(__file__).read_bytes() + matplotlib.__version__.encode()).hexdigest()
_kept: dict = {"folder": None, "used": None, "pending": None, "pool": None}
# where a chart drawn later (drawn_together) stands in the page until it is drawn
PLACEHOLDER = "@@marmot-chart:{}@@"


@contextlib.contextmanager
def drawn_in(folder: Path):
    """Charts drawn inside are kept in ``folder`` and taken from it when their inputs are
    unchanged; on leaving, the charts this report did not use are removed."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = dict(_kept)
    _kept.update(folder=folder, used=set())
    try:
        yield
        for path in folder.glob("*.svg"):
            if path.name not in _kept["used"]:
                path.unlink(missing_ok=True)
    finally:
        _kept.update(previous)


def _digest(name: str, args: tuple) -> str:
    digest = hashlib.sha256(f"{_CODE}\n{name}\n".encode())
    for arg in args:
        if isinstance(arg, pd.DataFrame):
            # the rows and their types, not the labels they had in the release's frame
            digest.update(repr(list(arg.dtypes.astype(str).items())).encode())
            digest.update(arg.to_csv(index=False, float_format=repr).encode())
        else:
            digest.update(repr(arg).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


@contextlib.contextmanager
def drawn_together(folder: Path, workers: int, pool=None):
    """As ``drawn_in``, but a chart not kept is drawn later, with the others: inside, it
    returns a placeholder, and ``finish(text)`` (what this yields) draws every chart asked for
    and puts each in ``text`` in place of its placeholder. Drawing is the report's largest
    cost on a first report (~90 charts). Each chart is handed at once to ``pool`` (processes
    of ``drawing.start_pool``; without one, ``workers - 1`` are started now and ended on
    leaving), so they draw while the page is being put together; ``finish`` draws here the
    charts they have not yet started, the last first, and takes theirs. A chart the other processes
    could not draw is drawn here: the report never depends on them."""
    own = None
    if pool is None and workers > 1:
        with contextlib.suppress(OSError):  # no processes to be had here: drawn one by one
            pool = own = drawing.start_pool(workers - 1)
    try:
        with drawn_in(folder):
            _kept.update(pending={}, pool=pool)
            yield _finish
    finally:
        for _, _, future in (_kept["pending"] or {}).values():  # not finished: not wanted
            if future is not None:
                future.cancel()
        _kept.update(pending=None, pool=None)
        if own is not None:
            own.shutdown(wait=True, cancel_futures=True)


def draw_ahead(source: Path, folder: Path, stop: Path, render) -> int:
    """The charts ``render(source)`` asks for, drawn and kept in ``folder`` one by one, first
    to last (the report's own drawing takes the last first), skipping those kept already and
    stopping as soon as ``stop`` exists; none is removed. The number drawn."""
    folder.mkdir(parents=True, exist_ok=True)
    previous = dict(_kept)
    _kept.update(folder=folder, used=set(), pending={}, pool=None)
    drawn = 0
    try:
        render(source)  # the page, for the charts it asks for: each waits in ``pending``
        for name, (chart, args, _) in list(_kept["pending"].items()):
            if stop.exists():
                break
            if (folder / name).is_file():
                continue
            _keep(folder, name, globals()[chart].__wrapped__(*args))
            drawn += 1
        return drawn
    finally:
        _kept.update(previous)


def _draw_all(share: list[tuple[str, tuple[str, tuple]]]) -> list[tuple[str, str]]:
    """Each chart of ``share`` drawn: (its name, its SVG)."""
    return [(name, globals()[chart].__wrapped__(*args)) for name, (chart, args) in share]


def _hand_over(name: str, chart: str, args: tuple):
    """``chart(*args)`` handed to the pool now, if there is one: its future, else None."""
    pool = _kept["pool"]
    if pool is None:
        return None
    try:
        return pool.submit(_draw_all, [(name, (chart, args))])
    except Exception:  # the pool is broken (a process lost): drawn here
        return None


def _finish(text: str) -> str:
    pending = _kept["pending"]
    drawn: dict[str, str] = {}
    # the charts no other process has started are drawn here, the last first (they take
    # theirs from the first): a future not yet started can be cancelled
    for name, (chart, args, future) in reversed(pending.items()):
        if future is None or future.cancel():
            drawn.update(_draw_all([(name, (chart, args))]))
    for name, (chart, args, future) in pending.items():
        if name in drawn:
            continue
        try:
            drawn.update(future.result(timeout=600))
        except Exception:  # a process lost or refused: drawn here
            drawn.update(_draw_all([(name, (chart, args))]))
    for name, svg in drawn.items():
        _keep(_kept["folder"], name, svg)
        text = text.replace(PLACEHOLDER.format(name), svg)
    pending.clear()
    return text


def _keep(folder: Path, name: str, svg: str) -> None:
    tmp = folder / f".{name}.{uuid.uuid4().hex[:8]}.tmp"
    tmp.write_text(svg, encoding="utf-8")
    os.replace(tmp, folder / name)  # whole or absent, never half a chart


def kept(draw):
    """A chart function whose SVG is kept and reused within ``drawn_in`` (see above)."""

    @functools.wraps(draw)
    def chart(*args):
        folder = _kept["folder"]
        if folder is None:
            return draw(*args)
        name = _digest(draw.__name__, args) + ".svg"
        _kept["used"].add(name)
        path = folder / name
        with contextlib.suppress(OSError, UnicodeDecodeError):
            svg = path.read_text(encoding="utf-8")
            # whole, or drawn again: a power cut can leave a renamed file short of its bytes
            if svg.startswith("<svg") and svg.rstrip().endswith("</svg>"):
                return svg
        pending = _kept["pending"]
        if pending is not None:  # drawn_together: drawn later, with the others
            if name not in pending:
                pending[name] = (draw.__name__, args, _hand_over(name, draw.__name__, args))
            return PLACEHOLDER.format(name)
        svg = draw(*args)
        _keep(folder, name, svg)
        return svg

    return chart


def to_svg(fig: Figure, salt: str) -> str:
    """The figure as an ``<svg>`` element; ``salt`` keeps its clip-path ids unique on the page."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": salt}):
        # Laid out once (constrained layout, measuring text as the SVG will hold it), then
        # drawn once: ``savefig`` would draw it once more to lay it out, and measure it all
        # again for bbox_inches="tight", ~10% of a chart's time for the same picture.
        engine = fig.get_layout_engine()
        if engine is not None:
            FigureCanvasSVG(fig)
            engine.execute(fig)
            # None (rc's default: no engine), not "none": "none" leaves a placeholder engine,
            # and savefig draws a figure that has any engine once more before printing it
            # (~25% of the charts' time, for the same SVG bytes)
            fig.set_layout_engine(None)
        # no date in the SVG's metadata: the same chart is the same bytes (charts are kept)
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        fig.add_subplot()
    return fig


@kept
def trend(series: pd.DataFrame, unit: str, place: str, salt: str) -> str:
    """The place's series with its 95% interval band against England and the region; one
    panel per sex. Provisional periods are drawn hollow."""
    sexes = list(dict.fromkeys(series["sex"]))
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(6.4, 2.6 * len(sexes)), layout="constrained")
        axes = fig.subplots(len(sexes), 1, squeeze=False)[:, 0]
        for ax, sex in zip(axes, sexes, strict=True):
            s = series[series["sex"] == sex].sort_values("period_sortable")
            x = np.arange(len(s))
            shown = s["value"].notna().to_numpy()
            if len(x) > 1:
                ax.fill_between(
                    x,
                    s["lower_ci_95"],
                    s["upper_ci_95"],
                    color=BAND,
                    alpha=0.6,
                    linewidth=0,
                    label="95% interval",
                )
            else:  # one period: the interval as an error bar
                err = [s["value"] - s["lower_ci_95"], s["upper_ci_95"] - s["value"]]
                ax.errorbar(
                    x,
                    s["value"],
                    yerr=np.nan_to_num(np.asarray(err, dtype=float)),
                    fmt="none",
                    ecolor=BAND,
                    elinewidth=6,
                    label="95% interval",
                )
                ax.set_xlim(-1, 1)
            ax.plot(x, s["value"], color=PLACE, marker="o", markersize=4, label=place)
            provisional = s["provisional"].to_numpy() & shown
            if provisional.any():
                ax.plot(
                    x[provisional],
                    s["value"][provisional],
                    linestyle="none",
                    marker="o",
                    markersize=7,
                    markerfacecolor="white",
                    color=PLACE,
                    label="provisional",
                )
            if s["england_value"].notna().any():
                ax.plot(x, s["england_value"], color=ENGLAND, linestyle="--", label="England")
            if s["region_value"].notna().any():
                ax.plot(x, s["region_value"], color=REGION, linestyle=":", label="Region")
            _mark_suppressed(ax, x[~shown])
            ax.set_xticks(x, s["period"], rotation=45 if len(x) > 6 else 0, ha="right")
            ax.set_ylabel(unit)
            ax.set_title(sex if sex not in ("Persons", "Not applicable") else "", loc="left")
            ax.grid(axis="y", alpha=0.3)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, fontsize=8, ncols=5, loc="outside upper left", frameon=False)
    return to_svg(fig, salt)


def _mark_suppressed(ax, positions) -> None:
    """Write "suppressed" up the foot of the axes at each x position where no value is shown."""
    _mark_missing(ax, {xi: "suppressed" for xi in positions})


def _mark_missing(ax, labels: dict) -> None:
    """Write each label up the foot of the axes at its x position, where no value is drawn."""
    for xi, text in labels.items():
        ax.annotate(
            text,
            (xi, 0.02),
            xycoords=("data", "axes fraction"),
            rotation=90,
            color=SUPPRESSED,
            ha="center",
            fontsize=7,
        )


@kept
def gradient(rows: pd.DataFrame, unit: str, salt: str) -> str:
    """Value per deprivation quantile (1 = most deprived) with 95% limits, and the SII line
    (from the most to the least deprived end) unless withheld."""
    fig = _figure(6.4, 2.8)
    ax = fig.axes[0]
    n = int(rows["quantile"].max())
    x = (rows["quantile"].to_numpy() - 0.5) / n
    values = rows["value"].to_numpy(dtype=float)
    shown = ~np.isnan(values)
    err = np.vstack([values - rows["lower_ci_95"], rows["upper_ci_95"] - values])
    ax.bar(
        x[shown],
        values[shown],
        width=0.8 / n,
        color=BAND,
        edgecolor=PLACE,
        label=rows["quantile_scheme"].iloc[0],
    )
    ax.errorbar(
        x[shown],
        values[shown],
        yerr=err[:, shown],
        fmt="none",
        ecolor=PLACE,
        capsize=3,
        label="95% interval",
    )
    _mark_suppressed(ax, x[~shown])
    first = rows.iloc[0]
    if not first["measures_withheld"] and pd.notna(first["sii"]) and shown.all():
        mean = float(np.mean(values))
        sii = float(first["sii"])
        ax.plot(
            [0, 1],
            [mean - sii / 2, mean + sii / 2],
            color=REGION,
            linewidth=2,
            label=f"slope index of inequality: {sii:+.2f}",
        )
    ax.set_xticks(x, [str(q) for q in rows["quantile"]])
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"{rows['quantile_scheme'].iloc[0]} (1 = most deprived)")
    ax.set_ylabel(unit)
    ax.grid(axis="y", alpha=0.3)
    # above the bars, not on them (the SII line runs to the top right corner)
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, ncols=3, loc="outside upper left", frameon=False)
    return to_svg(fig, salt)


@kept
def wards(rows: pd.DataFrame, unit: str, place_name: str, salt: str) -> str:
    """Wards ranked by value with 95% limits and the place's value; suppressed wards listed
    at the bottom as "suppressed"."""
    rows = rows.assign(_missing=rows["value"].isna()).sort_values(
        ["_missing", "value"], ascending=[False, True]
    )
    fig = _figure(6.4, 0.6 + 0.2 * len(rows))
    ax = fig.axes[0]
    y = np.arange(len(rows))
    values = rows["value"].to_numpy(dtype=float)
    shown = ~np.isnan(values)
    lower = (values - rows["lower_ci_95"].to_numpy(dtype=float))[shown]
    upper = (rows["upper_ci_95"].to_numpy(dtype=float) - values)[shown]
    ax.errorbar(
        values[shown],
        y[shown],
        xerr=np.nan_to_num([lower, upper]),
        fmt="o",
        color=PLACE,
        ecolor=BAND,
        elinewidth=3,
        markersize=4,
        label="ward value, 95% interval",
    )
    place = rows["place_value"].dropna()
    if len(place):
        ax.axvline(place.iloc[0], color=ENGLAND, linestyle="--", label=place_name)
    labels = [
        f"{name} (suppressed)" if missing else name
        for name, missing in zip(rows["ward_name"], ~shown, strict=True)
    ]
    ax.set_yticks(y, labels)
    for tick, missing in zip(ax.get_yticklabels(), ~shown, strict=True):
        if missing:
            tick.set_color(SUPPRESSED)
    ax.set_ylim(-0.7, len(rows) - 0.3)
    ax.set_xlabel(unit)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(fontsize=8, frameon=False, ncols=2, loc="outside lower center")
    return to_svg(fig, salt)


SEX_COLOURS = {"Male": PLACE, "Female": REGION}


@kept
def gap_trend(rows: pd.DataFrame, unit: str, salt: str) -> str:
    """The slope index of inequality of one indicator and deprivation scheme over its periods,
    one line per sex, with 95% limits as error bars; provisional (partial) periods hollow. A
    period whose SII is withheld (a suppressed group) or not calculated (OHID's rules) is not
    drawn: it is labelled "withheld" or "not calculated" (with the sex) at the foot of the axes."""
    periods = rows.drop_duplicates("period").sort_values(["period_sortable", "period"])
    position = {p: i for i, p in enumerate(periods["period"])}
    sexes = list(dict.fromkeys(rows["sex"]))
    fig = _figure(6.4, 2.8)
    ax = fig.axes[0]
    offsets = np.linspace(-0.08, 0.08, len(sexes)) if len(sexes) > 1 else [0.0]
    missing: dict[float, str] = {}
    for offset, sex in zip(offsets, sexes, strict=True):
        s = rows[rows["sex"] == sex].sort_values(["period_sortable", "period"])
        x = np.array([position[p] for p in s["period"]], dtype=float) + offset
        withheld = s["measures_withheld"].fillna(False).astype(bool).to_numpy()
        values = np.where(withheld, np.nan, s["sii"].to_numpy(dtype=float))
        lower = s["sii_lower"].to_numpy(dtype=float)
        upper = s["sii_upper"].to_numpy(dtype=float)
        shown = ~np.isnan(values)
        colour = SEX_COLOURS.get(sex, ENGLAND)
        label = sex if sex not in ("Persons", "Not applicable") else "SII"
        (line,) = ax.plot(x, values, color=colour, marker="o", markersize=4, label=label)
        line.set_gid(f"gap-trend-series-{sex}")
        bars = shown & ~np.isnan(lower) & ~np.isnan(upper)
        if bars.any():
            ax.errorbar(
                x[bars],
                values[bars],
                yerr=[values[bars] - lower[bars], upper[bars] - values[bars]],
                fmt="none",
                ecolor=colour,
                alpha=0.6,
                capsize=3,
            )
        provisional = s["provisional"].fillna(False).astype(bool).to_numpy() & shown
        if provisional.any():
            ax.plot(
                x[provisional],
                values[provisional],
                linestyle="none",
                marker="o",
                markersize=7,
                markerfacecolor="white",
                color=colour,
                label=f"{label}: provisional",
            )
        for xi, w in zip(x[~shown], withheld[~shown], strict=True):
            why = "withheld" if w else "not calculated"
            missing[xi] = f"{label}: {why}" if len(sexes) > 1 else why
    _mark_missing(ax, missing)
    ax.axhline(0, color=ENGLAND, linewidth=0.6)
    ax.set_xticks(range(len(position)), list(position), rotation=45 if len(position) > 6 else 0)
    if len(position) == 1:
        ax.set_xlim(-1, 1)
    ax.set_ylabel(f"SII ({unit})")
    ax.set_xlabel(f"{rows['quantile_scheme'].iloc[0]}: gap across deprivation, by period")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=7, frameon=False, loc="best")
    return to_svg(fig, salt)
