"""The `ormbench` command line. User errors become one line on stderr and an exit code
(README, "Exit codes"); a traceback means a bug in ormbench."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from backends import BACKENDS, load_backend
from backends.base import IDIOM_TITLES, IDIOMS
from harness.database import tables_of
from harness.errors import (
    EXIT_BLIND,
    EXIT_INTERRUPTED,
    EXIT_NOT_COMPARABLE,
    EXIT_NOTHING_COMPARED,
    EXIT_OK,
    EXIT_REGRESSION,
    EXIT_USAGE,
    EXIT_VERIFICATION_FAILED,
    INTERRUPTED_REASON,
    ConfigurationError,
    OrmbenchError,
)
from harness.progress import progress_for
from harness.runner import Plan
from harness.targets import DEFAULT_CONNECT_TIMEOUT, Target, embedded_sqlite_target, parse_target
from harness.verdicts import DEFAULT_MARGIN
from reports import console as console_report
from reports import markdown as markdown_report
from reports.model import RunResult
from scenarios import REGISTRY, resolve

DEFAULT_ROWS = 1000
DEFAULT_ROUNDS = 10

_CONNECT_TIMEOUT_OPTION = click.option(
    "--connect-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_CONNECT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for a database to answer a connection.",
)
_OUTPUT_OPTION = click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=Path("ormbench-report"),
    show_default=True,
    help="Folder for results.json, report.md and report.html.",
)
_SUMMARY_OPTION = click.option(
    "--summary",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="PATH",
    help="Append the Markdown summary to PATH (also done to $GITHUB_STEP_SUMMARY when set).",
)


def _names(values: tuple[str, ...]) -> list[str]:
    """`--scenarios a,b --scenarios c` -> [a, b, c]."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _backend_names(values: tuple[str, ...]) -> list[str]:
    names = _names(values) or list(BACKENDS)
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


def _targets(dbs: tuple[str, ...], connect_timeout: float) -> tuple[list[Target], bool]:
    """The --db targets, each driver loaded (a missing one: say what to install before anything
    runs); the embedded SQLite when none is given, and whether it is that."""
    targets: list[Target] = [parse_target(u, connect_timeout) for u in dbs]
    for target in targets:
        target.driver.load()
    if targets:
        return targets, False
    return [embedded_sqlite_target(connect_timeout)], True


