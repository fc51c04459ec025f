"""The charts of a size sweep's Scaling section in report.html (log-log, per scenario), drawn
with reports.charts's figures and style: `SCALING_CHARTS` lists them, so a new one is one
function added there."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from reports import format as fmt
from reports.charts import (
    BACKEND_COLORS,
    GRID,
    INK,
    STYLE,
    WIDTH_IN,
    Chart,
    drawable,
    margin,
    ratio_ticks,
    spread,
    to_svg,
)
from reports.model import RunResult, SweepCell

SCALING_HEIGHT_IN = 3.4
SCALING_LEFT = 0.1  # of the width: the time axis's tick labels and label


def _fit_legend(fig: Figure, ax: Axes, legend: Legend) -> None:
    """Narrow the axes so that the legend right of them fits in the figure, however long its
    labels (a backend's own title)."""
    renderer = fig.canvas.get_renderer()
    width_px = fig.get_figwidth() * fig.dpi
    legend_width = legend.get_window_extent(renderer).width / width_px
    gap = 0.03 * ax.get_position().width + 0.02  # bbox_to_anchor's 1.03, and a margin
    left, bottom, _width, height = ax.get_position().bounds
    ax.set_position((left, bottom, max(1 - left - gap - legend_width, 0.3), height))


IDIOM_LINES = {"documented": ("-", "o"), "equal": ("--", "s"), "floor": ("-", "^")}


def _sweep_label(cell: SweepCell, shared: set[str]) -> str:
    """A line's legend label, as `cell_label`: backend and idiom, the documented line naming
    the equal-work idiom too when that idiom runs the same code."""
    idiom = fmt.sweep_idiom_title(cell)
    if cell.backend in shared and cell.idiom == "documented":
        idiom = f"{idiom} = {fmt.IDIOM_TITLES['equal']}"
    return f"{fmt.SHORT_TITLES.get(cell.backend, cell.backend)} · {idiom}"


@contextmanager
def _loglog(
    sizes: list[int],
    low: float,
    high: float,
    ylabel: str,
    yformat: Callable[[float, int], str],
) -> Iterator[tuple[Figure, Axes]]:
    """A figure with log-log axes for a sweep's lines: rows across, ticked at the sizes; the
    value axis from `low` to `high`; room on the right for the legend."""
    with matplotlib.rc_context(STYLE):
        fig = Figure(figsize=(WIDTH_IN, SCALING_HEIGHT_IN))
        FigureCanvasAgg(fig)  # measures the legend (_fit_legend)
        ax = fig.add_axes((SCALING_LEFT, 0.15, 0.5, 0.8))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.grid(color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        spread = (sizes[-1] / sizes[0]) ** 0.08 if len(sizes) > 1 else 1.5
        ax.set_xlim(sizes[0] / spread, sizes[-1] * spread)
        ax.xaxis.set_major_locator(FixedLocator(sizes))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_ylim(low, high)
        ax.yaxis.set_major_locator(FixedLocator(ratio_ticks(low, high)))
        ax.yaxis.set_major_formatter(FuncFormatter(yformat))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.tick_params(axis="y", which="major", size=3.5)
        ax.set_xlabel("rows (log scale)")
        ax.set_ylabel(ylabel)
        yield fig, ax


def _line_style(line: SweepCell, color: str, style: str, marker: str) -> dict[str, Any]:
    """How a sweep line is drawn: the backend's colour and marker, dashed and hollow for the
    equal-work idiom, whiskers capped."""
    return {
        "color": color,
        "linestyle": style,
        "marker": marker,
        "markersize": 5,
        "markerfacecolor": "white" if line.idiom == "equal" else color,
        "linewidth": 1.5,
        "elinewidth": 1,
        "capsize": 3,
    }


def _legend(fig: Figure, ax: Axes, title: str) -> None:
    """The lines' legend, right of the axes, the axes narrowed to make room for it."""
    legend = ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.03, 1.0),
        frameon=False,
        title=title,
        alignment="left",
        handlelength=2.6,
    )
    legend.get_title().set_fontsize(8.5)
    _fit_legend(fig, ax, legend)


