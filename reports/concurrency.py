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
from rich.markup import escape
from rich.table import Table

from reports import format as fmt
from reports.format import plural
from reports.model import DatabaseInfo
from reports.narrow import Record, natural_width, print_records

CONCURRENCY_SCHEMA_VERSION = 2


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
    # The pool's figures while the clock ran (None where each thread holds its own), counted
    # in the untimed pass with the pool observed (observed_pass), never in a timed one:
    checkouts: int | None = None
    waits: int | None = None  # checkouts that found the pool at its limit and had to wait
    wait_s: float | None = None  # time those checkouts took
    checkout_s: float | None = None  # time in all checkouts (opening overflow included)
    longest_wait_s: float | None = None
    peak_in_use: int | None = None  # most connections checked out at once
    observed_pass: bool = False


@dataclass(frozen=True)
class CellVerification:
    status: str  # "passed" | "failed" | "error"
    reason: str = ""


@dataclass(frozen=True)
class Repetition:
    """One measurement of a unit at k threads: fresh rows, the threads, the verification."""

    index: int  # which repetition (the observed pass: -1)
    wall_s: float | None  # from the start signal to the last thread's last operation
    operations: int  # completed while the clock ran
    per_thread: list[int]  # operations each thread completed, in thread order
    reads: int
    writes: int
    ops_per_s: float | None
    errors: dict[str, int]  # while the clock ran: what the driver said -> how often
    lock_errors: int  # of those, lock conflicts (SQLite's "database is locked", deadlocks)
    increments: int  # sum of the increments committed (warm-up included), as threads reported
    verification: CellVerification


@dataclass(frozen=True)
class ConcurrencyCell:
    """One database x backend idiom x thread count, over its repetitions."""

    database: str
    backend: str
    idiom: str  # "documented", "equal" or "floor"
    threads: int
    repetitions: list[Repetition]  # timed, in run order
    ops_per_s: float | None  # median over the repetitions
    ops_per_s_iqr: float | None
    operations: int  # over every repetition
    per_thread_low: int | None  # fewest operations one thread completed in one repetition
    per_thread_high: int | None
    reads: int
    writes: int
    latency: Latency  # every completed operation of every repetition
    read_latency: Latency
    write_latency: Latency
    errors: dict[str, int]
    lock_errors: int
    increments: int
    connections: Connections | None
    verification: CellVerification  # passed when every repetition passed; else the first
    observed: Repetition | None = None  # the untimed pass that counted the pool

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True)
class ConcurrencyComparison:
    """SQLAlchemy against Django at one thread count and idiom, repetition by repetition."""

    database: str
    threads: int
    idiom: str  # "documented" or "equal"
    repetitions: int  # paired repetitions the interval rests on
    ratio: float | None  # SQLAlchemy ops/s over Django ops/s (median of per-repetition ratios)
    ci_low: float | None  # 95% interval of that ratio
    ci_high: float | None
    verdict: str
    differs: str  # what the two units do differently, "" when nothing


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
    idiom: str = "documented"


