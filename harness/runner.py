"""The run loop. Per database: create the harness tables; per scenario: prepare (untimed),
warm-up, timed rounds that interleave the backends, then one untimed trace-and-verify pass per
backend. Each database runs in a worker process of its own, since Django's settings are per
process; the worker streams results back as they complete, so a failure keeps what finished."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from backends import Backend, load_backend
from harness.database import HarnessDatabase, connect_error
from harness.errors import ConnectionFailed, OrmbenchError, redact
from harness.stats import iqr, median
from harness.targets import Target
from harness.trace import SQL_SAMPLE_LIMIT, Tracer
from reports.model import Cell, SqlSample, TraceCounts, Verification
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


def open_round(backend: Backend) -> None:
    """Untimed, before each timed operation: a fresh round, a full collection, no collector
    inside the timed region. Shared with the pytest-benchmark suite so both time alike."""
    backend.begin_round()
    gc.collect()
    gc.disable()


def close_round(backend: Backend) -> None:
    """Untimed, after each timed operation: the collector back on, the round released."""
    gc.enable()
    backend.end_round()


def timed_run(backend: Backend, scenario: Scenario, argument: Any) -> float:
    """Seconds for one run of the operation. Same handling for every backend: a fresh round
    (untimed), a full collection before, no collector inside the timed region."""
    open_round(backend)
    try:
        start = time.perf_counter()
        scenario.run(backend, argument)
        elapsed = time.perf_counter() - start
    finally:
        close_round(backend)
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
    try:
        # The harness's own steps fail here too when the server goes away: an error cell,
        # like the backend's, not a crash of the worker.
        work = scenario.prepare(db)
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
        table = db.table_digest()
    except Exception as exc:  # a backend that breaks is reported, not fatal to the run
        return None, Outcome("error", _describe(exc, target))
    finally:
        with suppress(Exception):  # closing a dead connection must not hide the real error
            backend.close()
    return counts, scenario.verify(work, table, returned)


def _describe(exc: BaseException, target: Target) -> str:
    return redact(f"{type(exc).__name__}: {' '.join(str(exc).split())}", target)[:400]


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
                backend = load_backend(name)(target)
                # Cells carry the backend's own name, so a plug-in ("module:Class") that
                # stands in for an ORM is judged in that ORM's place.
                opened[backend.name] = backend
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
    """Run the plan on one database in this process, emitting "database" and "cell" events.

    When a scenario ends in an error, the harness asks the server whether it is still there;
    if not, the remaining scenarios are marked "not run" at once instead of each waiting for
    its own connect timeout, and ConnectionFailed ends this database. The harness tables are
    dropped in every case; when that is impossible (server gone) a "warning" event says what
    is left behind, without hiding the run's own error.
    """
    db = HarnessDatabase(target)
    watchdog: _Watchdog | None = None
    try:
        emit("database", db.database_info())
        # Before creating: should this process die even half-way through the creation, the
        # parent drops what carries this run id (the marker guards everyone else's tables).
        emit("tables", db.run_id)
        db.create_tables()
        if target.family != "sqlite":  # an embedded database cannot stop answering
            watchdog = _Watchdog(target, emit)
            watchdog.start()
            inner = emit

            def emit(kind: str, payload: Any) -> None:
                if kind in ("progress", "cell"):
                    watchdog.saw_progress(payload[0] if kind == "progress" else payload.scenario)
                inner(kind, payload)

        with open_backends(target, plan.backends) as backends:
            for index, name in enumerate(plan.scenarios):
                scenario = REGISTRY[name](plan.rows, plan.seed)
                cells = run_scenario(target, plan, scenario, db, backends, emit)
                for cell in cells:
                    emit("cell", cell)
                if all(c.verification.status != "error" for c in cells):
                    continue
                try:
                    db.ping()
                except ConnectionFailed as lost:
                    reason = f"not run: the database went away during {name}"
                    for later in plan.scenarios[index + 1 :]:
                        for backend in backends:
                            emit("cell", _not_run_cell(target, plan, later, backend, reason))
                    raise ConnectionFailed(
                        f"lost the database during {name}: {lost.message}", lost.hint
                    ) from None
    finally:
        if watchdog is not None:
            watchdog.stopped.set()
        # The parent's SIGTERM (Ctrl-C) must not cut the clean-up short.
        with suppress(ValueError):  # not the main thread: no signal to hold off
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            left_behind = db.drop_tables_or_explain()
            if left_behind:
                emit("warning", left_behind)
        finally:
            db.close()


class _Watchdog(threading.Thread):
    """Ends the wait on a server that stopped answering (frozen, or its host gone without a
    word), which no driver option catches everywhere: a statement then blocks forever.

    Only after `quiet_for` seconds without progress does it try a fresh connection; a server
    that accepts one is alive and the work merely slow. If none is possible it reports the
    database lost, and the parent ends this worker and writes what completed.
    """

    def __init__(self, target: Target, emit: Emit) -> None:
        super().__init__(daemon=True, name="ormbench-watchdog")
        self.target = target
        self.emit = emit
        self.quiet_for = max(5.0, 3 * target.connect_timeout)
        self.last_progress = time.monotonic()
        self.stopped = threading.Event()
        self.scenario = ""

    def saw_progress(self, scenario: str) -> None:
        self.scenario = scenario
        self.last_progress = time.monotonic()

    def run(self) -> None:
        while not self.stopped.wait(1.0):
            if time.monotonic() - self.last_progress < self.quiet_for:
                continue
            try:
                self.target.dbapi_connect().close()
            except Exception as exc:  # the driver's own error type varies by driver
                if time.monotonic() - self.last_progress < 2 * self.quiet_for:
                    continue  # one failed attempt may be a blip; keep trying for a while
                lost = connect_error(self.target, exc)
                self.emit(
                    "error",
                    ConnectionFailed(
                        f"the database stopped answering during {self.scenario or 'the run'} "
                        f"(nothing for {time.monotonic() - self.last_progress:.0f} s): "
                        f"{lost.message}",
                        lost.hint,
                    ),
                )
                return
            self.last_progress = time.monotonic()  # it answers: the work is only slow


def _not_run_cell(target: Target, plan: Plan, scenario_name: str, backend: str, why: str) -> Cell:
    scenario = REGISTRY[scenario_name](plan.rows, plan.seed)
    return Cell(
        database=target.label,
        scenario=scenario_name,
        backend=backend,
        rows=scenario.rows,
        operations=scenario.operations(),
        rounds_s=[],
        median_s=None,
        iqr_s=None,
        ops_per_s=None,
        rows_per_s=None,
        trace=None,
        verification=Verification("error", why),
    )


def _end_worker(process: Any, target: Target, owned: list[str], emit: Emit) -> None:
    """Wait for the worker to exit, killing it if it will not. A worker that exits normally
    has dropped its tables (or said why not); one that died or was killed has not, so its
    tables are dropped from here, after it is gone and holds no locks on them."""
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    if owned and process.exitcode != 0:
        _drop_for_dead_worker(target, owned[0], emit)


def _drop_for_dead_worker(target: Target, run_id: str, emit: Emit) -> None:
    """Drop the tables of a worker that could not (marker-checked: only that run's)."""
    try:
        db = HarnessDatabase(target)
    except OrmbenchError as exc:
        emit("warning", f"could not drop the harness tables ({exc.message})")
        return
    try:
        db.adopt(run_id)
        if left_behind := db.drop_tables_or_explain():
            emit("warning", left_behind)
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
    # A connection abandoned by an interrupt or a dead server fails its reset when the
    # collector finalises it, and SQLAlchemy's pool logs that with a traceback on stderr.
    # The cause already reaches the user as the cell's or the database's error line.
    pool_log = logging.getLogger("sqlalchemy.pool")
    pool_log.addHandler(logging.NullHandler())
    pool_log.propagate = False
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


def _drain(
    process: Any, events: Any, emit: Emit, target: Target, deadline: float | None = None
) -> Any:
    """Pass events on until the worker ends; return the final (kind, payload). Past
    `deadline` (time.monotonic()), raise queue.Empty."""
    while True:
        try:
            kind, payload = events.get(timeout=0.5)
        except queue.Empty:
            if deadline is not None and time.monotonic() > deadline:
                raise
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
    owned: list[str] = []  # the run id of tables the worker created, until it drops them

    def watch(kind: str, payload: Any) -> None:
        if kind == "tables":
            owned.append(payload)
        else:
            emit(kind, payload)

    try:
        kind, payload = _drain(process, events, watch, target)
    except KeyboardInterrupt:
        process.terminate()
        # Dropping the tables takes a moment; a worker stuck on a dead server gets as long
        # as one connection attempt and a little more, then is killed.
        grace = target.connect_timeout + 15
        with suppress(queue.Empty):
            _drain(process, events, watch, target, deadline=time.monotonic() + grace)
        _end_worker(process, target, owned, emit)
        raise
    _end_worker(process, target, owned, emit)
    if kind == "error":
        raise payload
    if kind == "interrupted":
        raise KeyboardInterrupt
