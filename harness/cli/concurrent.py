"""`ormbench concurrency`: several threads at once per backend, and its report."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from backends import BACKENDS
from harness.cli.common import (
    CONNECT_TIMEOUT_OPTION,
    execute_with_progress,
    prepare_output,
    report_console,
    split_names,
    targets_for,
)
from harness.judging.verdicts import DEFAULT_MARGIN
from harness.targets.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VERIFICATION_FAILED,
    INTERRUPTED_REASON,
    ConfigurationError,
)


def _thread_counts(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    """`--threads 1,4,16` -> (1, 4, 16): whole numbers from 1 to MAX_THREADS, each once."""
    from harness.concurrency import MAX_THREADS

    counts: list[int] = []
    for part in (p.strip() for p in value.split(",")):
        if not part.isdigit() or not 1 <= int(part) <= MAX_THREADS:
            raise click.BadParameter(
                f"'{part}' is not a thread count: give whole numbers from 1 to {MAX_THREADS}, "
                "e.g. 1,4,16"
            )
        counts.append(int(part))
    return tuple(dict.fromkeys(counts))


@click.command()
@click.option(
    "--db",
    "dbs",
    multiple=True,
    metavar="URL",
    help="Database URL, as for 'ormbench run'; repeat for several. "
    "Default: SQLite in a temporary file.",
)
@click.option(
    "--threads",
    default="1,4,16",
    show_default=True,
    callback=_thread_counts,
    metavar="COUNTS",
    help="Comma-separated numbers of threads to measure, each with its own connection handle.",
)
@click.option(
    "--duration",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="How long each unit runs at each thread count in each repetition. "
    "Default: 0.5 (unless --operations).",
)
@click.option(
    "--repetitions",
    type=click.IntRange(min=1, max=1000),
    default=8,
    show_default=True,
    help="Measurements of every unit at each thread count, interleaved; 6 or more give a "
    "95% interval, 8 or more let a verdict hold among 6.",
)
@click.option(
    "--margin",
    type=click.FloatRange(min=0, max=100, min_open=True, max_open=True),
    default=DEFAULT_MARGIN,
    show_default=True,
    metavar="PERCENT",
    help="Practical-difference margin: SQLAlchemy/Django throughput within ±PERCENT is "
    "'no practical difference'.",
)
@click.option(
    "--operations",
    type=click.IntRange(min=1),
    default=None,
    help="Operations per thread and repetition instead of a duration: every backend then sends "
    "the same sequence.",
)
@click.option(
    "--write-percent",
    type=click.IntRange(min=0, max=100),
    default=20,
    show_default=True,
    metavar="PERCENT",
    help="Share of operations that write (lock, load and update one row, own transaction); "
    "the rest are primary-key reads.",
)
@click.option(
    "--rows",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Rows in the table the threads work on (fresh before every measurement).",
)
@click.option(
    "--backends",
    "backend_names",
    multiple=True,
    metavar="NAMES",
    help=f"Comma-separated backends. Default: all ({', '.join(BACKENDS)}).",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed for data and keys.")
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=Path("ormbench-report"),
    show_default=True,
    help="Folder for concurrency.json and concurrency.md.",
)
@CONNECT_TIMEOUT_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress lines; the report and errors only.")
def concurrency(
    dbs: tuple[str, ...],
    threads: tuple[int, ...],
    duration: float | None,
    repetitions: int,
    margin: float,
    operations: int | None,
    write_percent: int,
    rows: int,
    backend_names: tuple[str, ...],
    seed: int,
    output: Path,
    connect_timeout: float,
    quiet: bool,
) -> int:
    """Throughput, latency, errors and connection-pool behaviour per backend with several
    threads working at once, as documented (SQLAlchemy's shared default QueuePool, Django's
    connection per thread) and with equal work (the same statements, a connection for every
    thread), against the raw DB-API floor; SQLAlchemy/Django verdicts with 95% intervals over
    interleaved repetitions."""
    from harness.concurrency import DEFAULT_DURATION_S, ConcurrencyPlan, execute
    from reports.concurrency import render_console, render_markdown
    from scenarios.concurrency import WORKLOADS

    if duration is not None and operations is not None:
        raise ConfigurationError(
            "--duration and --operations both given", "give one: seconds, or operations per thread"
        )
    backends = split_names(backend_names) or list(WORKLOADS)
    for name in backends:
        if name not in WORKLOADS:
            raise ConfigurationError(
                f"unknown backend '{name}'", f"choose from: {', '.join(WORKLOADS)}"
            )
    output = prepare_output(output)  # before the embedded database's folder exists
    targets, embedded = targets_for(dbs, connect_timeout)
    plan = ConcurrencyPlan(
        threads=threads,
        backends=tuple(dict.fromkeys(backends)),
        duration_s=None if operations is not None else (duration or DEFAULT_DURATION_S),
        operations=operations,
        rows=rows,
        write_percent=write_percent,
        seed=seed,
        repetitions=repetitions,
        margin=margin,
    )
    result = execute_with_progress(execute, plan, targets, embedded, quiet, label=True)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if result.cells:
        render_console(result, report_console())
        result.write(output / "concurrency.json")
        (output / "concurrency.md").write_text(render_markdown(result), encoding="utf-8")
        err.print(
            f"report written to {output}/concurrency.md and {output}/concurrency.json "
            f"({result.wall_s:.1f} s)"
        )
    if result.incomplete_reason == INTERRUPTED_REASON:
        return EXIT_INTERRUPTED
    statuses = {c.verification.status for c in result.cells}
    if not result.cells or any(d.error for d in result.databases) or "error" in statuses:
        return EXIT_USAGE
    return EXIT_VERIFICATION_FAILED if "failed" in statuses else EXIT_OK
