"""The console report: one table per database, then the verdicts."""

from __future__ import annotations

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from reports import format as fmt
from reports.model import Cell, RunResult

STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "error": "bold red",
    "unsupported": "yellow",
}


def render(result: RunResult, console: Console) -> None:
    if not result.complete:
        console.print(f"[bold yellow]INCOMPLETE RUN:[/] {result.incomplete_reason or ''}")
    for info in result.databases:
        groups = fmt.scenario_cells(result, info.label)
        if info.error:
            console.print(f"[bold red]{info.label}: {info.error}[/]")
        if not groups:
            continue
        # The optional columns, the least needed last, dropped from the end until the table
        # fits with its text columns wrapped (the idiom, the headers), figures never.
        optional = [c for c in OPTIONAL_COLUMNS if _has(c, groups)]
        unbounded = console.options.update(max_width=10**6)
        while True:
            table = _cells_table(result, info.label, groups, optional)
            if not optional or Measurement.get(console, unbounded, table).minimum <= console.width:
                break
            optional.pop()
        console.print(table)
        if CLIENT_CPU in optional:
            console.print(fmt.client_share_note(result, info.label))
        if info.connection_settings:
            unequal = fmt.settings_differences(info)
            if unequal:
                console.print("[bold red]connection settings differ:[/] " + "; ".join(unequal))
            else:
                console.print(
                    "connection settings: read back from each backend's connection, equal "
                    "(autocommit aside, which is each ORM's design); report.md lists them"
                )
        margin = result.plan.get("margin", 5.0)
        verdicts = Table(
            title=f"SQLAlchemy / Django time, 95% interval; a winner only outside ±{margin:g}%, "
            "Holm-corrected across the database's verdicts",
            title_justify="left",
        )
        sweep = fmt.is_sweep(result)
        verdicts.add_column("scenario")
        if sweep:
            verdicts.add_column("rows", justify="right")
        verdicts.add_column("idiom")
        verdicts.add_column("ratio [95% CI]", justify="right")
        verdicts.add_column("verdict")
        verdicts.add_column("what differs (traced)")
        for scenario in groups:
            comparisons = fmt.orm_comparisons(result, info.label, scenario)
            for i, c in enumerate(comparisons):
                verdicts.add_row(
                    scenario if i == 0 else "",
                    *([f"{c.rows:,}" if c.rows else "—"] if sweep else []),
                    fmt.IDIOM_TITLES.get(c.idiom, c.idiom),
                    fmt.ratio(c),
                    c.verdict,
                    c.differs or "—",
                    end_section=i == len(comparisons) - 1,
                )
        if verdicts.row_count:
            console.print(verdicts)
        render_scaling(result, info.label, console)
    for info in result.databases:
        header, rows = fmt.projection_table(result, info.label)
        if rows:
            table = Table(
                title=f"{info.label}: verdicts at network distance (projected from round trips)",
                title_justify="left",
            )
            for column in header:
                table.add_column(column)
            for row in rows:
                table.add_row(*row)
            console.print(table)
    for info in result.databases:
        for cell in result.cells:
            if cell.database == info.label and not cell.verified:
                console.print(
                    f"[bold red]{cell.scenario}/{cell.backend} ({fmt.idiom_title(cell)}) "
                    f"{cell.verification.status}:[/] {cell.verification.reason}",
                    markup=True,
                )


CLIENT_CPU = "client CPU"
MEMORY_PER_ROW = "mem/row"
OPTIONAL_COLUMNS = (CLIENT_CPU, MEMORY_PER_ROW)


def _has(column: str, groups: dict[str, list[Cell]]) -> bool:
    """Does any cell have a figure for the optional `column`?"""
    cells = [c for cells in groups.values() for c in cells]
    if column == CLIENT_CPU:
        return any(c.client_share is not None for c in cells)
    return any(c.peak_alloc_bytes is not None for c in cells)


def _cells_table(
    result: RunResult, label: str, groups: dict[str, list[Cell]], optional: list[str]
) -> Table:
    """One database's cells, with the `optional` columns (those that fit)."""
    table = Table(title=fmt.database_heading(result, label), title_justify="left")
    sweep = fmt.is_sweep(result)
    headers = ["scenario", *(["rows"] if sweep else []), "backend", "idiom", "median", "IQR"]
    headers += ["rows/s", "stmts/op"]
    headers += ["tx ctl/op", "trips/op", "× raw", *optional, "verified"]
    for header in headers:
        left = header in ("scenario", "backend", "idiom", "verified")
        # Only the idiom wraps ("equal work (= as documented)"): a figure or a backend's name
        # split over two lines is harder to read than a narrower idiom.
        table.add_column(
            header, justify="left" if left else "right", no_wrap=header not in ("idiom", *optional)
        )
    for scenario, cells in groups.items():
        for i, cell in enumerate(cells):
            trace = cell.trace
            status = cell.verification.status
            new_size = i == 0 or cells[i - 1].rows != cell.rows
            table.add_row(
                scenario if i == 0 else "",
                *([f"{cell.rows:,}" if new_size else ""] if sweep else []),
                fmt.SHORT_TITLES.get(cell.backend, cell.backend),
                fmt.idiom_title(cell),
                fmt.seconds(cell.median_s),
                fmt.seconds(cell.iqr_s),
                fmt.rate(cell.rows_per_s),
                fmt.per_op(trace.statements_per_operation) if trace else "—",
                fmt.per_op(trace.transaction_control_per_operation) if trace else "—",
                fmt.round_trips(trace),
                fmt.floor_multiple(result, cell),
                *([fmt.client_share(cell)] if CLIENT_CPU in optional else []),
                *([fmt.memory_per_row(cell)] if MEMORY_PER_ROW in optional else []),
                f"[{STATUS_STYLE.get(status, '')}]{status}[/]",
                end_section=i == len(cells) - 1,
            )
    return table


def render_scaling(result: RunResult, label: str, console: Console) -> None:
    """A size sweep's Scaling table for one database: per cell the growth exponent with its
    interval, the slopes between neighbouring sizes, and the multiple of the floor at each
    size; then a line for each cell whose multiple of the floor grows or shrinks."""
    cells = fmt.sweep_cells(result, label)
    if not cells:
        return
    table = Table(
        title=f"Scaling ({fmt.sizes_text(result)} rows): growth exponent = slope "
        "of log(time) against log(rows), 95% bootstrap interval over the rounds; × raw at "
        "each size",
        title_justify="left",
    )
    for header in ("scenario", "backend", "idiom", "exponent [95% CI]"):
        table.add_column(header, justify="right" if header.startswith("exp") else "left")
    many = len(result.sizes) > 2
    if many:
        table.add_column("between sizes", justify="right")
    table.add_column("× raw by size", justify="right")
    table.add_column("× raw change")
    lines = []
    previous = None
    for cell in cells:
        first = cell.scenario != previous
        if first and previous is not None:
            table.rows[-1].end_section = True
        previous = cell.scenario
        table.add_row(
            cell.scenario if first else "",
            fmt.SHORT_TITLES.get(cell.backend, cell.backend),
            fmt.sweep_idiom_title(cell),
            fmt.exponent(cell),
            *([fmt.local_exponents(cell)] if many else []),
            " → ".join(fmt.sweep_multiples(cell)),
            fmt.TREND_TITLES.get(cell.floor_trend, "—"),
        )
        if cell.floor_trend in ("grows", "shrinks") and not cell.same_code_as:
            lines.append(f"{cell.scenario}: {fmt.floor_growth(result, cell)}")
    console.print(table)
    for line in lines:
        console.print(line, markup=False)
