"""`ormbench run`: the plan from the command line (scenarios, backends, sizes, rounds), said
before it runs where it needs saying, then the run and its report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from rich.console import Console

from backends import BACKENDS, load_backend
from harness.cli.common import (
    CONNECT_TIMEOUT_OPTION,
    OUTPUT_OPTION,
    SUMMARY_OPTION,
    check_backend_names,
    execute_with_progress,
    exit_code,
    prepare_output,
    split_names,
    targets_for,
    write_report,
)
from harness.judging.verdicts import DEFAULT_MARGIN
from harness.measuring.plan import Plan
from harness.measuring.progress import LONG_SCENARIO_S, duration
from harness.targets.database import tables_of
from harness.targets.errors import (
    INTERRUPTED_REASON,
)
from harness.targets.urls import (
    Target,
)
from scenarios import REGISTRY, resolve
from scenarios.idioms import IDIOMS

DEFAULT_ROWS = 1000

DEFAULT_ROUNDS = 10


def _row_sizes(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[int, ...]:
    """`--rows 1000` -> (1000,); `--rows 100,1000,10000` -> a size sweep, smallest first."""
    from harness.judging.sweep import parse_sizes

    try:
        return parse_sizes(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command()
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
@OUTPUT_OPTION
@CONNECT_TIMEOUT_OPTION
@SUMMARY_OPTION
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
    from harness.judging.projection import parse_rtt
    from harness.measuring.instructions import INSTRUCTIONS, check_available, parse_measures
    from harness.measuring.run import execute
    from harness.measuring.shards import parse_shard

    sizes = rows  # one size, or a sweep's (click's callback checked them)
    if shard:
        parse_shard(shard)  # bad input: one line before anything runs
    measures = parse_measures(measure)
    if INSTRUCTIONS in measures:
        check_available()
    rtt = parse_rtt(rtt_values)
    names = split_names(scenario_names)
    chosen = resolve(names)
    tables_of(chosen)  # a user scenario's tables must be ormbench's own: say so before running
    scenarios = [s.name for s in chosen]
    backends = check_backend_names(backend_names)
    output = prepare_output(output)  # before the embedded database's folder exists
    targets, embedded = targets_for(dbs, connect_timeout)
    _note_rtt_on_sqlite(rtt, targets, quiet)
    idioms = IDIOMS if idiom == "both" else (idiom,)
    rounds = _rounds(rounds, chosen, backends, idioms, len(sizes), quiet)
    _note_long_scenarios(chosen, max(sizes), seed, backends, idioms, warmup + rounds, quiet)
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
    result = execute_with_progress(execute, plan, targets, embedded, quiet, label=False)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if not result.cells and result.incomplete_reason != INTERRUPTED_REASON:
        return exit_code(result)  # nothing ran (e.g. no database reachable): the error says it
    write_report(result, output, summary, err, f"{result.wall_s:.1f} s")
    return exit_code(result)


# About the least time one cell takes per operation of a per-row scenario (a primary-key get,
# an INSERT, an UPDATE) through an ORM on the 2-core development machine with SQLite; a server
# over a network takes longer. It makes the up-front estimate a lower bound.
SECONDS_PER_OPERATION = 40e-6


def _note_long_scenarios(
    chosen: list[Any],
    rows: int,
    seed: int,
    backends: list[str],
    idioms: tuple[str, ...],
    runs: int,
    quiet: bool,
) -> None:
    """A scenario that does one operation per row (get's lookups, create's INSERTs) takes long
    at a large size by nature: say so before the run, with a lower-bound estimate, rather
    than let the user find out an hour in."""
    if quiet:
        return
    orms = sum(1 for b in backends if b != "dbapi")
    cells = orms * len(idioms) + (1 if "dbapi" in backends else 0)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    for cls in chosen:
        try:
            operations = cls(rows, seed).operations()
        except Exception:  # a user's scenario may know its operations only once prepared
            continue
        # The timed rounds, the warm-up and the trace pass each run every cell once.
        estimate = operations * cells * (runs + 1) * SECONDS_PER_OPERATION
        if estimate < LONG_SCENARIO_S:
            continue
        err.print(
            f"note: {cls.name} at {rows:,} rows does {operations:,} operations per run, "
            f"{runs + 1} runs of {cells} cells: at least about {duration(estimate)} "
            f"(at {SECONDS_PER_OPERATION * 1e6:.0f} µs per operation, about the fastest an ORM "
            "does one here; a server over a network takes longer); fewer --rows or --rounds, "
            "or leaving it out of --scenarios, shortens it",
            markup=False,
        )


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
    survive the correction across the plan's verdicts (harness.judging.verdicts), whichever is more.
    Said before the run when the default grew, and when the rounds asked for cannot support
    any verdict, so that nobody first meets that as a column of "inconclusive"."""
    from harness.judging.verdicts import planned_verdicts, rounds_for_claims
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
