"""The whole command: every database in a worker process of its own (Django's settings are per
process), every thread count, the repetitions with the units in a balanced order, the observed
pass, and the result with its verdicts."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from harness.concurrency.judge import build_cell, build_comparisons
from harness.concurrency.measurement import Measured, measure
from harness.concurrency.plan import ConcurrencyPlan, Unit, plan_units
from harness.concurrency.trace import trace_unit
from harness.measuring.plan import interleaved_order
from harness.measuring.run import environment, package_version
from harness.measuring.watchdog import Watchdog
from harness.measuring.worker import run_worker, worker_main
from harness.targets.database import HarnessDatabase
from harness.targets.errors import INTERRUPTED_REASON, OrmbenchError
from harness.targets.urls import Target
from reports.concurrency import (
    CONCURRENCY_SCHEMA_VERSION,
    BackendTrace,
    ConcurrencyCell,
    ConcurrencyResult,
)
from reports.format import SHORT_TITLES, plural
from reports.model import DatabaseInfo
from scenarios.concurrency import label, workload
from scenarios.data import make_rows
from scenarios.idioms import IDIOM_TITLES
from scenarios.schema import item_table

Emit = Callable[[str, Any], None]
Progress = Callable[[str], None]


def unit_title(unit: Unit) -> str:
    name = SHORT_TITLES.get(unit.backend, unit.backend)
    idiom = IDIOM_TITLES.get(unit.idiom)
    return f"{name} ({idiom})" if idiom else name


def run_threads(
    target: Target,
    plan: ConcurrencyPlan,
    threads: int,
    db: HarnessDatabase,
    stop: threading.Event,
    emit: Emit,
    watchdog: Watchdog | None,
) -> None:
    """Every unit at k threads: the repetitions, each running the units in the next order of
    a Williams design (every unit right after every other equally often), then one untimed
    pass per pooled unit with the pool observed; a "cell" event per unit."""
    units = plan_units(plan.backends)
    runs: dict[Unit, list[Measured]] = {unit: [] for unit in units}
    for index in range(plan.repetitions):
        rates = []
        for unit in interleaved_order(units, index):
            measured = measure(target, unit, threads, plan, db, stop, index)
            runs[unit].append(measured)
            repetition = measured.repetition
            rate = f"{repetition.ops_per_s:,.0f} ops/s" if repetition.ops_per_s else "no rate"
            rates.append(f"{unit_title(unit)} {rate}, {repetition.verification.status}")
            if watchdog is not None:
                watchdog.saw_progress(f"{unit_title(unit)} at {plural(threads, 'thread')}")
            if repetition.verification.status == "error":
                db.ping()  # ConnectionFailed ends this database if the server is gone
        emit(
            "progress",
            f"{target.label}: {plural(threads, 'thread')}, repetition {index + 1}/"
            f"{plan.repetitions}: {'; '.join(rates)}",
        )
    for unit in units:
        observed = None
        if unit.backend == "sqlalchemy":  # its pools are counted in a pass of their own
            observed = measure(target, unit, threads, plan, db, stop, -1, observed=True)
        emit("cell", build_cell(target.label, unit, threads, runs[unit], observed))


def run_database(
    target: Target, plan: ConcurrencyPlan, emit: Emit, stop: threading.Event | None = None
) -> None:
    """Every thread count and unit on one database, in this process: "database", "traces",
    "cell" and "progress" events; the harness table dropped in every case."""
    stop = stop or threading.Event()
    db = HarnessDatabase(target, (item_table,))
    watchdog: Watchdog | None = None
    try:
        info = db.database_info()
        emit("tables", db.run_id)  # before creating: a dead worker's tables get dropped
        db.create_tables()
        if target.family != "sqlite":  # an embedded database cannot stop answering
            watchdog = Watchdog(target, emit)
            watchdog.start()
        if "django" in plan.backends:
            from backends.django_orm import configure

            configure(target)  # once, on the main thread, before any worker thread asks
        (first,) = db.load(make_rows(1, plan.seed))
        traces, settings = [], {}
        for unit in plan_units(plan.backends):
            trace, unit_settings = trace_unit(target, unit, first)
            settings.setdefault(unit.backend, unit_settings)
            traces.append(trace)
        emit("database", replace(info, connection_settings=settings))
        emit("traces", (target.label, traces))
        for threads in plan.threads:
            run_threads(target, plan, threads, db, stop, emit, watchdog)
    finally:
        if watchdog is not None:
            watchdog.stopped.set()
        with suppress(ValueError):  # not the main thread: no signal to hold off
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if left_behind := db.drop_tables_or_explain():
                emit("tables_left", left_behind)  # the parent tries again
        finally:
            db.close()


def _worker(target: Target, plan: ConcurrencyPlan, events: Any) -> None:
    worker_main(run_database, target, plan, events)


def run_in_worker(target: Target, plan: ConcurrencyPlan, emit: Emit) -> None:
    """One database in a fresh process; its error re-raised here, Ctrl-C as KeyboardInterrupt
    after the worker has dropped its table."""
    run_worker(_worker, (item_table,), target, plan, emit)


@dataclass
class _Collected:
    databases: list[DatabaseInfo] = field(default_factory=list)
    traces: dict[str, list[BackendTrace]] = field(default_factory=dict)
    cells: list[ConcurrencyCell] = field(default_factory=list)
    progress: Progress | None = None
    label: str = ""

    def __call__(self, kind: str, payload: Any) -> None:
        if kind == "database":
            self.databases.append(payload)
        elif kind == "traces":
            database, traces = payload
            self.traces[database] = traces
        elif kind == "cell":
            self.cells.append(payload)
        elif kind in ("progress", "warning") and self.progress is not None:
            self.progress(payload if kind == "progress" else f"{self.label}: warning: {payload}")
        if kind == "warning":
            self.note_error(payload)

    def note_error(self, error: str) -> None:
        info = next((d for d in self.databases if d.label == self.label), None)
        if info is None:
            self.databases.append(DatabaseInfo(label=self.label, family="", error=error))
            return
        index = self.databases.index(info)
        joined = f"{info.error}; {error}" if info.error else error
        self.databases[index] = replace(info, error=joined)

    def failed(self, target: Target, exc: OrmbenchError) -> None:
        if not any(d.label == target.label for d in self.databases):
            self.databases.append(
                DatabaseInfo(label=target.label, family=target.family, error=str(exc))
            )
        else:
            self.note_error(str(exc))


def execute(
    plan: ConcurrencyPlan, targets: list[Target], progress: Progress | None = None
) -> ConcurrencyResult:
    """Every database in turn; a database that fails keeps its error in the result."""
    started = datetime.now(UTC)
    clock = time.perf_counter()
    collected = _Collected(progress=progress)
    incomplete: str | None = None
    for target in targets:
        collected.label = target.label
        if progress:
            progress(f"{target.label}: starting")
        try:
            run_in_worker(target, plan, collected)
        except KeyboardInterrupt:
            incomplete = INTERRUPTED_REASON
            collected.note_error(incomplete)
            break
        except OrmbenchError as exc:
            collected.failed(target, exc)
            incomplete = incomplete or f"{target.label}: {exc.message}"
    if incomplete is None and any(c.verification.status == "error" for c in collected.cells):
        incomplete = "some cells ended in an error"
    comparisons = []
    for info in collected.databases:
        cells = [c for c in collected.cells if c.database == info.label]
        traces = collected.traces.get(info.label, [])
        comparisons += build_comparisons(cells, traces, plan.margin)
    return ConcurrencyResult(
        schema_version=CONCURRENCY_SCHEMA_VERSION,
        tool_version=package_version("ormbench") or "unknown",
        started_at=started.isoformat(timespec="seconds"),
        wall_s=time.perf_counter() - clock,
        complete=incomplete is None,
        incomplete_reason=incomplete,
        environment=environment(),
        plan=asdict(plan),
        workload=workload_labels(plan),
        databases=collected.databases,
        traces=collected.traces,
        cells=collected.cells,
        comparisons=comparisons,
    )


def workload_labels(plan: ConcurrencyPlan) -> dict[str, dict[str, str]]:
    """ "backend/idiom" -> what its read and write call (their docstrings)."""
    labels = {}
    for unit in plan_units(plan.backends):
        ops = workload(unit.backend, unit.code_idiom)
        labels[f"{unit.backend}/{unit.idiom}"] = {
            "read": label(ops.read),
            "write": label(ops.write),
        }
    return labels