def scaling_chart(
    result: RunResult, database: str, scenario: str, scaled: list[SweepCell]
) -> Chart | None:
    """Median time against rows on log-log axes, one line per backend and idiom with a marker
    at each size and the interquartile range of that size's rounds as a whisker. A straight
    line's slope is the growth exponent; the legend gives each line's, with its interval."""
    shared = {s.backend for s in scaled if s.same_code_as}
    lines = [s for s in scaled if not s.same_code_as]
    cells = {
        (c.backend, c.idiom, c.rows): c
        for c in result.cells
        if (c.database, c.scenario) == (database, scenario) and c.median_s is not None
    }
    drawn: list[tuple[SweepCell, list[tuple[int, float, float, float]]]] = []
    for line in lines:
        points = []
        for p in line.points:
            cell = cells.get((line.backend, line.idiom, p.rows))
            if p.median_s is None or cell is None:
                continue
            q1, q3 = spread(cell)
            points.append((p.rows, p.median_s, min(q1, p.median_s), max(q3, p.median_s)))
        if points:
            drawn.append((line, points))
    if not drawn:
        return None
    times = [t for _, points in drawn for _, *spread in points for t in spread if t > 0]
    sizes = sorted({rows for _, points in drawn for rows, *_ in points})
    if not times:
        return None
    unit, factor, _ = fmt.time_unit(max(times))
    low, high = min(times) * factor, max(times) * factor
    pad = max(high / low, 2.0) ** 0.08
    low, high = low / pad, high * pad
    ylabel = f"median time per round ({unit}, log scale)"
    with _loglog(sizes, low, high, ylabel, lambda v, _pos: f"{v:g}") as (fig, ax):
        for line, points in drawn:
            style, marker = IDIOM_LINES.get(line.idiom, ("-", "o"))
            color = BACKEND_COLORS.get(line.backend, INK)
            rows = [r for r, *_ in points]
            medians = [m * factor for _, m, _, _ in points]
            ax.errorbar(
                rows,
                medians,
                yerr=[
                    [(m - q1) * factor for _, m, q1, _ in points],
                    [(q3 - m) * factor for _, m, _, q3 in points],
                ],
                **_line_style(line, color, style, marker),
                label=f"{_sweep_label(line, shared)}\n{fmt.exponent(line)}",
            )
        _legend(fig, ax, "growth exponent [95% interval]")
        label = f"{scenario}: median time against rows (log-log) by backend and idiom"
        svg = to_svg(fig, f"{database}/{scenario}/scaling", label)
    caption = (
        f"{label}; markers at each size, whiskers span the interquartile range of its timed "
        "rounds; dashed lines and hollow markers: the equal-work idiom. The slope of a line is "
        "its growth exponent (1: time in proportion to the rows, 2: to their square, near 0: "
        "not growing), given in the legend with its 95% bootstrap interval."
    )
    return Chart("scaling", svg, caption)


def _floor_change(cell: SweepCell) -> str:
    """ "grows: 1.62x [1.50–1.75]": the trend of a cell's multiple of the floor, and the
    multiple at the largest size over that at the smallest."""
    if cell.floor_growth is None:
        return "no change measured"
    change = f"{cell.floor_growth:.2f}x"
    if cell.floor_growth_low is not None and cell.floor_growth_high is not None:
        change += f" [{cell.floor_growth_low:.2f}–{cell.floor_growth_high:.2f}]"
    return f"{fmt.TREND_TITLES.get(cell.floor_trend, 'no clear change')}: {change}"


