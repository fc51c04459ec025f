"""The run loop. Per database: create the harness tables; per scenario: prepare (untimed),
warm-up, timed rounds that interleave the backends, then one untimed trace-and-verify pass per
backend. Each database runs in a worker process of its own, since Django's settings are per
process; the worker streams results back as they complete, so a failure keeps what finished."""

from __future__ import annotations

import gc
import multiprocessing
import queue
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from backends import Backend, load_backend
from harness.database import HarnessDatabase, connect_error
from harness.errors import OrmbenchError
from harness.stats import iqr, median
from harness.targets import Target
from harness.trace import SQL_SAMPLE_LIMIT, Tracer
from reports.model import Cell, DatabaseInfo, SqlSample, TraceCounts, Verification
from scenarios import REGISTRY, Outcome, Scenario

Emit = Callable[[str, Any], None]


@dataclass(frozen=True)
class Plan:
    scenarios: tuple[str, ...]
    backends: tuple[str, ...]
    rows: int
    rounds: int
    warmup: int = 1
    seed: int = 42


# --- timing -------------------------------------------------------------------------------------


def timed_run(backend: Backend, scenario: Scenario, argument: Any) -> float:
    """Seconds for one run of the operation. Same handling for every backend: a fresh round
    (untimed), a full collection before, no collector inside the timed region."""
    backend.begin_round()
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        scenario.run(backend, argument)
        elapsed = time.perf_counter() - start
    finally:
        gc.enable()
        backend.end_round()
    return elapsed


def interleaved_order(names: list[str], round_index: int) -> list[str]:
    """A B C, then B C A, then C A B ...: every backend meets drift alike and none always
    runs first after a preparation."""
    k = round_index % len(names)
    return names[k:] + names[:k]


# --- one scenario -------------------------------------------------------------------------------


def _trace_counts(tracer: Tracer, operations: int) -> TraceCounts:
    return TraceCounts(
        operations=operations,
        statements=tracer.statements,
        transaction_control=tracer.transaction_control,
        commits=tracer.commits,
        rollbacks=tracer.rollbacks,
        rows_sent=tracer.rows_sent,
        rows_fetched=tracer.rows_fetched,
        by_kind=dict(tracer.by_kind),
        sql=[SqlSample(s, n) for s, n in list(tracer.sql.items())[:SQL_SAMPLE_LIMIT]],
    )


def trace_and_verify(
    target: Target, backend_cls: type[Backend], scenario: Scenario, db: HarnessDatabase
) -> tuple[TraceCounts | None, Outcome]:
    """Run the operation once more, untimed, on a traced connection; then check the work."""
    tracer = Tracer()
    work = scenario.prepare(db)
    try:
        backend = backend_cls(target, tracer)
    except Exception as exc:
        return None, Outcome("error", _describe(exc, target))
    try:
        backend.begin_round()
        tracer.reset()  # count the operation, not the connection's set-up
        result = scenario.run(backend, work.argument)
        counts = _trace_counts(tracer, scenario.operations())
        returned = backend.normal_rows(result) if work.expected_result is not None else None
        backend.end_round()
    except Exception as exc:  # a backend that breaks is reported, not fatal to the run
        return None, Outcome("error", _describe(exc, target))
    finally:
        backend.close()
    return counts, scenario.verify(work, db.table_digest(), returned)


def _describe(exc: BaseException, target: Target) -> str:
    text = f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:400]
    return text.replace(target.password, "***") if target.password else text


def run_scenario(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    emit: Emit,
) -> list[Cell]:
    names = list(backends)
    timings: dict[str, list[float]] = {name: [] for name in names}
    error: str | None = None
    try:
        work = None if scenario.destructive else scenario.prepare(db)
        for index in range(plan.warmup + plan.rounds):
            for name in interleaved_order(names, index):
                if scenario.destructive:
                    work = scenario.prepare(db)
                elapsed = timed_run(backends[name], scenario, work.argument)
                if index >= plan.warmup:
                    timings[name].append(elapsed)
            emit("progress", (scenario.name, index + 1, plan.warmup + plan.rounds))
    except Exception as exc:
        error = _describe(exc, target)
    cells = []
    for name in names:
        if error is None:
            trace, outcome = trace_and_verify(target, type(backends[name]), scenario, db)
        else:
            trace, outcome = None, Outcome("error", error)
        rounds = timings[name]
        mid = median(rounds) if rounds else None
        cells.append(
            Cell(
                database=target.label,
                scenario=scenario.name,
                backend=name,
                rows=scenario.rows,
                operations=scenario.operations(),
                rounds_s=rounds,
                median_s=mid,
                iqr_s=iqr(rounds) if rounds else None,
                ops_per_s=scenario.operations() / mid if mid else None,
                rows_per_s=scenario.rows / mid if mid else None,
                trace=trace,
                verification=Verification(outcome.status, outcome.reason),
            )
        )
    return cells


