"""One `ormbench run`: every database in turn (each in its own worker process), the events
gathered into the result model, comparisons drawn, and the run's environment recorded."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from backends import load_backend
from harness.judging.projection import project
from harness.judging.sweep import build_sweep
from harness.judging.verdicts import build_comparisons
from harness.measuring.instructions import INSTRUCTIONS
from harness.measuring.plan import Plan
from harness.measuring.progress import ProgressSink
from harness.measuring.shards import shard_scenarios
from harness.measuring.worker import run_in_worker
from harness.targets.errors import INTERRUPTED_REASON, OrmbenchError
from harness.targets.urls import Target
from reports.model import SCHEMA_VERSION, Cell, DatabaseInfo, RunResult
from scenarios import REGISTRY


def package_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def environment() -> dict[str, str]:
    facts = {
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": str(os.cpu_count()),
        "ormbench": package_version("ormbench") or "unknown",
        "sqlalchemy": package_version("sqlalchemy") or "not installed",
        "django": package_version("django") or "not installed",
    }
    if mssql := package_version("mssql-django"):
        facts["mssql-django"] = mssql
    return facts


@dataclass
class _Collector:
    databases: list[DatabaseInfo] = field(default_factory=list)
    cells: list[Cell] = field(default_factory=list)
    progress: ProgressSink | None = None
    label: str = ""

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "database":
            self.databases.append(payload)
        elif kind == "settings" and self.databases:
            self.databases[-1] = replace(self.databases[-1], connection_settings=payload)
        elif kind == "rtt" and self.databases:
            self.databases[-1] = replace(self.databases[-1], local_rtt_s=payload)
        elif kind == "cell":
            self.cells.append(payload)
        elif kind == "warning":
            # Harness tables left behind (server gone): on the database's error, and said now.
            info = self.databases[-1] if self.databases else None
            if info is not None and info.label == self.label:
                error = f"{info.error}; {payload}" if info.error else payload
                self.databases[-1] = replace(info, error=error)
            if self.progress is not None:
                self.progress(f"{self.label}: warning: {payload}")
        elif kind == "progress" and self.progress is not None:
            scenario, done, total = payload
            self.progress.round(self.label, scenario, done, total)
        elif kind == "traced" and self.progress is not None:
            self.progress.traced(self.label, payload)


def execute(plan: Plan, targets: list[Target], progress: ProgressSink | None = None) -> RunResult:
    """Run the plan on every target. Never raises for a database that fails: its error is kept
    in the result (`DatabaseInfo.error`); KeyboardInterrupt ends the run, marked incomplete."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    collector = _Collector(progress=progress)
    incomplete: str | None = None
    sliced = shard_scenarios(plan, targets)
    if progress:
        runs = sum(map(len, sliced)) * len(plan.row_sizes())  # every size of every scenario
        # Each scenario's rounds, and its trace-and-verify pass after them (with the memory
        # pass): untimed work the time left must count too, a round's worth or more. A
        # counting pass (--measure instructions) runs every scenario again under valgrind,
        # and says so once per scenario (harness.measuring.scenario.time_rounds): a step each.
        counting = runs if INSTRUCTIONS in plan.measure else 0
        progress.planned(runs * (plan.warmup + plan.rounds + 1) + counting)
    for target, scenarios in zip(targets, sliced, strict=True):
        if not scenarios:
            continue  # another shard runs this database
        collector.label = target.label
        if progress:
            progress(f"{target.label}: starting")
        before = len(collector.databases)
        try:
            run_in_worker(target, replace(plan, scenarios=scenarios), collector)
            if INSTRUCTIONS in plan.measure:
                count_instructions(target, replace(plan, scenarios=scenarios), collector, before)
        except KeyboardInterrupt:
            incomplete = INTERRUPTED_REASON
            _mark_error(collector, before, target, incomplete)
            break
        except OrmbenchError as exc:
            if progress and target is not targets[-1]:  # say it now: the run goes on
                progress(f"{target.label}: error: {exc}")
            _mark_error(collector, before, target, str(exc))
            incomplete = incomplete or f"{target.label}: {exc.message}"
    cells = collector.cells
    if incomplete is None and any(c.verification.status == "error" for c in cells):
        incomplete = "some cells ended in an error"
    return RunResult(
        schema_version=SCHEMA_VERSION,
        tool_version=package_version("ormbench") or "unknown",
        started_at=started.isoformat(timespec="seconds"),
        wall_s=time.perf_counter() - clock,
        complete=incomplete is None,
        incomplete_reason=incomplete,
        environment=environment(),
        plan=recorded_plan(plan),
        scenarios={name: REGISTRY[name].description() for name in plan.scenarios},
        backends={cls.name: cls.title for cls in map(load_backend, plan.backends)},
        databases=collector.databases,
        cells=cells,
        comparisons=build_comparisons(cells, plan.margin),
        projections=project(cells, collector.databases, plan.rtt, plan.margin),
        sweep=build_sweep(cells, plan.margin),
    )


def recorded_plan(plan: Plan) -> dict[str, Any]:
    """The plan as results.json records it: `sizes` only for a sweep and `measure` only with
    counts, so that a run records what it always did; `counting` is a worker's own flag."""
    recorded = asdict(plan)
    del recorded["counting"]
    if not plan.sizes:
        del recorded["sizes"]
    if INSTRUCTIONS not in plan.measure:
        del recorded["measure"]
    return recorded


def count_instructions(target: Target, plan: Plan, collector: _Collector, before: int) -> None:
    """The database's counting pass (harness.measuring.instructions): the same plan again in
    a worker under callgrind, each operation counted instead of timed, with the same rounds,
    checks and trace pass; its counts are put on the timed pass's cells. A cell whose counting
    pass did not pass its checks fails, with the counting pass's reason."""
    counted: list[Cell] = []
    progress = collector.progress
    label = f"{target.label} (counting)"

    def keep(kind: str, payload: Any) -> None:
        if kind == "cell":
            counted.append(payload)
        elif kind == "warning":
            collector(kind, payload)
        elif kind == "progress" and progress is not None:
            scenario, done, total = payload
            progress.round(label, scenario, done, total)

    if progress:
        progress(f"{label}: starting")
    try:
        run_in_worker(target, replace(plan, counting=True), keep)
    finally:
        _attach_counts(collector, before, counted)


def _attach_counts(collector: _Collector, before: int, counted: list[Cell]) -> None:
    if not collector.databases[before:]:
        return
    label = collector.databases[before].label
    by_key = {(c.scenario, c.rows, c.backend, c.idiom): c for c in counted}
    for index, cell in enumerate(collector.cells):
        if cell.database != label:
            continue
        twin = by_key.get((cell.scenario, cell.rows, cell.backend, cell.idiom))
        if twin is None:
            continue
        if twin.verified or not cell.verified:
            collector.cells[index] = replace(cell, instructions_rounds=twin.instructions_rounds)
            continue
        reason = f"counting pass: {twin.verification.reason}"
        collector.cells[index] = replace(
            cell,
            verification=replace(cell.verification, status=twin.verification.status, reason=reason),
        )


def _mark_error(collector: _Collector, before: int, target: Target, error: str) -> None:
    """Record the error on the database's info, adding the info if the worker never sent it."""
    if len(collector.databases) > before:
        info = collector.databases[-1]
        # Keep a warning the worker sent first (tables it could not drop) after the error.
        collector.databases[-1] = replace(
            info, error=f"{error}; {info.error}" if info.error else error
        )
    else:
        collector.databases.append(
            DatabaseInfo(
                label=target.label, family=target.family, location=target.location, error=error
            )
        )
