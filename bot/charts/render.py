"""Charts drawn from plain numbers with matplotlib's Agg backend, returned as PNG or SVG bytes.

Nothing here reads the database or computes a KPI: callers pass the series
that `bot.analytics` computed and the words, already translated. Figures are
built with the object API (no pyplot state) and drawn one at a time under a
lock, because matplotlib's text and font caches are not made for threads.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.charts import fonts

TREATMENT = "#0f766e"
HOLDOUT = "#a3a9b5"
ACCENT = "#0f766e"
SEND = "#d97706"
INK = "#1f2933"
MUTED = "#6b7280"
GRID = "#e5e7eb"

_lock = threading.Lock()


@dataclass(frozen=True)
class Size:
    """Pixels out; dpi sets how large the text is against them."""

    width: int
    height: int
    dpi: int = 200


# flex: the hero of a LINE bubble (20:13, as flex_templates.hero_image shows it; LINE
# fetches at most 1024 px).
# wide/narrow: the dashboard on a laptop and on a phone.
SIZES = {
    "flex": Size(1000, 650, 190),
    "wide": Size(1200, 600, 200),
    "narrow": Size(640, 560, 200),
}
# Charts of two panels need a taller picture on a phone.
TALL = {"narrow": Size(640, 900, 200)}
Number = Callable[[float], str]


def _figure(size: Size):
    from matplotlib.figure import Figure  # noqa: PLC0415 - loaded only when drawing

    fonts.register()
    figure = Figure(
        figsize=(size.width / size.dpi, size.height / size.dpi),
        dpi=size.dpi,
        layout="constrained",
        facecolor="white",
    )
    return figure


def _style(axes) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.spines[["left", "bottom"]].set_color(GRID)
    axes.tick_params(colors=MUTED, labelsize=8, length=0)
    axes.set_axisbelow(True)


def _rc():
    import matplotlib  # noqa: PLC0415

    return matplotlib.rc_context(
        {
            "font.family": fonts.FAMILIES,
            "font.size": 9,
            "text.color": INK,
            "axes.labelcolor": MUTED,
            "axes.titlesize": 10,
            "axes.titleweight": "normal",
            "axes.titlelocation": "left",
            "svg.fonttype": "path",
        }
    )


def _save(figure, fmt: str) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt, dpi=figure.dpi, metadata=_metadata(fmt))
    return buffer.getvalue()


def _metadata(fmt: str) -> dict:
    # No software/date stamps: the same numbers give the same bytes (cacheable).
    return {"Software": None} if fmt == "png" else {"Date": None}


def draw(build: Callable, size: Size, fmt: str = "png") -> bytes:
    """Run `build(figure)` on a fresh figure and return it encoded as PNG or SVG."""
    with _lock, _rc():
        figure = _figure(size)
        build(figure)
        return _save(figure, fmt)


def empty(figure, message: str) -> None:
    """The "no data yet" figure: one quiet line in the middle."""
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", color=MUTED, fontsize=12)


# -- the charts ------------------------------------------------------------------------


def ab_comparison(
    figure,
    arms: Sequence[tuple[str, object]],
    titles: tuple[str, str],
    percent: Number,
    money: Number,
    empty_message: str,
) -> None:
    """Treatment vs holdout: conversion and revenue per member, with 95% error bars.

    `arms` pairs a label with a `bot.analytics` GroupResult (conversion and
    revenue per member, each with an interval that may be None).
    """
    if not arms:
        empty(figure, empty_message)
        return
    # On a phone the two panels go one above the other, so their labels keep room.
    tall = figure.get_figheight() > figure.get_figwidth()
    left, right = figure.subplots(2, 1) if tall else figure.subplots(1, 2)
    colours = [TREATMENT, HOLDOUT, *[ACCENT] * (len(arms) - 2)]
    results = [result for _label, result in arms]
    panels = (
        (left, [(r.conversion, r.conversion_ci) for r in results], percent),
        (right, [(r.revenue_per_member, r.revenue_per_member_ci) for r in results], money),
    )
    for (axes, pairs, fmt), title in zip(panels, titles, strict=True):
        _style(axes)
        positions = list(range(len(arms)))
        values = [value or 0 for value, _ci in pairs]
        # Intervals are clipped at the bar: a share or an average is never negative.
        below = [v - max(ci.low, 0) if ci else 0 for v, (_x, ci) in zip(values, pairs, strict=True)]
        above = [ci.high - v if ci else 0 for v, (_x, ci) in zip(values, pairs, strict=True)]
        axes.bar(positions, values, color=colours, width=0.6)
        axes.errorbar(
            positions,
            values,
            yerr=[[max(b, 0) for b in below], [max(a, 0) for a in above]],
            fmt="none",
            ecolor=INK,
            capsize=5,
            lw=1,
        )
        axes.set_xticks(positions, [label for label, _result in arms], fontsize=9, color=INK)
        if title:
            axes.set_title(title)
        axes.yaxis.set_major_formatter(_formatter(fmt))
        axes.grid(axis="y", color=GRID, lw=0.6)
        tops = [v + a for v, a in zip(values, above, strict=True)]
        axes.set_ylim(0, max(tops) * 1.25 or 1)
        # The value sits above its error bar, where nothing overlaps it.
        for x, (value, _ci), top in zip(positions, pairs, tops, strict=True):
            axes.annotate(
                "–" if value is None else fmt(value),
                (x, top),
                xytext=(0, 4),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=9,
                color=INK,
            )


def daily_revenue(
    figure,
    days: Sequence[date],
    revenue: Sequence[float],
    sends: Sequence[tuple[date, str]],
    title: str,
    money: Number,
    day_label: Callable[[date], str],
    send_label: str,
    empty_message: str,
) -> None:
    """Revenue per day as bars, campaign sends as marked vertical lines."""
    from matplotlib.dates import date2num  # noqa: PLC0415

    if not days or not any(revenue):
        empty(figure, empty_message)
        return
    axes = figure.add_subplot()
    _style(axes)
    axes.bar(days, revenue, color=ACCENT, width=0.8, alpha=0.85)
    if title:
        axes.set_title(title)
    axes.yaxis.set_major_formatter(_formatter(money))
    axes.grid(axis="y", color=GRID, lw=0.6)
    top = max(revenue) * 1.15
    axes.set_ylim(0, top)
    marked = False
    for day, name in sends:
        if not days[0] <= day <= days[-1]:
            continue
        axes.axvline(day, color=SEND, lw=1.2, ls="--", label=None if marked else send_label)
        axes.annotate(
            _shorten(name, 14), (day, top), xytext=(2, -2), textcoords="offset points",
            rotation=90, va="top", ha="left", fontsize=7, color=SEND,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
        )  # fmt: skip
        marked = True
    step = max(1, len(days) // 6)
    ticks = list(days[::step])
    axes.set_xticks(ticks, [day_label(d) for d in ticks])
    axes.set_xlim(date2num(days[0]) - 0.7, date2num(days[-1]) + 0.7)
    if marked:
        # Above the plot, at the right: never over a bar or a campaign's name.
        axes.legend(loc="lower right", bbox_to_anchor=(1, 1), frameon=False, fontsize=8)


def funnel(
    figure, stages: Sequence[tuple[str, int]], number: Number, percent: Number, empty_message: str
) -> None:
    """Members at each step of the funnel, with the share of the first step."""
    if not stages or not stages[0][1]:
        empty(figure, empty_message)
        return
    axes = figure.add_subplot()
    _style(axes)
    axes.spines[["left", "bottom"]].set_visible(False)
    labels = [label for label, _count in stages]
    counts = [count for _label, count in stages]
    positions = list(range(len(stages)))[::-1]
    shades = _shades(len(stages))
    axes.barh(positions, counts, color=shades, height=0.7)
    axes.set_yticks(positions, labels, fontsize=9, color=INK)
    axes.set_xticks([])
    axes.set_xlim(0, counts[0] * 1.35)
    for y, count in zip(positions, counts, strict=True):
        axes.annotate(
            f"{number(count)} · {percent(count / counts[0])}",
            (count, y), xytext=(4, 0), textcoords="offset points",
            va="center", fontsize=8, color=INK,
        )  # fmt: skip


def grid(
    figure,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    label: Callable[[float], str],
    title: str,
    empty_message: str,
    xlabel: str = "",
    ylabel: str = "",
    cmap: str = "Greens",
    notes: Sequence[Sequence[str]] | None = None,
    annotate: bool = True,
    vmax: float | None = None,
) -> None:
    """A heat-map table: cohort retention, the RFM grid, hours × weekdays."""
    import numpy as np  # noqa: PLC0415

    cells = np.array([[np.nan if v is None else v for v in row] for row in values], dtype=float)
    if cells.size == 0 or not np.nansum(cells):
        empty(figure, empty_message)
        return
    axes = figure.add_subplot()
    _style(axes)
    axes.spines[["left", "bottom"]].set_visible(False)
    masked = np.ma.masked_invalid(cells)
    colours = _colormap(cmap)
    top = vmax or float(np.nanmax(cells)) or 1.0
    axes.imshow(masked, cmap=colours, vmin=0, vmax=top, aspect="auto")
    # Many columns on a narrow figure (24 hours on a phone): label every third.
    every = 3 if len(columns) > 12 and figure.get_figwidth() < 5 else 1
    shown = list(range(0, len(columns), every))
    axes.set_xticks(shown, [columns[i] for i in shown], fontsize=7 if len(columns) > 12 else 8)
    axes.set_yticks(range(len(rows)), rows, fontsize=8)
    axes.xaxis.tick_top()
    axes.xaxis.set_label_position("top")
    if xlabel:
        axes.set_xlabel(xlabel, fontsize=8)
    if ylabel:
        axes.set_ylabel(ylabel, fontsize=8)
    if title:
        axes.set_title(title, pad=4)
    if not annotate:
        return
    for (r, c), value in np.ndenumerate(cells):
        if np.isnan(value):
            continue
        text = label(value)
        if notes is not None and notes[r][c]:
            text = f"{notes[r][c]}\n{text}"
        dark = min(value, top) > top * 0.55
        axes.text(c, r, text, ha="center", va="center", fontsize=7, color="white" if dark else INK)


# -- helpers ---------------------------------------------------------------------------


def _formatter(fmt: Number):
    from matplotlib.ticker import FuncFormatter  # noqa: PLC0415

    return FuncFormatter(lambda value, _pos: fmt(value))


def _colormap(name: str):
    from matplotlib import colormaps  # noqa: PLC0415

    return colormaps[name].with_extremes(bad="#f3f4f6")


def _shades(count: int) -> list:
    from matplotlib import colormaps  # noqa: PLC0415

    ramp = colormaps["GnBu"]
    return [ramp(0.85 - 0.5 * i / max(count - 1, 1)) for i in range(count)]


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
