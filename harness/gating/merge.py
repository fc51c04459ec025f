"""`ormbench merge`: the results of shards (`ormbench run --shard K/N`) joined into one run, as
if it had run unsharded: the cells of all shards, each database's facts once, and the verdicts
drawn again over the whole (their error control spans a database's scenarios, which shards
split)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.gating.results_file import PYTEST_SOURCE, load_result
from harness.judging.projection import project
from harness.judging.sweep import build_sweep
from harness.judging.verdicts import build_comparisons
from harness.targets.errors import ConfigurationError
from reports.model import DatabaseInfo, RunResult

# Plan entries every shard must share: the same measurement, sliced.
SHARED_PLAN = (
    "backends",
    "rows",
    "sizes",
    "rounds",
    "warmup",
    "seed",
    "idioms",
    "margin",
    "scenarios",
)


def merge_files(paths: list[Path]) -> RunResult:
    if len(paths) < 2:
        raise ConfigurationError(
            "merge needs the results of two or more shards", "give every shard's results.json"
        )
    return merge([load_result(p) for p in paths], [str(p) for p in paths])


def merge(results: list[RunResult], names: list[str]) -> RunResult:
    first = results[0]
    for name, result in zip(names, results, strict=True):
        if result.plan.get("source") == PYTEST_SOURCE:
            raise ConfigurationError(
                f"{name} comes from the pytest-benchmark suite", "merge ormbench run shards"
            )
        if result.schema_version != first.schema_version:
            raise ConfigurationError(
                f"{name} has schema_version {result.schema_version}, {names[0]} "
                f"{first.schema_version}",
                "merge shards written by the same ormbench",
            )
        for key in SHARED_PLAN:
            if result.plan.get(key) != first.plan.get(key):
                raise ConfigurationError(
                    f"{name} was run with {key} {result.plan.get(key)!r}, {names[0]} with "
                    f"{first.plan.get(key)!r}",
                    "merge shards of one run: the same options, only --shard differs",
                )
    shards = [r.plan.get("shard", "") for r in results]
    totals = {s.partition("/")[2] for s in shards}
    if "" in shards or len(totals) != 1 or len(set(shards)) != len(shards):
        listed = ", ".join(s or "-" for s in shards)
        raise ConfigurationError(
            f"these are not distinct shards of one run (shards: {listed})",
            "give each --shard K/N results.json once",
        )
    missing = int(totals.pop()) - len(results)
    results = _one_embedded_label(results)
    cells, seen = [], set()
    for name, result in zip(names, results, strict=True):
        for cell in result.cells:
            key = (cell.database, cell.scenario, cell.backend, cell.idiom, f"{cell.rows} rows")
            if key in seen:
                raise ConfigurationError(
                    f"{name} repeats the cell {' / '.join(key)}", "give each shard once"
                )
            seen.add(key)
            cells.append(cell)
    databases: dict[str, DatabaseInfo] = {}
    for result in results:
        for info in result.databases:
            known = databases.get(info.label)
            if known is None:
                databases[info.label] = info
            elif info.error:
                error = f"{known.error}; {info.error}" if known.error else info.error
                databases[info.label] = replace(known, error=error)
    order = {name: i for i, name in enumerate(first.plan.get("scenarios", []))}
    cells.sort(key=lambda c: (list(databases).index(c.database), order.get(c.scenario, 0)))
    incomplete = [r.incomplete_reason for r in results if not r.complete]
    if missing:
        incomplete.append(f"{missing} of {len(results) + missing} shards missing")
    plan = {k: v for k, v in first.plan.items() if k != "shard"}
    return replace(
        first,
        started_at=min(r.started_at for r in results),
        # The shards' own time, summed: the merged record keeps what the runs took (which the
        # report calls "shards' time"), not the time merge itself took.
        wall_s=sum(r.wall_s for r in results),
        complete=not incomplete,
        incomplete_reason="; ".join(i or "" for i in incomplete) or None,
        plan=plan,
        scenarios={k: v for r in results for k, v in r.scenarios.items()},
        databases=list(databases.values()),
        cells=cells,
        comparisons=build_comparisons(cells, float(plan.get("margin", 5.0))),
        # The projections' family is the database's verdicts, as the comparisons': redrawn.
        projections=project(
            cells,
            list(databases.values()),
            tuple(plan.get("rtt", ())),
            float(plan.get("margin", 5.0)),
        ),
        sweep=build_sweep(cells, float(plan.get("margin", 5.0))),
    )


def _one_embedded_label(results: list[RunResult]) -> list[RunResult]:
    """The embedded SQLite lives in a fresh temporary file every run, so each shard names it
    differently: give its cells and facts the first shard's name."""
    first: dict[str, str] = {}
    for result in results:
        for info in result.databases:
            if info.location:
                first.setdefault(info.family, info.label)
    renamed = []
    for result in results:
        labels = {i.label: first[i.family] for i in result.databases if i.location}
        renamed.append(
            replace(
                result,
                databases=[
                    replace(i, label=labels.get(i.label, i.label)) for i in result.databases
                ],
                cells=[
                    replace(c, database=labels.get(c.database, c.database)) for c in result.cells
                ],
            )
        )
    return renamed