# --- one database -------------------------------------------------------------------------------


@contextmanager
def open_backends(target: Target, names: tuple[str, ...]) -> Iterator[dict[str, Backend]]:
    opened: dict[str, Backend] = {}
    try:
        for name in names:
            try:
                opened[name] = load_backend(name)(target)
            except OrmbenchError:
                raise
            except Exception as exc:
                raise connect_error(target, exc) from None
        yield opened
    finally:
        for backend in opened.values():
            with suppress(Exception):  # closing a dead connection must not hide the real error
                backend.close()


def run_database(target: Target, plan: Plan, emit: Emit) -> None:
    """Run the plan on one database in this process, emitting "database" and "cell" events."""
    db = HarnessDatabase(target)
    try:
        facts = db.server_facts()
        emit(
            "database",
            DatabaseInfo(
                label=target.label,
                family=target.family,
                server_version=facts.server_version,
                edition=facts.edition,
                driver=facts.driver,
                driver_version=facts.driver_version,
                location=target.location,
            ),
        )
        db.create_tables()
        with open_backends(target, plan.backends) as backends:
            for name in plan.scenarios:
                scenario = REGISTRY[name](plan.rows, plan.seed)
                for cell in run_scenario(target, plan, scenario, db, backends, emit):
                    emit("cell", cell)
    finally:
        try:
            db.drop_tables()
        finally:
            db.close()


# --- worker processes ---------------------------------------------------------------------------


class Interrupted(BaseException):
    """The parent asked the worker to stop (Ctrl-C): clean up, report what finished."""


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: let the clean-up finish
    raise Interrupted


def _worker(target: Target, plan: Plan, events: Any) -> None:
    # Ctrl-C reaches the whole process group; the parent alone decides, and asks the worker
    # to stop with SIGTERM, so the worker's clean-up (dropping its tables) is not cut short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        run_database(target, plan, lambda kind, payload: events.put((kind, payload)))
        events.put(("done", None))
    except Interrupted:
        events.put(("interrupted", None))
    except OrmbenchError as exc:
        events.put(("error", exc))
    except BaseException as exc:
        events.put(
            (
                "error",
                OrmbenchError(
                    _describe(exc, target), "this is a bug in ormbench; please report it"
                ),
            )
        )


def _drain(process: Any, events: Any, emit: Emit, target: Target) -> Any:
    """Pass events on until the worker ends; return the final (kind, payload)."""
    while True:
        try:
            kind, payload = events.get(timeout=0.5)
        except queue.Empty:
            if not process.is_alive():
                return "error", OrmbenchError(
                    f"the worker for {target.label} died (exit code {process.exitcode})",
                    "this is a bug in ormbench; please report it",
                )
            continue
        if kind in ("done", "error", "interrupted"):
            return kind, payload
        emit(kind, payload)


def run_in_worker(target: Target, plan: Plan, emit: Emit) -> None:
    """Run one database in a fresh process; re-raise its error here. Events reach `emit` as
    they happen, so cells finished before a failure are kept. On Ctrl-C the worker is asked
    to stop, drops its tables, and KeyboardInterrupt is raised here."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    process = context.Process(target=_worker, args=(target, plan, events), daemon=True)
    process.start()
    try:
        kind, payload = _drain(process, events, emit, target)
    except KeyboardInterrupt:
        process.terminate()
        _drain(process, events, emit, target)
        raise
    finally:
        process.join(timeout=30)
        if process.is_alive():
            process.kill()
    if kind == "error":
        raise payload
    if kind == "interrupted":
        raise KeyboardInterrupt