def floor_multiple_chart(
    result: RunResult, database: str, scenario: str, scaled: list[SweepCell]
) -> Chart | None:
    """Each ORM cell's multiple of the raw DB-API floor against rows, on log-log axes, with
    its 95% interval at each size as a whisker: where a line rises, the ORM's overhead grows
    faster than the work. The legend says whether it grows, and by how much from the
    smallest size to the largest."""
    shared = {s.backend for s in scaled if s.same_code_as}
    lines = [
        (s, [p for p in s.points if p.floor_multiple is not None and p.floor_multiple > 0])
        for s in scaled
        if s.backend != "dbapi" and not s.same_code_as
    ]
    lines = [(s, points) for s, points in lines if points]
    if not lines:
        return None
    values = [
        v
        for _, points in lines
        for p in points
        for v in (p.floor_multiple, p.floor_low, p.floor_high)
        if drawable(v)
    ]
    sizes = sorted({p.rows for _, points in lines for p in points})
    low, high = min(*values, 1.0), max(*values, 1.0)
    pad = max(high / low, 2.0) ** 0.08
    low, high = low / pad, high * pad
    ylabel = "× raw DB-API floor (log scale)"
    with _loglog(sizes, low, high, ylabel, lambda v, _pos: f"{v:g}×") as (fig, ax):
        ax.axhline(1, color=BACKEND_COLORS["dbapi"], linewidth=1, zorder=1)
        # The lines' whiskers are long with few rounds: each line a little aside, so that
        # they do not hide one another (the x axis is ticked at the sizes themselves).
        step = math.log10(sizes[-1] / sizes[0]) * 0.02 if len(sizes) > 1 else 0.01
        for index, (line, points) in enumerate(lines):
            aside = 10 ** (step * (index - (len(lines) - 1) / 2))
            style, marker = IDIOM_LINES.get(line.idiom, ("-", "o"))
            color = BACKEND_COLORS.get(line.backend, INK)
            multiples = [p.floor_multiple or 0.0 for p in points]
            # An interval end too few rounds leave open (0 or infinite) gets no whisker.
            below = [
                m - p.floor_low if drawable(p.floor_low) else 0.0
                for m, p in zip(multiples, points, strict=True)
            ]
            above = [
                p.floor_high - m if drawable(p.floor_high) else 0.0
                for m, p in zip(multiples, points, strict=True)
            ]
            ax.errorbar(
                [p.rows * aside for p in points],
                multiples,
                yerr=[[max(b, 0.0) for b in below], [max(a, 0.0) for a in above]],
                **_line_style(line, color, style, marker),
                label=f"{_sweep_label(line, shared)}\n{_floor_change(line)}",
            )
        _legend(fig, ax, "× raw, largest size / smallest [95% interval]")
        label = f"{scenario}: each ORM's multiple of the raw DB-API floor against rows (log-log)"
        svg = to_svg(fig, f"{database}/{scenario}/floor-multiple", label)
    margin_text = f"±{margin(result):g}%"
    caption = (
        f"{label}; markers at each size, whiskers: the 95% interval of the multiple (none where "
        "too few rounds bound it); dashed lines and hollow markers: the equal-work idiom; the "
        "grey line at 1×: the floor itself. A rising line: the ORM's cost grows faster than the "
        f"floor's. The legend gives the change from the smallest size to the largest: it grows "
        f"or shrinks when its interval lies wholly outside {margin_text}, holds steady when "
        "wholly inside."
    )
    return Chart("floor-multiple", svg, caption)


# The charts drawn for each scenario of a size sweep, in the Scaling section: (result,
# database, scenario, its sweep cells) -> a chart, or None.
SCALING_CHARTS: list[Callable[[RunResult, str, str, list[SweepCell]], Chart | None]] = [
    scaling_chart,
    floor_multiple_chart,
]


def scaling_charts(
    result: RunResult, database: str, scenario: str, scaled: list[SweepCell]
) -> list[Chart]:
    """The scaling charts of one scenario, those with something to show."""
    charts = (draw(result, database, scenario, scaled) for draw in SCALING_CHARTS)
    return [chart for chart in charts if chart is not None]