def _execute(
    execute: Any, plan: Any, targets: list[Target], embedded: bool, quiet: bool, label: bool
) -> Any:
    """Run `plan` with its progress on stderr (harness.progress: live on a terminal, lines
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


def _row_sizes(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    """`--rows 1000` -> (1000,); `--rows 100,1000,10000` -> a size sweep, smallest first."""
    from harness.sweep import parse_sizes

    try:
        return parse_sizes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ormbench")
def cli() -> None:
    """Compare SQLAlchemy's ORM and Django's ORM on the same database, with proof that both
    did the same work."""


@cli.command()
@click.option(
    "--db",
    "dbs",
    multiple=True,
    metavar="URL",
    help="Database URL (sqlite:///file, postgresql://, mysql://, mariadb://, mssql://); "
    "repeat for several. Default: SQLite in a temporary file.",
)
@click.option(
    "--scenarios",
    "scenario_names",
    multiple=True,
    metavar="NAMES",
    help="Comma-separated scenarios: names, 'all', or your own as package.module:Class. "
    f"Default: {', '.join(n for n, c in REGISTRY.items() if c.default)}.",
)
@click.option(
    "--backends",
    "backend_names",
    multiple=True,
    metavar="NAMES",
    help=f"Comma-separated backends. Default: all ({', '.join(BACKENDS)}).",
)
@click.option(
    "--rows",
    default=str(DEFAULT_ROWS),
    show_default=True,
    callback=_row_sizes,
    metavar="N[,N...]",
    help="Rows (operations) per scenario; a comma list (100,1000,10000) runs every size and "
    "adds the Scaling section: each cell's growth exponent and how its multiple of the "
    "raw DB-API floor changes with size.",
)
@click.option(
    "--rounds",
    type=click.IntRange(min=1),
    default=None,
    help=f"Timed rounds per backend. Default: {DEFAULT_ROUNDS}, or more where the plan makes "
    "over 25 SQLAlchemy/Django verdicts per database: the fewest rounds at which a verdict can "
    "survive the correction across them (log2(40 x verdicts)), said before the run. 6 or more "
    "give a 95% interval; fewer than that minimum leave every verdict inconclusive.",
)
@click.option(
    "--warmup",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Untimed warm-up rounds per backend.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Seed for generated data.")
@click.option(
    "--idiom",
    type=click.Choice(["both", "documented", "equal"]),
    default="both",
    show_default=True,
    help="Which ORM idioms to measure: 'documented' (each ORM's tutorial idiom with its "
    "defaults), 'equal' (the scenario's contracted work, the same as the other ORM and the "
    "floor), or both, each with its own verdict.",
)
@click.option(
    "--margin",
    type=click.FloatRange(min=0, max=100, min_open=True, max_open=True),
    default=DEFAULT_MARGIN,
    show_default=True,
    metavar="PERCENT",
    help="Practical-difference band: a winner is named only when the ratio's interval lies "
    "wholly outside +-PERCENT, 'no practical difference' when wholly inside.",
)
@click.option(
    "--memory",
    is_flag=True,
    help="Measure every cell's peak Python memory in one more untimed run under tracemalloc "
    "(the streaming scenario always does).",
)
@click.option(
    "--shard",
    default="",
    metavar="K/N",
    help="Run only the K-th of N slices of the database x scenario matrix (round-robin, "
    "deterministic); join the N results.json with `ormbench merge`.",
)
@click.option(
    "--rtt",
    "rtt_values",
    multiple=True,
    metavar="TIME",
    help="Also give each ORM verdict projected at this network round-trip time (e.g. 1ms, "
    "500us; repeatable or a comma list): measured time + round trips x (TIME - the local "
    "round trip). Server databases only.",
)
@click.option(
    "--measure",
    default="time",
    show_default=True,
    metavar="time[,instructions]",
    help="'instructions' also counts the CPU instructions of each timed operation, in a "
    "second pass per database under valgrind (callgrind): the same rounds, checks and trace, "
    "each count beside the cell's time, with a SQLAlchemy/Django ratio per idiom. Needs "
    "valgrind and pytest-codspeed (pip install 'ormbench[instructions]').",
)
@_OUTPUT_OPTION
@_CONNECT_TIMEOUT_OPTION
@_SUMMARY_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress lines; the report and errors only.")
def run(
    dbs: tuple[str, ...],
    scenario_names: tuple[str, ...],
    backend_names: tuple[str, ...],
    rows: tuple[int, ...],
    rounds: int | None,
    warmup: int,
    seed: int,
    idiom: str,
    margin: float,
    memory: bool,
    shard: str,
    rtt_values: tuple[str, ...],
    measure: str,
    output: Path,
    connect_timeout: float,
    summary: Path | None,
    quiet: bool,
) -> int:
    """Run the scenarios through every backend on every database and write the report."""
    from harness.instructions import INSTRUCTIONS, check_available, parse_measures
    from harness.projection import parse_rtt
    from harness.run import execute, parse_shard

    sizes = rows  # one size, or a sweep's (click's callback checked them)
    if shard:
        parse_shard(shard)  # bad input: one line before anything runs
    measures = parse_measures(measure)
    if INSTRUCTIONS in measures:
        check_available()
    rtt = parse_rtt(rtt_values)
    names = _names(scenario_names)
    chosen = resolve(names)
    tables_of(chosen)  # a user scenario's tables must be ormbench's own: say so before running
    scenarios = [s.name for s in chosen]
    backends = _backend_names(backend_names)
    output = prepare_output(output)  # before the embedded database's folder exists
    targets, embedded = _targets(dbs, connect_timeout)
    _note_rtt_on_sqlite(rtt, targets, quiet)
    idioms = IDIOMS if idiom == "both" else (idiom,)
    rounds = _rounds(rounds, chosen, backends, idioms, len(sizes), quiet)
    plan = Plan(
        scenarios=tuple(scenarios),
        backends=tuple(backends),
        rows=sizes[0],
        rounds=rounds,
        warmup=warmup,
        seed=seed,
        idioms=idioms,
        margin=margin,
        user_scenarios=tuple(n for n in names if ":" in n),
        shard=shard,
        memory=memory,
        rtt=rtt,
        sizes=sizes if len(sizes) > 1 else (),
        measure=measures,
    )
    result = _execute(execute, plan, targets, embedded, quiet, label=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not result.cells and result.incomplete_reason != INTERRUPTED_REASON:
        return exit_code(result)  # nothing ran (e.g. no database reachable): the error says it
    write_report(result, output, summary, err, f"{result.wall_s:.1f} s")
    return exit_code(result)


def _note_rtt_on_sqlite(rtt: tuple[float, ...], targets: list[Target], quiet: bool) -> None:
    """--rtt projects round trips on the wire; SQLite has none. Say so rather than drop it."""
    embedded = [t for t in targets if t.family == "sqlite"]
    if rtt and embedded and not quiet:
        where = "the embedded SQLite" if len(embedded) == len(targets) else "SQLite databases"
        Console(stderr=True, highlight=False, soft_wrap=True).print(
            f"note: --rtt is ignored for {where}: it runs inside this process, with no network "
            "round trips to project (server databases get the projection)",
            markup=False,
        )


def _rounds(
    asked: int | None,
    scenarios: list[Any],
    backends: list[str],
    idioms: tuple[str, ...],
    sizes: int,
    quiet: bool,
) -> int:
    """The timed rounds: as asked, else DEFAULT_ROUNDS or the fewest at which a verdict can
    survive the correction across the plan's verdicts (harness.verdicts), whichever is more.
    Said before the run when the default grew, and when the rounds asked for cannot support
    any verdict, so that nobody first meets that as a column of "inconclusive"."""
    from harness.verdicts import planned_verdicts, rounds_for_claims
    from reports.format import plural as fmt_plural

    family = planned_verdicts(scenarios, map(load_backend, backends), idioms, sizes)
    need = rounds_for_claims(family) if family else 0
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if asked is None:
        rounds = max(DEFAULT_ROUNDS, need)
        if rounds > DEFAULT_ROUNDS and not quiet:
            err.print(
                f"rounds: {rounds}, the fewest at which a verdict can survive the correction "
                f"across the plan's {family} SQLAlchemy/Django verdicts per database "
                "(--rounds sets them)",
                markup=False,
            )
        return rounds
    if asked < need and not quiet:
        err.print(
            f"note: {fmt_plural(asked, 'round')} cannot support any of the plan's {family} "
            "SQLAlchemy/Django "
            f"verdicts per database (Holm's correction across them): every one will read "
            f"inconclusive; --rounds {need} or more can",
            markup=False,
        )
    return asked


def write_report(
    result: RunResult, output: Path, summary: Path | None, err: Console, took: str
) -> None:
    """Console report, results.json, report.md and report.html in `output`, and the job
    summary; `took` says whose time the run's wall time is (a merge's is its shards')."""
    from harness.summary import append_summary
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


