"""`ormbench concurrency` results: the model (frozen dataclasses, written as concurrency.json)
and its renderers (console table, concurrency.md). Nothing here talks to a database."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from rich.console import Console
from rich.table import Table

from reports import format as fmt
from reports.format import plural
from reports.model import DatabaseInfo
from reports.narrow import Record, natural_width, print_records

CONCURRENCY_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Latency:
    """Seconds per completed operation, nearest-rank percentiles."""

    count: int
    p50_s: float | None
    p99_s: float | None


@dataclass(frozen=True)
class Connections:
    """Where the threads' connections came from, and what that did while the clock ran."""

    policy: str  # in words: the shared pool, or one connection per thread
    limit: int  # the most connections open at once that the policy allows
    opened_before: int  # opened before the clock started (connecting, warm-up)
    opened_during: int  # opened while the clock ran
    closed_during: int  # closed while the clock ran (a pool discarding overflow)
    # The pool's figures while the clock ran (None where each thread holds its own):
    checkouts: int | None = None
    waits: int | None = None  # checkouts that found the pool at its limit and had to wait
    wait_s: float | None = None  # time those checkouts took
    checkout_s: float | None = None  # time in all checkouts (opening overflow included)
    longest_wait_s: float | None = None
    peak_in_use: int | None = None  # most connections checked out at once


@dataclass(frozen=True)
class CellVerification:
    status: str  # "passed" | "failed" | "error"
    reason: str = ""


@dataclass(frozen=True)
class ConcurrencyCell:
    """One database x backend x thread count."""

    database: str
    backend: str
    threads: int
    wall_s: float | None  # from the start signal to the last thread's last operation
    operations: int  # completed while the clock ran
    per_thread: list[int]  # operations each thread completed, in thread order
    reads: int
    writes: int
    ops_per_s: float | None
    latency: Latency  # every completed operation
    read_latency: Latency
    write_latency: Latency
    errors: dict[str, int]  # while the clock ran: what the driver said -> how often
    lock_errors: int  # of those, lock conflicts (SQLite's "database is locked", deadlocks)
    increments: int  # sum of the increments committed (warm-up included), as threads reported
    connections: Connections | None
    verification: CellVerification

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class OperationTrace:
    """What one operation sent, traced once on one thread, untimed."""

    sent: dict[str, int]  # statement or transaction command -> times, in the order first sent
    round_trips: int


@dataclass(frozen=True)
class BackendTrace:
    backend: str
    read: OperationTrace | None
    write: OperationTrace | None
    error: str | None = None


@dataclass(frozen=True)
class ConcurrencyResult:
    schema_version: int
    tool_version: str
    started_at: str
    wall_s: float
    complete: bool
    environment: dict[str, str]
    plan: dict[str, Any]
    workload: dict[str, dict[str, str]]  # backend -> read/write -> what it calls (docstring)
    databases: list[DatabaseInfo]
    traces: dict[str, list[BackendTrace]]  # database label -> per backend
    cells: list[ConcurrencyCell]
    incomplete_reason: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    def cells_of(self, label: str) -> list[ConcurrencyCell]:
        return [c for c in self.cells if c.database == label]


# --- formatting ---------------------------------------------------------------------------------

COLUMNS = (
    "threads",
    "backend",
    "ops/s",
    "p50",
    "p99",
    "ops",
    "per thread",
    "errors",
    "connections",
    "opened",
    "pool waits",
    "verified",
)
NUMERIC = {"ops/s", "p50", "p99", "ops", "per thread", "errors", "opened", "pool waits"}


def per_thread_text(cell: ConcurrencyCell) -> str:
    """The fewest and most operations one thread completed: far apart, some thread starved."""
    if not cell.per_thread:
        return "—"
    low, high = min(cell.per_thread), max(cell.per_thread)
    return f"{low:,}" if low == high else f"{low:,}–{high:,}"


def errors_text(cell: ConcurrencyCell) -> str:
    total = cell.error_count
    if not total:
        return "0"
    if total == cell.lock_errors:
        return f"{total:,} lock"
    return f"{total:,}"


def connections_text(cell: ConcurrencyCell) -> str:
    """Connections open at once: the pool's peak in use over its limit, or one per thread."""
    figures = cell.connections
    if figures is None:
        return "—"
    if figures.peak_in_use is not None:
        return f"{figures.peak_in_use}/{figures.limit} pooled"
    return f"{figures.limit} own"


