"""The charts of report.html: matplotlib figures rendered to inline SVG.

Why matplotlib's SVG: it is the best-kept plotting library in Python, and its SVG needs
nothing at view time — no JavaScript, no font file, no network — so nothing can fail to load
when the report is opened from a CI artifact or an e-mail, and it prints sharp. With
`svg.fonttype: none` labels stay text (searchable, and small: a chart is about 8 KB); the
viewer draws them in its own sans-serif. Vega-Lite would need several hundred KB of JavaScript
inlined in every report, and a viewer that runs it (mail clients do not).

Only matplotlib's object API is used (`Figure`, no pyplot): no global backend or figure
registry, and style changes stay inside `rc_context`. Each chart is one function returning a
`Chart`; `SCENARIO_CHARTS` lists the ones drawn per scenario (in a size sweep, per scenario
and size), and reports.scaling_charts's `SCALING_CHARTS` those of a sweep's Scaling section
(log-log, per scenario), so a new chart is one function added there.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from harness.judging.stats import practical_band, quartiles
from reports import format as fmt
from reports.model import Cell, Comparison, RunResult

# The ORMs' own colours (SQLAlchemy's red, Django's green), the floor in grey.
BACKEND_COLORS = {"sqlalchemy": "#b8312f", "django": "#0c4b33", "dbapi": "#6e6e6e"}
VERDICT_COLORS = {
    "sqlalchemy": BACKEND_COLORS["sqlalchemy"],
    "django": BACKEND_COLORS["django"],
    "equivalent": "#3b6ea5",
    "open": "#555555",
}
FAILED_COLOR = "#c9c9c9"
INK = "#222222"
GRID = "#e4e4e4"
WIDTH_IN = 8.0  # inches; the HTML scales the SVG to the page width
ROW_IN = 0.3  # inches per bar or interval row
FRAME_IN = 0.75  # inches above and below the rows: the axis and its label
LEFT = 0.3  # of the width: the row labels' margin, the same in every chart that can

STYLE = {
    "svg.fonttype": "none",  # text stays <text>: no glyph outlines, no embedded fonts
    "text.parse_math": False,  # a "$" in a label is a dollar sign
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 8.5,
    "text.color": INK,
    "axes.edgecolor": "#888888",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.color": INK,
    "ytick.color": INK,
    "ytick.major.size": 0,
}


@dataclass(frozen=True)
class Chart:
    """One figure of report.html: `kind` names the chart (a CSS class), `svg` is the inline
    SVG, `caption` says in words what it shows."""

    kind: str
    svg: str
    caption: str


def to_svg(fig: Figure, key: str, label: str) -> str:
    """The figure as an `<svg>` element to inline in HTML. `key` salts the ids matplotlib gives
    clip paths and markers: unique across the charts of one page, and the same in every
    rendering. Ids nothing refers to, the XML prolog and the namespace declarations (HTML
    parsers supply them) are dropped; width and height go too, so the page's CSS scales it."""
    buffer = io.StringIO()
    with matplotlib.rc_context({**STYLE, "svg.hashsalt": key}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    used = set(re.findall(r"(?:url\(#|href=\"#)([^)\"]+)", svg))
    svg = re.sub(r' id="([^"]+)"', lambda m: m.group(0) if m.group(1) in used else "", svg)
    svg = _compact(svg)
    root, rest = svg.split(">", 1)
    root = re.sub(r'\s(?:xmlns(?::xlink)?|version|width|height)="[^"]*"', "", root)
    safe = label.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
    return root.replace("<svg", f'<svg role="img" aria-label="{safe}"', 1) + ">" + rest


_GEOMETRY = re.compile(r'(\s(?:d|x|y|transform)=")([^"]*)"')
_DIGITS = re.compile(r"(\d\.\d\d)\d+")
FONT_FAMILY = ", ".join([*(f"'{f}'" for f in STYLE["font.sans-serif"]), "sans-serif"])


def _compact(svg: str) -> str:
    """matplotlib's SVG, smaller and drawn the same: coordinates to 1/100 pt, no indentation,
    no rotation by 0, and the font family once for the page (report.html's CSS) instead of in
    every label."""
    svg = _GEOMETRY.sub(
        lambda m: m.group(1) + _DIGITS.sub(r"\1", " ".join(m.group(2).split())) + '"', svg
    )
    svg = re.sub(r' transform="rotate\(-?0 [^"]*\)"', "", svg)
    svg = svg.replace(f"font-family: {FONT_FAMILY}; ", "")
    return re.sub(r">\s+<", "><", svg)


@contextmanager
def _figure(rows: int) -> Iterator[tuple[Figure, Axes]]:
    """A figure with one axes sized for `rows` horizontal rows, and the style in force while
    the chart draws (matplotlib reads it as each element is made)."""
    with matplotlib.rc_context(STYLE):
        height = FRAME_IN + ROW_IN * max(rows, 1)
        fig = Figure(figsize=(WIDTH_IN, height))
        FigureCanvasAgg(fig)  # measures text (_fit_labels); savefig writes the SVG itself
        ax = fig.add_axes((LEFT, FRAME_IN * 0.6 / height, 0.95 - LEFT, 1 - FRAME_IN / height))
        ax.grid(axis="x", color=GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        yield fig, ax


def _fit_labels(fig: Figure, ax: Axes) -> None:
    """Widen the left margin where a row label is longer than the usual margin holds (a long
    scenario name), so that no label is cut; charts with short labels keep their axes aligned."""
    renderer = fig.canvas.get_renderer()
    widest = max((t.get_window_extent(renderer).width for t in ax.get_yticklabels()), default=0)
    needed = (widest + 12) / (fig.get_figwidth() * fig.dpi)
    left, bottom, width, height = ax.get_position().bounds
    if needed > left:
        ax.set_position((needed, bottom, width - (needed - left), height))


def cell_label(cell: Cell, shared: set[str]) -> str:
    """The row label: backend and idiom; the documented row names the equal-work idiom too
    when that idiom runs the same code (one measurement, one bar)."""
    idiom = fmt.idiom_title(cell)
    if cell.backend in shared and cell.idiom == "documented":
        idiom = f"{idiom} = {fmt.IDIOM_TITLES['equal']}"
    label = f"{fmt.SHORT_TITLES.get(cell.backend, cell.backend)} · {idiom}"
    return label if cell.verified else f"{label} ({cell.verification.status})"


def _size_of(result: RunResult, cells: list[Cell]) -> tuple[str, str]:
    """In a size sweep, where a scenario's charts are drawn once per size: the size for a
    chart's label (", 1,000 rows") and for its key ("/1000"); nothing for one size, whose
    charts stay as they always were."""
    if not fmt.is_sweep(result) or not cells:
        return "", ""
    rows = cells[0].rows
    return f", {fmt.size_label(result, rows)}", f"/{rows}"


def spread(cell: Cell) -> tuple[float, float]:
    """A timed cell's quartiles in seconds (its median twice where no rounds were kept)."""
    if cell.rounds_s:
        return quartiles(cell.rounds_s)
    return cell.median_s or 0.0, cell.median_s or 0.0


def medians_chart(result: RunResult, database: str, scenario: str, cells: list[Cell]) -> Chart:
    """Each backend and idiom's median time per timed round as a bar, the interquartile range
    of its rounds as a whisker. A cell that failed verification is drawn grey: its time does
    not count."""
    shared = {c.backend for c in cells if c.same_code_as}
    shown = [c for c in cells if not c.same_code_as]
    timed = [c for c in shown if c.median_s is not None]
    top = max((spread(c)[1] for c in timed), default=0.0)
    unit, factor, _ = fmt.time_unit(top or 1.0)
    with _figure(len(shown)) as (fig, ax):
        for row, cell in enumerate(shown):
            if cell.median_s is None:
                ax.text(0, row, "  no timing", va="center", color=INK)
                continue
            median = cell.median_s * factor
            q1, q3 = spread(cell)
            color = BACKEND_COLORS.get(cell.backend, INK) if cell.verified else FAILED_COLOR
            light = cell.idiom == "equal"  # equal work: the same colour, lighter, outlined
            ax.barh(
                row,
                median,
                height=0.62,
                color=color,
                alpha=0.45 if light else 0.9,
                edgecolor=color,
                linewidth=1,
                hatch=None if cell.verified else "///",  # failed: not just a paler grey
            )
            ax.errorbar(
                median,
                row,
                xerr=[[median - q1 * factor], [q3 * factor - median]],
                fmt="none",
                ecolor=INK,
                elinewidth=1,
                capsize=3,
            )
            ax.annotate(
                fmt.seconds(cell.median_s),
                (max(q3 * factor, median), row),
                xytext=(5, 0),  # points right of the whisker's cap
                textcoords="offset points",
                va="center",
                fontsize=8,
                color=INK,
            )
        ax.set_yticks(range(len(shown)), [cell_label(c, shared) for c in shown])
        ax.set_ylim(len(shown) - 0.5, -0.5)  # first cell on top
        ax.set_xlim(0, (top * factor or 1) * 1.2)  # room for the value labels
        ax.set_xlabel(f"median time per timed round ({unit}); whiskers: interquartile range")
        _fit_labels(fig, ax)
        at, key = _size_of(result, cells)
        label = f"{scenario}{at}: median time per round by backend and idiom"
        svg = to_svg(fig, f"{database}/{scenario}{key}/medians", label)
    caption = (
        f"{label}. Colours: SQLAlchemy red, Django green, the raw DB-API floor dark grey; "
        "lighter bars: the equal-work idiom (an idiom that is the documented code is drawn "
        "once); pale hatched bars: verification failed, the time does not count. Whiskers span "
        "the interquartile range of the timed rounds."
    )
    return Chart("medians", svg, caption)


def ratio_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log ratio axis from `low` to `high`: 1-2-5 steps when the range is
    wide, 1-1.5-2-3-5-7 when it is middling, and evenly spaced ones (0.95, 1, 1.05 …) when it
    is narrow, where a log axis finds no tick at all."""
    span = math.log10(high / low)
    if span <= 0.5:
        ticks = MaxNLocator(nbins=6, steps=[1, 2, 2.5, 5, 10]).tick_values(low, high)
        return [float(t) for t in ticks if low <= t <= high]
    steps = (1, 2, 5) if span > 1.2 else (1, 1.5, 2, 3, 5, 7)
    exponents = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    return [s * 10**e for e in exponents for s in steps if low <= s * 10**e <= high]


def drawable(value: float | None) -> bool:
    """Can a ratio axis (log scale) show this interval end?"""
    return value is not None and 0 < value < math.inf


def ratio_chart(
    rows: list[tuple[str, Comparison]], margin: float, key: str, label: str
) -> Chart | None:
    """SQLAlchemy time / Django time per row, a point with its 95% interval, on a log axis
    (2x slower and 2x faster lie the same distance from 1), over the band of no practical
    difference (±`margin` percent). Points take the colour of the verdict's winner."""
    rows = [(name, c) for name, c in rows if c.ratio is not None]
    if not rows:
        return None
    band = practical_band(margin / 100)
    values = [v for _, c in rows for v in (c.ratio, c.ci_low, c.ci_high) if drawable(v)]
    low, high = min(*values, band[0]), max(*values, band[1])
    pad = (high / low) ** 0.08
    low, high = low / pad, high * pad
    with _figure(len(rows)) as (fig, ax):
        ax.set_xscale("log")
        ax.axvspan(*band, color="#dfe8f3", linewidth=0, zorder=0)
        ax.axvline(1, color="#8aa4c4", linewidth=1, zorder=1)
        for row, (_name, c) in enumerate(rows):
            color = VERDICT_COLORS[fmt.verdict_kind(c)]
            # Too few rounds leave an end of the interval open (0 or infinite): the line runs
            # to the edge of the axis and ends in an arrow head there. With both ends open
            # there is no interval to draw: a hollow point.
            ends = [(c.ci_low, low, "<"), (c.ci_high, high, ">")]
            bounded = any(drawable(end) for end, _, _ in ends)
            if bounded:
                xs = [end if drawable(end) else edge for end, edge, _ in ends]
                ax.plot(xs, [row, row], color=color, linewidth=2, zorder=2)
            for end, edge, arrow in ends if bounded else ():
                if drawable(end):
                    ax.plot([end, end], [row - 0.18, row + 0.18], color=color, linewidth=1.5)
                else:
                    ax.plot(edge, row, arrow, color=color, markersize=6, clip_on=False)
            face = color if bounded else "white"
            ax.plot(c.ratio, row, "o", color=color, markerfacecolor=face, markersize=6, zorder=3)
        ax.set_yticks(range(len(rows)), [name for name, _ in rows])
        ax.set_ylim(len(rows) - 0.5, -0.5)
        ax.set_xlim(low, high)
        ax.xaxis.set_major_locator(FixedLocator(ratio_ticks(low, high)))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}×"))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel(f"SQLAlchemy time / Django time; shaded: within ±{margin:g}%")
        _fit_labels(fig, ax)
        svg = to_svg(fig, key, label)
    caption = (
        f"{label}. Points: the median of the per-round ratios; lines: the 95% interval; "
        "hollow points and arrow heads: no bound (fewer than 6 rounds). Left of 1, SQLAlchemy "
        f"is faster; shaded: within ±{margin:g}%, no practical difference. Colours: the "
        "verdict, red SQLAlchemy faster, green Django faster, blue no practical difference, "
        "grey inconclusive or no verdict."
    )
    return Chart("ratio", svg, caption)


def _shared_code(result: RunResult, c: Comparison) -> bool:
    """Is `c` an equal-work comparison whose two cells are both the documented code (one
    measurement, the documented comparison's figures)?"""
    if c.idiom != "equal":
        return False
    equal = [
        cell
        for cell in result.cells
        if (cell.database, cell.scenario, cell.rows, cell.idiom)
        == (c.database, c.scenario, c.rows if c.rows is not None else cell.rows, "equal")
        and cell.backend in (c.numerator, c.denominator)
    ]
    return len(equal) == 2 and all(cell.same_code_as for cell in equal)


def _one_per_code(result: RunResult, comparisons: list[Comparison]) -> list[tuple[str, Comparison]]:
    """(idiom title, comparison) per distinct code: where both ORMs' equal work is their
    documented code, one row "as documented = equal work", not the same figures twice."""
    shared = {(c.scenario, c.rows) for c in comparisons if _shared_code(result, c)}
    rows = []
    for c in comparisons:
        if (c.scenario, c.rows) in shared:
            if c.idiom == "equal":
                continue
            rows.append((f"{fmt.IDIOM_TITLES['documented']} = {fmt.IDIOM_TITLES['equal']}", c))
        else:
            rows.append((fmt.IDIOM_TITLES.get(c.idiom, c.idiom), c))
    return rows


def scenario_ratio_chart(
    result: RunResult, database: str, scenario: str, cells: list[Cell]
) -> Chart | None:
    """The SQLAlchemy/Django ratio of one scenario, one row per idiom (in a size sweep, of the
    size of `cells`)."""
    sizes = {c.rows for c in cells}
    own = [
        c
        for c in fmt.orm_comparisons(result, database, scenario)
        if c.rows is None or c.rows in sizes
    ]
    rows = _one_per_code(result, own)
    at, key = _size_of(result, cells)
    label = f"{scenario}{at}: SQLAlchemy time / Django time per idiom"
    return ratio_chart(rows, margin(result), f"{database}/{scenario}{key}/ratio", label)


def summary_chart(result: RunResult, database: str) -> Chart | None:
    """Every scenario's SQLAlchemy/Django ratio on one database, one row per idiom: the
    verdicts at a glance."""
    sweep = fmt.is_sweep(result)
    own = [c for c in result.comparisons if c.database == database and c.kind == "orm"]
    rows = [
        (f"{c.scenario} · {f'{c.rows:,} rows · ' if sweep and c.rows else ''}{idiom}", c)
        for idiom, c in _one_per_code(result, own)
    ]
    label = "SQLAlchemy time / Django time per scenario and idiom"
    return ratio_chart(rows, margin(result), f"{database}/summary", label)


def margin(result: RunResult) -> float:
    """The practical-difference margin of the run's verdicts, in percent."""
    return float(result.plan.get("margin", 5.0))


# The charts drawn for each scenario, in order: (result, database, scenario, its cells) ->
# a chart, or None where it has nothing to show. A new chart is a function added here.
SCENARIO_CHARTS: list[Callable[[RunResult, str, str, list[Cell]], Chart | None]] = [
    medians_chart,
    scenario_ratio_chart,
]


def scenario_charts(
    result: RunResult, database: str, scenario: str, cells: list[Cell]
) -> list[Chart]:
    """The charts of one scenario, those with something to show."""
    charts = (draw(result, database, scenario, cells) for draw in SCENARIO_CHARTS)
    return [chart for chart in charts if chart is not None]