@dataclass(frozen=True)
class ConcurrencyResult:
    schema_version: int
    tool_version: str
    started_at: str
    wall_s: float
    complete: bool
    environment: dict[str, str]
    plan: dict[str, Any]
    workload: dict[str, dict[str, str]]  # "backend idiom" -> read/write -> what it calls
    databases: list[DatabaseInfo]
    traces: dict[str, list[BackendTrace]]  # database label -> per unit
    cells: list[ConcurrencyCell]
    comparisons: list[ConcurrencyComparison] = dataclasses.field(default_factory=list)
    incomplete_reason: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    def write(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n", encoding="utf-8")

    def cells_of(self, label: str) -> list[ConcurrencyCell]:
        return [c for c in self.cells if c.database == label]

    def comparisons_of(self, label: str) -> list[ConcurrencyComparison]:
        return [c for c in self.comparisons if c.database == label]


# --- formatting ---------------------------------------------------------------------------------

IDIOM_LABELS = {"documented": "as documented", "equal": "equal work", "floor": "floor"}
COLUMNS = (
    "threads",
    "backend",
    "idiom",
    "ops/s",
    "IQR",
    "p50",
    "p99",
    "per thread",
    "errors",
    "connections",
    "pool waits",
    "verified",
)
NUMERIC = {"ops/s", "IQR", "p50", "p99", "per thread", "errors", "pool waits"}
VERDICT_COLUMNS = ("threads", "idiom", "SQLAlchemy ÷ Django ops/s [95% CI]", "verdict")


def idiom_text(cell: ConcurrencyCell, result: ConcurrencyResult | None = None) -> str:
    """The cell's idiom; an ORM timed once for both idioms says so."""
    text = IDIOM_LABELS.get(cell.idiom, cell.idiom)
    if result is not None and cell.idiom == "documented" and cell.backend != "sqlalchemy":
        has_equal = any(c.backend == cell.backend and c.idiom == "equal" for c in result.cells)
        if not has_equal and cell.backend == "django":
            text += " = equal work"
    return text


def per_thread_text(cell: ConcurrencyCell) -> str:
    """The fewest and most operations one thread completed in one repetition: far apart,
    some thread starved."""
    low, high = cell.per_thread_low, cell.per_thread_high
    if low is None or high is None:
        return "—"
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


def waits_text(cell: ConcurrencyCell) -> str:
    figures = cell.connections
    if figures is None or figures.waits is None:
        return "—"
    if not figures.waits:
        return "0"
    return f"{figures.waits:,} · {fmt.seconds(figures.wait_s)}"


def row(cell: ConcurrencyCell, result: ConcurrencyResult | None = None) -> list[str]:
    return [
        str(cell.threads),
        fmt.SHORT_TITLES.get(cell.backend, cell.backend),
        idiom_text(cell, result),
        fmt.rate(cell.ops_per_s),
        fmt.rate(cell.ops_per_s_iqr),
        fmt.seconds(cell.latency.p50_s),
        fmt.seconds(cell.latency.p99_s),
        per_thread_text(cell),
        errors_text(cell),
        connections_text(cell),
        waits_text(cell),
        cell.verification.status,
    ]


def rates_text(cell: ConcurrencyCell) -> str:
    """Every repetition's throughput, in run order."""
    return "; ".join(fmt.rate(r.ops_per_s) for r in cell.repetitions)


def ratio_text(comparison: ConcurrencyComparison) -> str:
    if comparison.ratio is None:
        return "—"
    text = f"{comparison.ratio:.2f}"
    if comparison.ci_low is not None and comparison.ci_high is not None:
        text += f" [{comparison.ci_low:.2f}–{comparison.ci_high:.2f}]"
    else:
        text += " [no interval]"
    return text


def verdict_row(comparison: ConcurrencyComparison) -> list[str]:
    return [
        str(comparison.threads),
        IDIOM_LABELS.get(comparison.idiom, comparison.idiom),
        ratio_text(comparison),
        comparison.verdict,
    ]


def starvation_note(cell: ConcurrencyCell) -> str:
    """For a pool that holds fewer connections than there are threads: what the threads
    waited, as the observed pass counted it, and the fewest operations one thread did."""
    figures = cell.connections
    if figures is None or figures.peak_in_use is None or figures.limit >= cell.threads:
        return ""
    waited = ""
    if figures.waits is not None:
        waited = (
            f"; in the observed pass {plural(figures.waits, 'checkout')} waited for one "
            f"({fmt.seconds(figures.wait_s)} in all, the longest "
            f"{fmt.seconds(figures.longest_wait_s)})"
        )
    return (
        f"{cell.threads} threads share a pool of at most {figures.limit} connections (the "
        f"default QueuePool): a thread waits for a connection{waited}; the fewest operations "
        f"one thread completed in a repetition: {cell.per_thread_low or 0:,}, the most "
        f"{cell.per_thread_high or 0:,}"
    )


def cell_notes(cell: ConcurrencyCell) -> list[str]:
    """Lines under the table: why a cell did not pass, and a starved pool."""
    name = f"{fmt.SHORT_TITLES.get(cell.backend, cell.backend)} ({idiom_text(cell)})"
    where = f"{name} at {plural(cell.threads, 'thread')}"
    notes = []
    if cell.verification.reason:
        notes.append(f"{where}: {cell.verification.reason}")
    if starved := starvation_note(cell):
        notes.append(f"{where}: {starved}")
    return notes


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
        amount = f"{plan['duration_s']:g} s"
    return (
        f"{plural(plan['repetitions'], 'repetition')} of {amount} per unit and thread count, "
        f"the units interleaved; {100 - plan['write_percent']:g}% reads, "
        f"{plan['write_percent']:g}% writes over {plan['rows']:,} rows; seed {plan['seed']}; "
        f"{plan['warmup']} untimed operations per thread first; pool figures from one more, "
        f"untimed pass with the pool observed; margin ±{plan['margin']:g}%"
    )


# --- console ------------------------------------------------------------------------------------

STATUS_STYLE = {"passed": "green", "failed": "bold red", "error": "bold red"}


def _verdict_style(verdict: str) -> str:
    if verdict.endswith("faster"):
        return "bold"
    return "yellow" if verdict.startswith(("inconclusive", "no verdict")) else ""


def _print_table(
    console: Console,
    title: str,
    headers: tuple[str, ...],
    rows: list[tuple[str, list[str], str]],
    styled: str,
) -> None:
    """rows: (group, values, style of the `styled` column); a table when it fits the
    console, else lines under each group (reports.narrow)."""
    table = Table(title=title, title_justify="left")
    for header in headers:
        justify = "right" if header in NUMERIC else "left"
        table.add_column(header, justify=justify, no_wrap=True)
    previous = None
    for group, values, style in rows:
        shown = list(values)
        if group == previous:
            shown[0] = ""
        elif previous is not None:
            table.add_section()
        previous = group
        at = headers.index(styled)
        shown[at] = f"[{style}]{escape(shown[at])}[/]" if style else escape(shown[at])
        table.add_row(*shown)
    if natural_width(table) <= console.width:
        console.print(table)
        return
    console.print(title, markup=False)
    labels = 2 if "idiom" in headers[2:3] else 1  # the columns after the group that name a row
    records = [
        Record(
            group=plural(int(group), "thread"),
            label=" ".join(values[1 : 1 + labels]),
            values=values[1 + labels :],
            style=style,
        )
        for group, values, style in rows
    ]
    print_records(console, headers[1 + labels :], records, "threads", styled=styled)


def render_console(result: ConcurrencyResult, console: Console) -> None:
    if not result.complete:
        console.print(f"[bold yellow]INCOMPLETE RUN:[/] {result.incomplete_reason or ''}")
    for info in result.databases:
        if info.error:
            console.print(f"[bold red]{escape(info.label)}: {escape(info.error)}[/]")
        cells = result.cells_of(info.label)
        if not cells:
            continue
        title = f"{info.label} — {info.family} {info.server_version.split(' on ')[0]}".strip()
        rows = [
            (str(c.threads), row(c, result), STATUS_STYLE.get(c.verification.status, ""))
            for c in cells
        ]
        _print_table(console, f"concurrency: {title}", COLUMNS, rows, "verified")
        for cell in cells:
            for note in cell_notes(cell):
                console.print(f"  {note}", markup=False)
        comparisons = result.comparisons_of(info.label)
        if comparisons:
            verdicts = [
                (str(c.threads), verdict_row(c), _verdict_style(c.verdict)) for c in comparisons
            ]
            _print_table(console, f"verdicts: {info.label}", VERDICT_COLUMNS, verdicts, "verdict")
            for comparison in comparisons:
                if comparison.differs:
                    console.print(
                        f"  {plural(comparison.threads, 'thread')}, "
                        f"{IDIOM_LABELS.get(comparison.idiom, comparison.idiom)}: "
                        f"{comparison.differs}",
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
        verdict_columns=VERDICT_COLUMNS,
        verdict_row=verdict_row,
        cell_notes=cell_notes,
        idiom_labels=IDIOM_LABELS,
        idiom_text=idiom_text,
        rates_text=rates_text,
        sent_text=sent_text,
        measured=measured(result),
    )
