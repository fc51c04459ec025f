"""The console report: one table per database, then the verdicts."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from reports import format as fmt
from reports.model import RunResult

STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red"}


def render(result: RunResult, console: Console) -> None:
    if not result.complete:
        console.print(f"[bold yellow]INCOMPLETE RUN:[/] {result.incomplete_reason or ''}")
    for info in result.databases:
        groups = fmt.scenario_cells(result, info.label)
        if info.error:
            console.print(f"[bold red]{info.label}: {info.error}[/]")
        if not groups:
            continue
        table = Table(title=fmt.database_heading(result, info.label), title_justify="left")
        for header in (
            "scenario",
            "backend",
            "median",
            "IQR",
            "rows/s",
            "stmts/op",
            "tx ctl/op",
            "× raw",
            "verified",
        ):
            table.add_column(
                header, justify="left" if header in ("scenario", "backend", "verified") else "right"
            )
        for scenario, cells in groups.items():
            for i, cell in enumerate(cells):
                trace = cell.trace
                status = cell.verification.status
                table.add_row(
                    scenario if i == 0 else "",
                    fmt.SHORT_TITLES.get(cell.backend, cell.backend),
                    fmt.seconds(cell.median_s),
                    fmt.seconds(cell.iqr_s),
                    fmt.rate(cell.rows_per_s),
                    fmt.per_op(trace.statements_per_operation) if trace else "—",
                    fmt.per_op(trace.transaction_control_per_operation) if trace else "—",
                    fmt.floor_multiple(result, cell),
                    f"[{STATUS_STYLE.get(status, '')}]{status}[/]",
                    end_section=i == len(cells) - 1,
                )
        console.print(table)
        verdicts = Table(title="SQLAlchemy / Django time, 95% interval", title_justify="left")
        verdicts.add_column("scenario")
        verdicts.add_column("ratio [95% CI]", justify="right")
        verdicts.add_column("verdict")
        for scenario in groups:
            c = fmt.comparison(result, info.label, scenario, "orm")
            if c is not None:
                verdicts.add_row(scenario, fmt.ratio(c), c.verdict)
        if verdicts.row_count:
            console.print(verdicts)
    for info in result.databases:
        for cell in result.cells:
            if cell.database == info.label and not cell.verified:
                console.print(
                    f"[bold red]{cell.scenario}/{cell.backend} "
                    f"{cell.verification.status}:[/] {cell.verification.reason}"
                )
