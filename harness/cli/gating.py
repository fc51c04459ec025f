"""The commands on results files: `report` (render again), `merge` (join a run's shards) and
`compare` (a run against a baseline or a history, with the gate's exit codes)."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from harness.cli.common import (
    OUTPUT_OPTION,
    SUMMARY_OPTION,
    exit_code,
    prepare_output,
    report_console,
    write_report,
)
from harness.targets.errors import (
    EXIT_BLIND,
    EXIT_NOT_COMPARABLE,
    EXIT_NOTHING_COMPARED,
    EXIT_OK,
    EXIT_REGRESSION,
    ConfigurationError,
)


@click.command()
@click.argument("results", type=click.Path(path_type=Path, dir_okay=False))
@OUTPUT_OPTION
@SUMMARY_OPTION
def report(results: Path, output: Path, summary: Path | None) -> int:
    """Render the report from RESULTS: an ormbench results.json (re-render) or the
    pytest-benchmark JSON of `python -m harness.pytest_suite --benchmark-json`."""
    from harness.gating.results_file import load_result

    result = load_result(results)
    took = f"re-rendered; the run took {result.wall_s:.1f} s"
    err = Console(stderr=True, highlight=False)
    write_report(result, prepare_output(output), summary, err, took)
    return exit_code(result)


@click.command()
@click.argument("results", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@OUTPUT_OPTION
@SUMMARY_OPTION
def merge(results: tuple[Path, ...], output: Path, summary: Path | None) -> int:
    """Join the results.json of the shards of one run (`ormbench run --shard K/N`) into one
    results.json and report, as if it had run unsharded; `report` and `compare` accept it."""
    from harness.gating.merge import merge_files

    result = merge_files(list(results))
    took = f"merged; the shards ran {result.wall_s:.1f} s in all"
    err = Console(stderr=True, highlight=False)
    write_report(result, prepare_output(output), summary, err, took)
    return exit_code(result)


@click.command()
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
@SUMMARY_OPTION
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

    from harness.gating.compare import compare_files
    from harness.gating.history import compare_history
    from harness.gating.summary import append_summary
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
