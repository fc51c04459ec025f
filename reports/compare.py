"""Renderers for `ormbench compare`: a console table (rich) and Markdown (report and job
summary). They only read the comparison; nothing here computes a verdict."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from reports import format as fmt
from reports.markdown import _env
from reports.narrow import Record, natural_width, print_records

if TYPE_CHECKING:
    from harness.gating.compare import CellChange, CompareResult

STATUS_STYLE = {
    "regression": "bold red",
    "improvement": "green",
    "within threshold": "",
    "inconclusive": "yellow",
    "floor moved": "yellow",
    "not verified": "bold red",
    "not comparable": "yellow",
    "only in baseline": "dim",
    "only in current": "dim",
}
STATUS_ORDER = tuple(STATUS_STYLE)


def percent(ratio: float | None) -> str:
    """1.123 -> "+12.3%"."""
    return "—" if ratio is None else f"{(ratio - 1) * 100:+.1f}%"


def _with_interval(ratio: float | None, low: float | None, high: float | None) -> str:
    if ratio is None:
        return "—"
    if low is None or high is None:
        return f"{percent(ratio)} (no interval)"
    return f"{percent(ratio)} [{percent(low)}, {percent(high)}]"


def change(c: CellChange) -> str:
    """The cell's own change in median with its 95% interval: "+12.3% [+5.1%, +20.0%]"."""
    return _with_interval(c.ratio, c.ci_low, c.ci_high)


def floor_change(c: CellChange) -> str:
    """The change relative to the raw DB-API floor, which the gate judges."""
    return _with_interval(c.floor_ratio, c.floor_ci_low, c.floor_ci_high)


def caught(c: CellChange) -> str:
    """The smallest slowdown the gate would flag in this cell with about 95% probability."""
    from harness.gating.compare import percent_text

    return percent_text(c.catches)


def headline(result: CompareResult) -> str:
    counts = [f"{result.count(status)} {status}" for status in STATUS_ORDER if result.count(status)]
    if result.regressions:
        count = len(result.regressions)
        verdict = f"{count} regression{'s' if count != 1 else ''}"
    elif result.compared_nothing:
        verdict = "nothing compared"
    else:
        verdict = "no regression"
    return f"{verdict} ({', '.join(counts) or 'no cells'})"


def gate(result: CompareResult) -> str:
    t = result.threshold
    rule = result.rule or (
        f"regression: 95% CI vs floor wholly above {percent(1 + t)}; "
        f"improvement: wholly below {percent(result.improvement_bound)}"
    )
    if result.counted:
        rule += (
            f"; cells counted on both sides are judged on instructions/op instead: "
            f"regression when round i over the baseline's round i rose beyond "
            f"{percent(1 + result.count_threshold)} at the median, every round above 1 "
            "(change: that median [lowest, highest])"
        )
    return rule


def databases(result: CompareResult) -> list[str]:
    return list(dict.fromkeys(c.database for c in result.changes))


def render_console(result: CompareResult, console: Console) -> None:
    console.print(f"[bold]ormbench compare[/] {result.baseline} → {result.current}")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", markup=True, highlight=False)
    names = databases(result)
    several = len(names) > 1  # one database: named once above the table, not on every row
    if not several and names:
        console.print(f"database: {names[0]}", markup=False, highlight=False)
    table = Table(title=gate(result), title_justify="left")
    headers = ("database",) * several + ("scenario", "backend", "baseline", "current")
    for header in (*headers, "change [95% CI]", "vs floor [95% CI]", "catches"):
        table.add_column(
            header, justify="left" if header in ("database", "scenario", "backend") else "right"
        )
    table.add_column("verdict")
    last_db = None
    for c in result.changes:
        style = STATUS_STYLE.get(c.status, "")
        status = f"[{style}]{c.status}[/]" if style else c.status
        table.add_row(
            *([c.database if c.database != last_db else ""] if several else []),
            c.scenario,
            fmt.SHORT_TITLES.get(c.backend, c.backend)
            + ("" if c.idiom in ("documented", "floor") else f" ({fmt.IDIOM_TITLES[c.idiom]})"),
            fmt.seconds(c.baseline_median_s),
            fmt.seconds(c.current_median_s),
            change(c),
            floor_change(c),
            caught(c),
            status + (f" ({c.reason})" if c.reason else ""),
        )
        last_db = c.database
    if natural_width(table) <= console.width:
        console.print(table)
    else:
        _print_narrow(result, console, several)
    failed = result.regressions or result.compared_nothing
    style = "bold red" if failed else "bold green"
    console.print(f"[{style}]{headline(result)}[/]")
    if nothing_line := result.nothing_line():
        console.print(f"[bold red]{nothing_line}[/]", highlight=False)
    if result.moved_databases:
        console.print(f"[bold yellow]{result.floor_move_line()}[/]", highlight=False)
    if catch_line := result.catch_line():
        console.print(catch_line, markup=False, highlight=False)
    if blind_line := result.blind_line():
        console.print(f"[bold yellow]{blind_line}[/]", highlight=False)


def _print_narrow(result: CompareResult, console: Console, several: bool) -> None:
    """The table as records (reports.narrow): per scenario each cell's baseline, current and
    verdict on a line, its intervals and what it catches below."""
    console.print(gate(result), markup=False)
    records = [
        Record(
            group=f"{c.database} · {c.scenario}" if several else c.scenario,
            label=fmt.SHORT_TITLES.get(c.backend, c.backend)
            + " "
            + {"documented": "doc", "equal": "eq"}.get(c.idiom, c.idiom),
            values=[
                fmt.seconds(c.baseline_median_s),
                fmt.seconds(c.current_median_s),
                c.status,
                change(c),
                floor_change(c),
                caught(c),
                c.reason,
            ],
            style=STATUS_STYLE.get(c.status, ""),
        )
        for c in result.changes
    ]
    headers = ["baseline", "current", "verdict", "change", "vs floor", "catches", "why"]
    print_records(console, headers, records, "scenario", styled="verdict")
    console.print(
        "doc: as documented, eq: equal work; change and vs floor: 95% intervals", markup=False
    )


def render_markdown(result: CompareResult) -> str:
    """Markdown for a file or a CI job summary: notes first, then the table."""
    return _env.get_template("compare.md.j2").render(
        r=result,
        fmt=fmt,
        change=change,
        floor_change=floor_change,
        caught=caught,
        catch_line=result.catch_line(),
        blind_line=result.blind_line(),
        headline=headline(result),
        floor_move=result.floor_move_line(),
        nothing_line=result.nothing_line(),
        databases=databases(result),
        gate=gate(result),
    )