def opened_during_text(cell: ConcurrencyCell) -> str:
    figures = cell.connections
    return "—" if figures is None else f"{figures.opened_during:,}"


def waits_text(cell: ConcurrencyCell) -> str:
    figures = cell.connections
    if figures is None or figures.waits is None:
        return "—"
    if not figures.waits:
        return "0"
    return f"{figures.waits:,} · {fmt.seconds(figures.wait_s)}"


def row(cell: ConcurrencyCell) -> list[str]:
    return [
        str(cell.threads),
        fmt.SHORT_TITLES.get(cell.backend, cell.backend),
        fmt.rate(cell.ops_per_s),
        fmt.seconds(cell.latency.p50_s),
        fmt.seconds(cell.latency.p99_s),
        f"{cell.operations:,}",
        per_thread_text(cell),
        errors_text(cell),
        connections_text(cell),
        opened_during_text(cell),
        waits_text(cell),
        cell.verification.status,
    ]


def sent_text(trace: OperationTrace | None) -> str:
    if trace is None:
        return "—"
    parts = [f"{kind} ×{n}" if n > 1 else kind for kind, n in trace.sent.items()]
    trips = "round trip" if trace.round_trips == 1 else "round trips"
    return f"{', '.join(parts)} ({trace.round_trips} {trips})"


def measured(result: ConcurrencyResult) -> str:
    plan = result.plan
    if plan.get("operations"):
        amount = f"{plan['operations']:,} operations per thread"
    else:
        amount = f"{plan['duration_s']:g} s per backend and thread count"
    return (
        f"{amount}; {100 - plan['write_percent']:g}% reads, {plan['write_percent']:g}% writes "
        f"over {plan['rows']:,} rows; seed {plan['seed']}; {plan['warmup']} untimed "
        "operations per thread first"
    )


# --- console ------------------------------------------------------------------------------------

STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red"}


def render_console(result: ConcurrencyResult, console: Console) -> None:
    if not result.complete:
        console.print(f"[bold yellow]INCOMPLETE RUN:[/] {result.incomplete_reason or ''}")
    for info in result.databases:
        if info.error:
            console.print(f"[bold red]{info.label}: {info.error}[/]", markup=True)
        cells = result.cells_of(info.label)
        if not cells:
            continue
        title = f"{info.label} — {info.family} {info.server_version.split(' on ')[0]}".strip()
        table = Table(title=f"concurrency: {title}", title_justify="left")
        for header in COLUMNS:
            justify = "right" if header in NUMERIC else "left"
            table.add_column(header, justify=justify, no_wrap=True)
        previous = None
        for cell in cells:
            values = row(cell)
            if cell.threads == previous:
                values[0] = ""
            elif previous is not None:
                table.add_section()
            previous = cell.threads
            style = STATUS_STYLE.get(cell.verification.status, "")
            values[-1] = f"[{style}]{values[-1]}[/]" if style else values[-1]
            table.add_row(*values)
        if natural_width(table) <= console.width:
            console.print(table)
        else:
            console.print(f"concurrency: {title}", markup=False)
            records = [
                Record(
                    group=plural(cell.threads, "thread"),
                    label=fmt.SHORT_TITLES.get(cell.backend, cell.backend),
                    values=[*row(cell)[2:5], row(cell)[-1], *row(cell)[5:-1]],
                    style=STATUS_STYLE.get(cell.verification.status, ""),
                )
                for cell in cells
            ]
            headers = [*COLUMNS[2:5], COLUMNS[-1], *COLUMNS[5:-1]]
            print_records(console, headers, records, "threads", styled=COLUMNS[-1])
        for cell in cells:
            if cell.verification.reason:
                console.print(
                    f"  {fmt.SHORT_TITLES.get(cell.backend, cell.backend)} at "
                    f"{plural(cell.threads, 'thread')}: {cell.verification.reason}",
                    markup=False,
                )
    console.print(measured(result), markup=False)


# --- Markdown -----------------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("reports", "templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render_markdown(result: ConcurrencyResult) -> str:
    return _env.get_template("concurrency.md.j2").render(
        r=result,
        fmt=fmt,
        columns=COLUMNS,
        numeric=NUMERIC,
        row=row,
        sent_text=sent_text,
        measured=measured(result),
    )