@cli.command()
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
    help="How long each backend runs at each thread count. Default: 2 (unless --operations).",
)
@click.option(
    "--operations",
    type=click.IntRange(min=1),
    default=None,
    help="Operations per thread instead of a duration: every backend then sends the same sequence.",
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
@_CONNECT_TIMEOUT_OPTION
@click.option("--quiet", "-q", is_flag=True, help="No progress lines; the report and errors only.")
def concurrency(
    dbs: tuple[str, ...],
    threads: tuple[int, ...],
    duration: float | None,
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
    threads working at once: SQLAlchemy's shared QueuePool, Django's connection per thread,
    and the raw DB-API floor with a connection per thread."""
    from harness.concurrency import DEFAULT_DURATION_S, ConcurrencyPlan, execute
    from reports.concurrency import render_console, render_markdown
    from scenarios.concurrency import WORKLOADS

    if duration is not None and operations is not None:
        raise ConfigurationError(
            "--duration and --operations both given", "give one: seconds, or operations per thread"
        )
    backends = _names(backend_names) or list(WORKLOADS)
    for name in backends:
        if name not in WORKLOADS:
            raise ConfigurationError(
                f"unknown backend '{name}'", f"choose from: {', '.join(WORKLOADS)}"
            )
    output = prepare_output(output)  # before the embedded database's folder exists
    targets, embedded = _targets(dbs, connect_timeout)
    plan = ConcurrencyPlan(
        threads=threads,
        backends=tuple(dict.fromkeys(backends)),
        duration_s=None if operations is not None else (duration or DEFAULT_DURATION_S),
        operations=operations,
        rows=rows,
        write_percent=write_percent,
        seed=seed,
    )
    result = _execute(execute, plan, targets, embedded, quiet, label=True)
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


@cli.command()
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False))
@_OUTPUT_OPTION
@_SUMMARY_OPTION
def report(results: Path, output: Path, summary: Path | None) -> int:
    """Render the report from RESULTS: an ormbench results.json (re-render) or the
    pytest-benchmark JSON of `python -m harness.pytest_suite --benchmark-json`."""
    from harness.results_file import load_result

    result = load_result(results)
    took = f"re-rendered; the run took {result.wall_s:.1f} s"
    err = Console(stderr=True, highlight=False)
    write_report(result, prepare_output(output), summary, err, took)
    return exit_code(result)


@cli.command()
@click.argument("results", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@_OUTPUT_OPTION
@_SUMMARY_OPTION
def merge(results: tuple[Path, ...], output: Path, summary: Path | None) -> int:
    """Join the results.json of the shards of one run (`ormbench run --shard K/N`) into one
    results.json and report, as if it had run unsharded; `report` and `compare` accept it."""
    from harness.merge import merge_files

    result = merge_files(list(results))
    took = f"merged; the shards ran {result.wall_s:.1f} s in all"
    err = Console(stderr=True, highlight=False)
    write_report(result, prepare_output(output), summary, err, took)
    return exit_code(result)


@cli.command()
@click.argument("files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--threshold",
    type=click.FloatRange(min=0, max=1000, max_open=True),
    default=10.0,
    show_default=True,
    metavar="PERCENT",
    help="A cell regressed only when its 95% interval, relative to the raw DB-API floor of "
    "the same rounds, lies wholly above 1 + PERCENT/100 (README, 'ormbench compare').",
)
@click.option(
    "--count-threshold",
    type=click.FloatRange(min=0, max=1000, max_open=True),
    default=2.0,
    show_default=True,
    metavar="PERCENT",
    help="Cells counted on both sides (run --measure instructions) are judged on instructions "
    "per operation: a regression when the median of the round-by-round ratios rose beyond "
    "PERCENT with every round above the baseline's (with --history: beyond PERCENT and the "
    "history's band).",
)
@click.option(
    "--floor-threshold",
    type=click.FloatRange(min=0, max=1000, max_open=True),
    default=25.0,
    show_default=True,
    metavar="PERCENT",
    help="The comparison is 'not comparable' (exit 3) when a database's raw DB-API floor as "
    "a whole (geometric mean over its scenarios) moved beyond +-PERCENT.",
)
@click.option(
    "--history",
    "history",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    metavar="DIR",
    help="Judge CURRENT against the last runs of the same plan in DIR (results.json files, "
    "any depth), with each cell's noise estimated from them; give CURRENT alone.",
)
@click.option(
    "--history-size",
    type=click.IntRange(min=2),
    default=10,
    show_default=True,
    help="How many of the latest runs in --history to use.",
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    metavar="PATH",
    help="Also write the comparison as Markdown to PATH.",
)
@click.option(
    "--accept-floor-move",
    is_flag=True,
    help="Exit 0 even when a database's raw DB-API floor moved beyond --floor-threshold (a "
    "deliberate change of database, driver or machine); without it such a comparison exits 3.",
)
@click.option(
    "--must-catch",
    type=click.FloatRange(min=0, max=1000, min_open=True),
    default=None,
    metavar="PERCENT",
    help="Exit 4 when some judged ORM cell is too noisy to catch a slowdown of PERCENT with "
    "about 95% probability (its 'catches' figure is larger): a pass that could not see "
    "such a regression is not a pass.",
)
@_SUMMARY_OPTION
def compare(
    files: tuple[Path, ...],
    threshold: float,
    count_threshold: float,
    floor_threshold: float,
    history: Path | None,
    history_size: int,
    markdown_path: Path | None,
    accept_floor_move: bool,
    must_catch: float | None,
    summary: Path | None,
) -> int:
    """Compare BASELINE CURRENT cell by cell (results.json or pytest-benchmark JSON), or
    CURRENT against --history DIR. Exit 1 when a cell regressed beyond --threshold; 3 when the
    raw DB-API floor itself moved (the database or machine changed; --accept-floor-move
    accepts that); 4 when --must-catch is given and some cell could not see such a slowdown;
    5 when no ORM cell could be compared at all (different plans); 0 otherwise; 2 for unusable
    input."""
    from dataclasses import replace

    from harness.compare import compare_files
    from harness.history import compare_history
    from harness.summary import append_summary
    from reports import compare as compare_report

    wanted = 1 if history is not None else 2
    if len(files) != wanted:
        usage = "CURRENT --history DIR" if history is not None else "BASELINE CURRENT"
        raise click.UsageError(f"give {usage} ({len(files)} file(s) given)")
    if history is not None:
        result = compare_history(
            history, files[0], threshold, history_size, floor_threshold, count_threshold
        )
    else:
        result = compare_files(files[0], files[1], threshold, floor_threshold, count_threshold)
    if must_catch is not None:
        result = replace(result, must_catch=must_catch / 100)
    compare_report.render_console(result, report_console())
    markdown = compare_report.render_markdown(result)
    err = Console(stderr=True, highlight=False)
    if markdown_path is not None:
        try:
            markdown_path.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot write {markdown_path} ({exc.strerror})", "choose another --markdown path"
            ) from None
        err.print(f"comparison written to {markdown_path}", markup=False)
    for path in append_summary(markdown, summary):
        err.print(f"summary appended to {path}", markup=False)
    if result.regressions:
        return EXIT_REGRESSION
    if result.compared_nothing:
        return EXIT_NOTHING_COMPARED
    if result.moved_databases and not accept_floor_move:
        return EXIT_NOT_COMPARABLE
    if result.blind:
        return EXIT_BLIND
    return EXIT_OK


@cli.command()
@click.option("--db", "dbs", multiple=True, metavar="URL", help="Database URL to try; repeatable.")
@_CONNECT_TIMEOUT_OPTION
def doctor(dbs: tuple[str, ...], connect_timeout: float) -> int:
    """Show versions, drivers and ODBC drivers, how to install what is missing, and whether
    each --db connects. Exit 0 when every --db connects, 2 otherwise."""
    from harness.doctor import run_doctor

    out = Console(highlight=False, soft_wrap=True)
    return run_doctor(list(dbs), connect_timeout, lambda line: out.print(line, markup=False))


@cli.command(name="list")
def list_command() -> None:
    """Show the scenarios and backends, with what each one does."""
    out = Console(highlight=False, soft_wrap=True)
    out.print("[bold]Scenarios[/]")
    for name, cls in REGISTRY.items():
        # Docstrings quote code (`[off:off + size]`), which is not Rich markup.
        out.print(f"  [cyan]{name}[/]: {escape(cls.description())}")
    out.print("[bold]Backends[/]")
    for name in BACKENDS:
        cls = load_backend(name)
        doc = " ".join((cls.__doc__ or "").split())
        out.print(f"  [cyan]{name}[/] ({cls.title}): {escape(doc)}")
        for scenario in REGISTRY.values():
            if not cls.supports(scenario):
                continue
            for idiom in (IDIOMS[0],) if cls.is_floor else IDIOMS:
                if not cls.has_own_idiom(scenario, idiom):
                    continue
                label = scenario.name if cls.is_floor else f"{scenario.name}, {IDIOM_TITLES[idiom]}"
                out.print(f"      {label}: {escape(cls.idiom_doc(scenario, idiom))}")


def main(argv: list[str] | None = None) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        code = cli.main(args=argv, prog_name="ormbench", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.exceptions.Abort:
        code = EXIT_INTERRUPTED
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx else "ormbench"
        err.print(f"ormbench: error: {exc.format_message()} (see '{command} --help')", markup=False)
        code = EXIT_USAGE
    except OrmbenchError as exc:
        err.print(f"ormbench: error: {exc}", markup=False)
        code = exc.exit_code
    sys.exit(code if isinstance(code, int) else EXIT_OK)


if __name__ == "__main__":
    main()
