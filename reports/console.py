"""The console report: one table per database, then the verdicts."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from reports import format as fmt
from reports import instructions
from reports.bottom_line import bottom_lines
from reports.model import Cell, RunResult, SweepCell
from reports.narrow import Record, natural_width, print_records

STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "error": "bold red",
    "unsupported": "yellow",
}


def render(result: RunResult, console: Console) -> None:
    if not result.complete:
        console.print(f"[bold yellow]INCOMPLETE RUN:[/] {result.incomplete_reason or ''}")
    render_bottom_line(result, console)
    for info in result.databases:
        groups = fmt.scenario_cells(result, info.label)
        if info.error:
            console.print(f"[bold red]{info.label}: {info.error}[/]")
        if not groups:
            continue
        shown = _print_cells(result, info.label, groups, console)
        if CLIENT_CPU in shown:
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
        title = (
            f"SQLAlchemy / Django time, 95% interval; a winner only outside ±{margin:g}%, "
            "Holm-corrected across the database's verdicts"
        )
        verdicts = Table(title=title, title_justify="left")
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
        if verdicts.row_count and _fits_wide(verdicts, console):
            console.print(verdicts)
        elif verdicts.row_count:
            _print_verdicts_stacked(result, info.label, groups, title, console)
        render_scaling(result, info.label, console)
        render_instructions(result, info.label, console)
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
            if natural_width(table) <= console.width:
                console.print(table)
                continue
            console.print(table.title, markup=False)
            records = [Record(group=row[0] or "", label=row[1], values=row[2:]) for row in rows]
            print_records(console, header[2:], records, "scenario")
    for info in result.databases:
        for cell in result.cells:
            if cell.database == info.label and not cell.verified:
                console.print(
                    f"[bold red]{cell.scenario}/{cell.backend} ({fmt.idiom_title(cell)}) "
                    f"{cell.verification.status}:[/] {cell.verification.reason}",
                    markup=True,
                )


def render_instructions(result: RunResult, label: str, console: Console) -> None:
    """A run with counts: one database's instructions per operation beside the time per
    operation, and the SQLAlchemy/Django ratio of instructions with its verdict."""
    rows = instructions.rows(result, label)
    if not rows:
        return
    margin = result.plan.get("margin", 5.0)
    title = (
        f"Instructions per operation (callgrind), beside time per operation; SQLAlchemy / "
        f"Django instructions with the range of the counted rounds; a winner only outside "
        f"±{margin:g}%"
    )
    table = Table(title=title, title_justify="left")
    for header in instructions.HEADERS:
        table.add_column(header, justify="left" if header in ("scenario", "idiom") else "right")
    previous = None
    for row in rows:
        table.add_row(
            row.scenario if row.scenario != previous else "",
            row.idiom,
            *row.per_op,
            *row.times,
            row.ratio,
            row.time_ratio,
            row.verdict,
            row.spread,
        )
        previous = row.scenario
    if natural_width(table) <= console.width:
        console.print(table)
    else:
        for line in textwrap.wrap(title, console.width, break_on_hyphens=False):
            console.print(line, markup=False)
        records = [
            Record(
                group=row.scenario,
                label=row.idiom,
                values=[
                    *row.per_op,
                    *row.times,
                    row.ratio,
                    row.time_ratio,
                    row.verdict,
                    row.spread,
                ],
            )
            for row in rows
        ]
        print_records(console, instructions.HEADERS[2:], records, "scenario")
    for line in textwrap.wrap(instructions.COVERAGE, console.width, break_on_hyphens=False):
        console.print(line, markup=False)


def render_bottom_line(result: RunResult, console: Console) -> None:
    """Per database: the verdicts' tally per idiom, the decisive differences, what they mean."""
    several = len(result.databases) > 1
    for line in bottom_lines(result):
        where = f" ({fmt.database_heading(result, line.label)})" if several else ""
        console.print(Text(f"Bottom line{where}", style="bold"))
        for text in line.tallies:
            console.print(f"  {text}", markup=False)
        if line.decisive:
            console.print("  decisive differences, largest first:", markup=False)
            for text in line.decisive:
                for part in textwrap.wrap(
                    text,
                    max(console.width, 40),
                    initial_indent="  - ",
                    subsequent_indent="    ",
                    break_long_words=False,
                    break_on_hyphens=False,
                ):
                    console.print(part, markup=False)
        for part in textwrap.wrap(
            line.meaning,
            max(console.width, 40),
            initial_indent="  ",
            subsequent_indent="  ",
            break_on_hyphens=False,
        ):
            console.print(part, markup=False)
        console.print()


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
        # split over two lines is harder to read than a narrower idiom. Where even that does
        # not fit, the cells are laid out as lines (_print_cell_lines).
        table.add_column(
            header,
            justify="left" if left else "right",
            no_wrap=header != "idiom",
            # "as documented" whole: narrower, the two idioms are words broken over lines
            min_width=len("as documented") if header == "idiom" else None,
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
    if natural_width(table) <= console.width:
        console.print(table)
    else:
        console.print(table.title, markup=False)
        records = [
            Record(
                group=cell.scenario,
                label=short_label(cell),
                values=[
                    fmt.exponent(cell),
                    fmt.TREND_TITLES.get(cell.floor_trend, "—"),
                    *([fmt.local_exponents(cell)] if many else []),
                    " → ".join(fmt.sweep_multiples(cell)),
                ],
            )
            for cell in cells
        ]
        headers = ["exponent", "× raw change", *(["between sizes"] if many else []), "× raw"]
        print_records(console, headers, records, "scenario", styled="× raw change")
        console.print(IDIOM_KEY.split(";")[0], markup=False)
    for line in lines:
        console.print(line, markup=False)


# --- narrow terminals ---------------------------------------------------------------------------
#
# Below the width the full tables need (about 140 columns), the cells and the verdicts are
# laid out as lines: each scenario a heading, each cell one line under it with backend and
# idiom abbreviated (a one-line key says how), the verdicts stacked with what differs on lines
# of its own. Nothing is cut: a column that does not fit is left out and named.

SHORT_IDIOMS = {"documented": "doc", "equal": "eq", "floor": "floor"}
IDIOM_KEY = (
    "doc: as documented, eq: equal work, eq=doc: equal work by the documented code (measured "
    "once); stmts, tx ctl, trips: statements, transaction control, round trips per operation; "
    "× raw: time over the raw DB-API floor's"
)
GAP = 2
WIDE_DIFFERS = 40  # the least width of the "what differs" column for the full verdict table


def _fits_wide(table: Table, console: Console) -> bool:
    """Does `table` fit the console with its wrapping columns at a readable width?"""
    unbounded = console.options.update(max_width=10**6)
    widths = [Measurement.get(console, unbounded, c.header).maximum for c in table.columns]
    rest = [
        max([widths[i], *(cell_len(str(cell)) for cell in column.cells)])
        for i, column in enumerate(table.columns[:-1])
    ]
    return sum(rest) + WIDE_DIFFERS + 3 * len(table.columns) + 1 <= console.width


def short_label(cell: Cell | SweepCell) -> str:
    """ "SQLAlchemy eq", "Django eq=doc", "raw DB-API floor": backend and idiom (IDIOM_KEY)."""
    idiom = SHORT_IDIOMS.get(cell.idiom, cell.idiom)
    if cell.same_code_as:
        idiom += "=" + SHORT_IDIOMS.get(cell.same_code_as, cell.same_code_as)
    return f"{fmt.SHORT_TITLES.get(cell.backend, cell.backend)} {idiom}"


Column = tuple[str, Callable[[Cell], str]]


def _print_cells(
    result: RunResult, label: str, groups: dict[str, list[Cell]], console: Console
) -> list[str]:
    """One database's cells: the full table where it fits (the optional columns dropped from
    the end, the idiom wrapped), else as lines. Returns the optional columns shown."""
    optional = [c for c in OPTIONAL_COLUMNS if _has(c, groups)]
    unbounded = console.options.update(max_width=10**6)
    for count in range(len(optional), -1, -1):
        table = _cells_table(result, label, groups, optional[:count])
        if Measurement.get(console, unbounded, table).minimum <= console.width and _laid_out_within(
            console, table
        ):
            console.print(table)
            return optional[:count]
    return _print_cell_lines(result, label, groups, console, optional)


def _laid_out_within(console: Console, table: Table) -> bool:
    """Does rich lay `table` out within the console's width? Its measured minimum can fit
    while the layout it then chooses (the idiom wrapped no narrower than "as documented") is
    a few columns wider, and the console would crop the last column away."""
    lines = Segment.split_lines(console.render(table, console.options))
    return max((Segment.get_line_length(line) for line in lines), default=0) <= console.width


def _print_cell_lines(
    result: RunResult,
    label: str,
    groups: dict[str, list[Cell]],
    console: Console,
    optional: list[str],
) -> list[str]:
    def trace(field: str) -> Callable[[Cell], str]:
        return lambda c: fmt.per_op(getattr(c.trace, field)) if c.trace else "—"

    required: list[Column] = [
        ("median", lambda c: fmt.seconds(c.median_s)),
        ("IQR", lambda c: fmt.seconds(c.iqr_s)),
        ("stmts", trace("statements_per_operation")),
        ("tx ctl", trace("transaction_control_per_operation")),
        ("trips", lambda c: fmt.round_trips(c.trace)),
        ("× raw", lambda c: fmt.floor_multiple(result, c)),
    ]
    extra: list[Column] = [("rows/s", lambda c: fmt.rate(c.rows_per_s))]
    if CLIENT_CPU in optional:
        extra.append(("CPU", fmt.client_share))
    if MEMORY_PER_ROW in optional:
        extra.append(("mem/row", fmt.memory_per_row))
    status: Column = ("verified", lambda c: c.verification.status)
    cells = [c for group in groups.values() for c in group]
    first = max(cell_len(short_label(c)) for c in cells) + 2  # indented under its scenario
    first = max(first, *(cell_len(_scenario_heading(result, c)) for c in cells))

    def width(columns: list[Column], gap: int) -> int:
        return first + sum(gap + _column_width(col, cells) for col in columns)

    gap, columns = GAP, [*required, status]
    if width(columns, gap) > console.width:
        gap = 1
    left_out = []
    for column in extra:
        if width([*columns, column], gap) <= console.width:
            columns.insert(-1, column)
        else:
            left_out.append("client CPU" if column[0] == "CPU" else column[0])
    console.print(fmt.database_heading(result, label), markup=False)
    widths = [_column_width(col, cells) for col in columns]
    header = "scenario".ljust(first) + "".join(
        " " * gap + (h.ljust(w) if h == "verified" else h.rjust(w))
        for (h, _), w in zip(columns, widths, strict=True)
    )
    console.print(Text(header, style="bold"))
    console.print("─" * cell_len(header), markup=False)
    previous = None
    for cell in cells:
        heading = _scenario_heading(result, cell)
        if heading != previous:
            console.print(Text(heading, style="bold"))
            previous = heading
        line = Text(("  " + short_label(cell)).ljust(first))
        for (h, get), w in zip(columns, widths, strict=True):
            value = get(cell)
            line.append(" " * gap)
            if h == "verified":
                line.append(value, style=STATUS_STYLE.get(value, ""))
            else:
                line.append(value.rjust(w))
        console.print(line)
    console.print(IDIOM_KEY, markup=False)
    if left_out:
        console.print(
            f"not shown at this width: {', '.join(left_out)} (report.md has every column)",
            markup=False,
        )
    shown = [h for h, _ in columns]
    return [c for c in optional if ("CPU" if c == CLIENT_CPU else c) in shown]


def _column_width(column: Column, cells: list[Cell]) -> int:
    header, get = column
    return max(cell_len(header), *(cell_len(get(c)) for c in cells))


def _scenario_heading(result: RunResult, cell: Cell) -> str:
    return f"{cell.scenario} · {cell.rows:,} rows" if fmt.is_sweep(result) else cell.scenario


def _print_verdicts_stacked(
    result: RunResult,
    label: str,
    groups: dict[str, list[Cell]],
    title: str,
    console: Console,
) -> None:
    """The verdicts as lines: per scenario, each idiom's ratio and verdict on one line (the
    verdict wrapped under itself), what differs indented below it."""
    comparisons = [c for s in groups for c in fmt.orm_comparisons(result, label, s)]
    idiom_w = max(cell_len(fmt.IDIOM_TITLES.get(c.idiom, c.idiom)) for c in comparisons) + 2
    ratio_w = max(len("ratio [95% CI]"), *(cell_len(fmt.ratio(c)) for c in comparisons))
    width = max(console.width, idiom_w + ratio_w + 2 * GAP + 20)
    for line in textwrap.wrap(title, width, break_on_hyphens=False):
        console.print(line, markup=False)
    indent = " " * (idiom_w + ratio_w + 2 * GAP)
    head = "scenario".ljust(idiom_w) + " " * GAP + "ratio [95% CI]".rjust(ratio_w)
    console.print(Text(head + " " * GAP + "verdict", style="bold"))
    console.print("─" * min(width, cell_len(head) + GAP + 36), markup=False)
    sweep = fmt.is_sweep(result)
    previous = None
    for c in comparisons:
        heading = f"{c.scenario} · {c.rows:,} rows" if sweep and c.rows else c.scenario
        if heading != previous:
            console.print(Text(heading, style="bold"))
            previous = heading
        start = ("  " + fmt.IDIOM_TITLES.get(c.idiom, c.idiom)).ljust(idiom_w)
        start += " " * GAP + fmt.ratio(c).rjust(ratio_w) + " " * GAP
        lines = textwrap.wrap(
            c.verdict,
            width,
            initial_indent=start,
            subsequent_indent=indent,
            break_long_words=False,
            break_on_hyphens=False,
        )
        for line in lines:
            console.print(line, markup=False)
        if c.differs:
            for line in textwrap.wrap(
                "what differs: " + c.differs,
                width,
                initial_indent="    ",
                subsequent_indent="      ",
                break_long_words=False,
                break_on_hyphens=False,
            ):
                console.print(line, markup=False)
