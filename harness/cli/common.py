"""What the commands share: their common options, the names given on the command line, the output
folder, the databases, running a plan with progress, the report and the exit code."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from backends import BACKENDS, load_backend
from harness.measuring.progress import progress_for
from harness.targets.errors import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    EXIT_VERIFICATION_FAILED,
    INTERRUPTED_REASON,
    ConfigurationError,
)
from harness.targets.urls import (
    DEFAULT_CONNECT_TIMEOUT,
    Target,
    embedded_sqlite_target,
    parse_target,
)
from reports import console as console_report
from reports import markdown as markdown_report
from reports.model import RunResult

CONNECT_TIMEOUT_OPTION = click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_CONNECT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a database to answer a connection.",
)

OUTPUT_OPTION = click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=Path("ormbench-report"),
    show_default=True,
    help="Folder for results.json, report.md and report.html.",
)

SUMMARY_OPTION = click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="PATH",
    help="Append the Markdown summary to PATH (also done to $GITHUB_STEP_SUMMARY when set).",
)


def split_names(values: tuple[str, ...]) -> list[str]:
    """`--scenarios a,b --scenarios c` -> [a, b, c]."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def check_backend_names(values: tuple[str, ...]) -> list[str]:
    names = split_names(values) or list(BACKENDS)
    for name in names:
        if name not in BACKENDS and ":" not in name:  # "module:Class" plugs in a custom backend
            raise ConfigurationError(
                f"unknown backend '{name}'", f"choose from: {', '.join(BACKENDS)}"
            )
    taken = [load_backend(name).name for name in names]  # also fails now on a bad module:Class
    if len(set(taken)) != len(taken):
        raise ConfigurationError("a backend is named twice", "name each backend once")
    return names


def prepare_output(folder: Path) -> Path:
    """Create the output folder now and prove it is writable, before any benchmark runs."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ormbench-write-test-"):
            pass
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write to output folder {folder} ({exc.strerror})",
            "choose a writable folder with --output",
        ) from None
    return folder


def report_console() -> Console:
    """Stdout, wide enough for the report's tables also when it goes to a CI log or a file
    (unless $COLUMNS says how wide)."""
    out = Console(highlight=False)
    if out.is_terminal or os.environ.get("COLUMNS", "").isdigit():
        return out
    return Console(highlight=False, width=140)


def targets_for(dbs: tuple[str, ...], connect_timeout: float) -> tuple[list[Target], bool]:
    """The --db targets, each driver loaded (a missing one: say what to install before anything
    runs); the embedded SQLite when none is given, and whether it is that."""
    targets: list[Target] = [parse_target(u, connect_timeout) for u in dbs]
    for target in targets:
        target.driver.load()
    if targets:
        return targets, False
    return [embedded_sqlite_target(connect_timeout)], True


def execute_with_progress(
    execute: Any, plan: Any, targets: list[Target], embedded: bool, quiet: bool, label: bool
) -> Any:
    """Run `plan` with its progress on stderr (harness.measuring.progress: live on a terminal, lines
    elsewhere, none with --quiet), remove the embedded
    database's folder afterwards, and print each database's error as one line (prefixed with
    the database's label where the error does not name it: `label`)."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if embedded and targets[0].location and not quiet:
        err.print(f"database: {targets[0].location}")
    progress = progress_for(err, quiet)
    try:
        with progress or nullcontext():
            result = execute(plan, targets, progress=progress)
    finally:
        if embedded:
            shutil.rmtree(Path(targets[0].database).parent, ignore_errors=True)
    for info in result.databases:
        if info.error:
            where = f"{info.label}: " if label else ""
            err.print(f"ormbench: error: {where}{info.error}", markup=False)
    return result


def exit_code(result: RunResult) -> int:
    """README, "Exit codes": 130 interrupted; 2 a database could not be used or a cell ended
    in an error (connection lost, backend broke); 1 a verification failed; 0 all verified."""
    if result.incomplete_reason == INTERRUPTED_REASON:
        return EXIT_INTERRUPTED
    if any(d.error for d in result.databases):
        return EXIT_USAGE
    if any(c.verification.status == "error" for c in result.cells):
        return EXIT_USAGE
    if any(c.verification.status == "failed" for c in result.cells):
        return EXIT_VERIFICATION_FAILED
    return EXIT_OK


def write_report(
    result: RunResult, output: Path, summary: Path | None, err: Console, took: str
) -> None:
    """Console report, results.json, report.md and report.html in `output`, and the job
    summary; `took` says whose time the run's wall time is (a merge's is its shards')."""
    from harness.gating.summary import append_summary
    from reports import html as html_report  # matplotlib: loaded only to write a report

    console_report.render(result, report_console())
    result.write(output / "results.json")
    (output / "report.md").write_text(markdown_report.render(result), encoding="utf-8")
    (output / "report.html").write_text(html_report.render(result), encoding="utf-8")
    err.print(
        f"report written to {output}/report.md, {output}/report.html and "
        f"{output}/results.json ({took})"
    )
    for path in append_summary(markdown_report.render_summary(result), summary):
        err.print(f"summary appended to {path}", markup=False)
