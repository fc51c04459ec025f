"""The run loop. Per database: create the harness tables; per scenario (in a size sweep, per
size of it, smallest first): prepare (untimed), warm-up, timed rounds that interleave the
backends, then one untimed trace-and-verify pass per backend, and one untimed memory pass
(peak Python allocation under tracemalloc). Each database runs in a worker process of its own,
since Django's settings are per process; the worker streams results back as they complete, so
a failure keeps what finished."""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.spawn
import queue
import signal
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Table

from backends import Backend, load_backend
from backends.base import DOCUMENTED, EQUAL, IDIOMS
from harness.counters import (
    WorkCounter,
    flush_statistics,
    read_database_transactions,
)
from harness.database import HarnessDatabase, connect_error, tables_of
from harness.errors import ConnectionFailed, OrmbenchError, redact, setup_failed
from harness.instructions import InstructionCounter, valgrind_python
from harness.projection import measure_local_rtt
from harness.relay import Relay, Wire
from harness.result_shape import result_shape
from harness.stats import iqr, median, quartiles
from harness.targets import Target
from harness.trace import SQL_SAMPLE_LIMIT, Tracer
from harness.verdicts import DEFAULT_MARGIN
from reports.model import Cell, SqlSample, TraceCounts, Verification
from scenarios import REGISTRY, Capabilities, Outcome, Scenario, Work, load_user_scenario
from scenarios.schema import digest

FLOOR = "floor"  # the idiom of the raw DB-API floor's cells
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433}

Emit = Callable[[str, Any], None]


@dataclass(frozen=True)
class Plan:
    scenarios: tuple[str, ...]
    backends: tuple[str, ...]
    rows: int
    rounds: int
    warmup: int = 1
    seed: int = 42
    idioms: tuple[str, ...] = IDIOMS
    margin: float = DEFAULT_MARGIN  # percent: the practical-difference band of a verdict
    # Users' scenarios as "package.module:Class", imported in each worker before the run.
    user_scenarios: tuple[str, ...] = ()
    shard: str = ""  # "K/N": this run is the K-th of N slices of the database x scenario matrix
    memory: bool = False  # a peak-memory pass for every scenario, not only those that ask
    rtt: tuple[float, ...] = ()  # seconds: network distances to project the verdicts at
    # A size sweep (`--rows 100,1000,10000`): every size, smallest first, each scenario run at
    # each in turn; `rows` is then the smallest. Empty for a run of one size (`rows`).
    sizes: tuple[int, ...] = ()
    # What is measured (harness.instructions.MEASURES): time always; "instructions" adds a
    # counting pass per database under callgrind, its counts put beside the times.
    measure: tuple[str, ...] = ("time",)
    # This worker is that counting pass: each operation is counted, not timed.
    counting: bool = False

    def row_sizes(self) -> tuple[int, ...]:
        return self.sizes or (self.rows,)

    def scenario_classes(self) -> list[type[Scenario]]:
        for spec in self.user_scenarios:
            load_user_scenario(spec)
        return [REGISTRY[name] for name in self.scenarios]


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


def timed_call(
    backend: Backend, scenario: Scenario, argument: Any, idiom: str = DOCUMENTED
) -> tuple[float, float, Any]:
    """Seconds of wall time for one run of the operation, the CPU seconds this thread spent
    around it, and what it returned. Same handling for every backend: a fresh round
    (untimed), a full collection before, no collector inside the timed region, nothing between
    the two clock reads but the operation.

    The CPU clock is read outside the wall-clock pair (before the first read, after the
    second), so it adds nothing to the timed region; it spans the same work plus two
    perf_counter calls. It is this thread's clock (`thread_time`), not the process's
    (`process_time`): every driver here runs the operation on the calling thread, and the
    process's other threads (the watchdog, the event queue's feeder thread sending an
    earlier cell to the parent) would otherwise add their CPU to the round."""
    call = backend.runner(scenario, idiom)
    open_round(backend)
    try:
        cpu_start = time.thread_time()
        start = time.perf_counter()
        result = call(argument)
        elapsed = time.perf_counter() - start
        cpu = time.thread_time() - cpu_start
    finally:
        close_round(backend)
    return elapsed, cpu, result


def counted_call(
    backend: Backend,
    scenario: Scenario,
    argument: Any,
    idiom: str,
    counter: InstructionCounter,
) -> tuple[int, Any]:
    """The instructions one run of the operation executed, and what it returned: the round
    handled as `timed_call` handles it, the counter's start and stop where the clock reads
    are."""
    call = backend.runner(scenario, idiom)
    open_round(backend)
    try:
        counter.start()
        result = call(argument)
        count = counter.stop()
    finally:
        close_round(backend)
    return count, result


def timed_run(
    backend: Backend, scenario: Scenario, argument: Any, idiom: str = DOCUMENTED
) -> float:
    return timed_call(backend, scenario, argument, idiom)[0]


def williams_orders(count: int) -> list[list[int]]:
    """A Williams design: orders of `count` units in which every unit immediately precedes
    every other equally often (once per design), and each position holds each unit equally
    often. `count` orders when it is even, twice as many when odd (the mirror images added)."""
    first, low, high = [0], 1, count - 1
    while len(first) < count:
        first.append(low)
        low += 1
        if len(first) < count:
            first.append(high)
            high -= 1
    orders = [[(unit + shift) % count for unit in first] for shift in range(count)]
    if count % 2:
        orders += [list(reversed(order)) for order in orders]
    return orders


def interleaved_order(names: list[Any], round_index: int) -> list[Any]:
    """Round `round_index`'s order of the units: the rows of a Williams design in turn, so
    that over each full design every unit runs right after every other equally often and in
    every position equally often (drift and carry-over hit all alike)."""
    if len(names) < 2:
        return list(names)
    orders = williams_orders(len(names))
    return [names[i] for i in orders[round_index % len(orders)]]


# --- one scenario -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One timed implementation: a backend's idiom with code of its own."""

    backend: str
    idiom: str  # DOCUMENTED, EQUAL or FLOOR

    @property
    def run_idiom(self) -> str:
        return EQUAL if self.idiom in (EQUAL, FLOOR) else DOCUMENTED


def plan_units(
    scenario: Scenario, backends: dict[str, Backend], idioms: tuple[str, ...]
) -> list[Unit]:
    """The implementations to time: every ORM idiom asked for that runs code of its own, and
    the floor once."""
    units = []
    for name, backend in backends.items():
        if unsupported_reason(scenario, backend) is not None:
            continue
        if backend.is_floor:
            units.append(Unit(name, FLOOR))
            continue
        for idiom in idioms:
            if idiom == DOCUMENTED or type(backend).has_own_idiom(type(scenario), idiom):
                units.append(Unit(name, idiom))
        if EQUAL in idioms and DOCUMENTED not in idioms and Unit(name, EQUAL) not in units:
            units.append(Unit(name, DOCUMENTED))  # equal work is the documented code here
    return units


def unsupported_reason(scenario: Scenario, backend: Backend) -> str | None:
    """Why `backend` does not run `scenario` here, or None."""
    if not type(backend).supports(type(scenario)):
        return f"{scenario.name} has no idiom for {backend.name}"
    return scenario.unsupported(backend.name, backend.target.family)


def _trace_counts(tracer: Tracer, operations: int) -> TraceCounts:
    tracer.settle()
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
        transactions=tracer.transactions,
        autocommit_statements=tracer.autocommit_statements,
        left_open=tracer.in_transaction,
        rows_written=dict(tracer.rows_written),
        select_rows=tracer.select_rows,
        narrowest_select=tracer.narrowest_select,
        update_columns={str(k): v for k, v in tracer.update_columns.items()},
        noop_transaction_calls=tracer.noop_transaction_calls,
    )


def open_relay(target: Target) -> Relay | None:
    """A started relay to the target's server for one trace pass, or None where the database
    is not reached over TCP (SQLite; a Unix socket)."""
    if target.family == "sqlite":
        return None
    host = target.url.host or "localhost"
    if host.startswith("/"):
        return None
    return Relay(host, target.url.port or DEFAULT_PORTS[target.family], target.family).start()


def no_wire_reason(target: Target) -> str:
    if target.family == "sqlite":
        return "embedded: no wire, the driver-level trace only"
    return "reached through a Unix socket: no relay"


def with_wire(counts: TraceCounts, wire: Wire) -> TraceCounts:
    note = ""
    if wire.encrypted:
        note = f"TLS on {wire.encrypted} connection(s): messages not parsed after the switch"
    return replace(
        counts,
        round_trips=wire.round_trips,
        bytes_sent=wire.bytes_sent,
        bytes_received=wire.bytes_received,
        messages_sent=None if wire.encrypted else wire.messages_sent,
        messages_received=None if wire.encrypted else wire.messages_received,
        wire_statements=None if wire.encrypted else wire.statements,
        wire_note=note,
    )


def backend_sessions(backend: Backend) -> int:
    return len(backend.on_each_connection(lambda _conn: None))


def database_transactions(
    backend: Backend,
    db: HarnessDatabase,
    others: tuple[Backend, ...] = (),
    flush_others: bool = True,
) -> dict[str, int] | None:
    """PostgreSQL's count of the database's transactions, every pending count flushed first;
    None where the server keeps none cheaply (harness.connection.read_database_transactions).
    Before the run (`flush_others`), every other session of the run flushes too: the
    harness's own and the timed backends', whose counts would otherwise reach the view during
    the traced run, up to a second late. Sessions outside the run (autovacuum) can still add
    to it."""
    family = backend.target.family
    if family != "postgresql":
        return None
    if flush_others:
        with harness_connections(db) as held:
            for conn in held:
                flush_statistics(family, conn)
        for other in others:
            other.on_each_connection(lambda conn: flush_statistics(family, conn))
    sessions = backend_sessions(backend)
    seen: list[Any] = []

    def flush_then_read(conn: Any) -> dict[str, int] | None:
        seen.append(conn)
        if not flush_statistics(family, conn):
            return None
        # The last session reads, once every session has flushed.
        return read_database_transactions(family, conn) if len(seen) == sessions else None

    readings = backend.on_each_connection(flush_then_read)
    return readings[-1] if readings else None


@contextmanager
def harness_connections(db: HarnessDatabase) -> Iterator[list[Any]]:
    """Every idle connection of the harness's own pool (at least one), bare, held together:
    each can then hand over its pending statistics (PostgreSQL) before a reading."""
    pool = db.engine.pool
    idle = pool.checkedin() if hasattr(pool, "checkedin") else 1
    held = [db.engine.raw_connection() for _ in range(max(1, idle))]
    try:
        yield [raw.driver_connection for raw in held]
    finally:
        for raw in held:
            raw.close()


def work_counter(backend: Backend, db: HarnessDatabase) -> WorkCounter:
    """The database's count of `backend`'s work, read around each of its runs
    (harness.counters): its sessions' counters, or on PostgreSQL the harness tables'."""
    return WorkCounter(
        backend.target.family,
        backend.on_each_connection,
        lambda: harness_connections(db),
        [table.name for table in db.tables],
    )


@dataclass
class RoundCheck:
    """What one run did, read untimed after it: the outcome, and the database's own count of
    the transactions that wrote (None where the database gives none cheaply)."""

    outcome: Outcome
    write_transactions: int | None = None
    # The database's own count of the run's reads and writes (harness.counters), moved
    statements: dict[str, int] | None = None


def check_run(
    scenario: Scenario,
    work: Work,
    backend: Backend,
    result: Any,
    db: HarnessDatabase,
    counter_before: int | None,
) -> RoundCheck:
    """Verify one run, untimed: what the operation returned (read with statements forbidden,
    so objects that were not fully loaded fail here), and the table state."""
    table = scenario.checked_table
    write_transactions = db.write_transactions(counter_before, scenario.writes_every_row, table)
    returned = None
    if work.expected_result is not None or (work.returns_created and result is not None):
        if result is None:
            return RoundCheck(Outcome("failed", "the operation returned nothing"))
        try:
            with backend.statements_forbidden():
                returned = scenario.returned(result)
        except Exception as exc:  # DetachedInstanceError, StatementWhileVerifying, ...
            reason = (
                "reading the returned objects needed the database: they were not fully "
                f"loaded ({type(exc).__name__})"
            )
            return RoundCheck(Outcome("failed", reason), write_transactions)
    if (work.returns_created and returned is not None) or work.kept_rows:
        # One read of the table serves both checks: the rows with ids, and their digest.
        created = db.table_rows_with_ids(table)
        state = digest(row[1:] for row in created)
    else:
        created, state = None, db.table_digest(table)
    return RoundCheck(scenario.verify(work, state, returned, created), write_transactions)


def trace_unit(
    target: Target,
    backend_cls: type[Backend],
    unit: Unit,
    scenario: Scenario,
    db: HarnessDatabase,
    capabilities: Capabilities,
    others: tuple[Backend, ...] = (),
) -> tuple[TraceCounts | None, Outcome, RoundCheck | None]:
    """Run the operation once more, untimed, on a traced connection; check the work, and for
    an equal-work cell or the floor, hold the trace to the scenario's work contract.
    `others`: the run's other open backends, whose sessions' pending statistics are flushed
    before the server's counters are read (PostgreSQL)."""
    tracer = Tracer()
    relay = open_relay(target)
    try:
        # The harness's own steps fail here too when the server goes away: an error cell,
        # like the backend's, not a crash of the worker.
        work = scenario.prepare(db)
        traced_target = target.via_relay(relay.address) if relay is not None else target
        backend = backend_cls(traced_target, tracer)
    except Exception as exc:
        if relay is not None:
            relay.close()
        return None, Outcome("error", _describe(exc, target)), None
    try:
        # Outside the transaction readings, whose own statements touch no harness table.
        counter = work_counter(backend, db)
        before = counter.before()
        transactions_before = database_transactions(backend, db, others)
        backend.begin_round()
        tracer.reset()  # count the operation, not the connection's set-up
        file_counter = db.write_counter()
        wire_before = relay.snapshot() if relay is not None else None
        result = scenario.run(backend, work.argument, unit.run_idiom)
        counts = _trace_counts(tracer, scenario.operations())
        if relay is not None and wire_before is not None:
            relay.quiet()
            counts = with_wire(counts, relay.snapshot() - wire_before)
        else:
            counts = replace(counts, wire_note=no_wire_reason(target))
        backend.end_round()
        server: dict[str, int] | None = None
        if transactions_before is not None:
            after = database_transactions(backend, db, flush_others=False)
            server = {
                name: value - transactions_before[name] for name, value in (after or {}).items()
            }
            # The reads' own transactions: one flush per backend session, one reading statement.
            server["xact_commit"] -= backend_sessions(backend) + 1
        moved = counter.moved(before)
        if moved is not None:
            server = {**moved, **(server or {})}
        counts = replace(counts, server_counters=server)
        during = tracer.statements + tracer.transaction_control
        check = check_run(scenario, work, backend, result, db, file_counter)
        shape = result_shape(result)
        if shape is not None:
            counts = replace(counts, result_objects=shape.objects, result_rows=shape.rows)
        check.statements = moved
        sent_while_reading = tracer.statements + tracer.transaction_control - during
        counts = replace(
            counts,
            verification_statements=sent_while_reading,
            write_transactions=check.write_transactions,
        )
    except Exception as exc:  # a backend that breaks is reported, not fatal to the run
        return None, Outcome("error", _describe(exc, target)), None
    finally:
        with suppress(Exception):  # closing a dead connection must not hide the real error
            backend.close()
        if relay is not None:
            relay.close()
    outcome = check.outcome
    if outcome.status == "passed" and unit.idiom in (EQUAL, FLOOR):
        contract = scenario.contract(capabilities)
        breaches = contract.breaches(counts, capabilities.family)
        if contract.returns_objects and result is None:
            breaches.append("returned no objects")
        expected = contract.write_transactions
        if expected is not None and check.write_transactions not in (None, expected):
            breaches.append(
                f"the database counted {check.write_transactions} writing transactions, "
                f"the contract has {expected}"
            )
        if breaches:
            outcome = Outcome("failed", "breaks the work contract: " + "; ".join(breaches))
    return counts, outcome, check


def measure_peak_memory(
    backend: Backend,
    unit: Unit,
    scenario: Scenario,
    db: HarnessDatabase,
    work: Work | None = None,
) -> int | None:
    """Peak Python allocation, in bytes, of one more run of the operation: untimed, after the
    timed rounds and the trace pass, on fresh state (`scenario.prepare`; a read scenario's
    `work`, prepared once for every backend, where given) and in a fresh round of the
    backend's own (warmed) instance, so that one-time set-up such as statement caches is not
    counted. `tracemalloc` traces the operation alone, with the garbage collector on, as in
    a program (the timed rounds turn it off only for steady timings), after a full collection.
    None when the run raises or does not pass the round's checks: a figure only for a run that
    did the work. Python's allocator only: a driver's C buffers do not show here."""
    try:
        if work is None or scenario.destructive:
            work = scenario.prepare(db)
        backend.begin_round()
        gc.collect()
        tracemalloc.start()
        try:
            result = scenario.run(backend, work.argument, unit.run_idiom)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            backend.end_round()
        check = check_run(scenario, work, backend, result, db, None)
    except Exception:  # the timed rounds and the trace pass report a backend that breaks
        return None
    return peak if check.outcome.status == "passed" else None


def trace_and_verify(
    target: Target, backend_cls: type[Backend], scenario: Scenario, db: HarnessDatabase
) -> tuple[TraceCounts | None, Outcome]:
    """The trace-and-verify pass of a backend's documented idiom (the floor's one idiom)."""
    unit = Unit(backend_cls.name, FLOOR if backend_cls.is_floor else DOCUMENTED)
    trace, outcome, _check = trace_unit(target, backend_cls, unit, scenario, db, db.capabilities())
    return trace, outcome


# SQLite's page count moves by a few pages with the file's free-list state alone (a page freed
# by the previous round's reset is reused or not): a read skipped or served from memory moves it
# by a page or more per row it did not read, well beyond this.
COUNT_SLACK = {"pages read": 3}


def same_counts(moved: dict[str, int], traced: dict[str, int]) -> bool:
    """Did a round move the database's counters as the traced run did (within COUNT_SLACK)?"""
    return not count_differences(moved, traced)


def count_differences(moved: dict[str, int], traced: dict[str, int]) -> str:
    """The counters a round moved otherwise than the traced run: "name N (traced: M)"."""
    names = sorted(set(moved) | set(traced))
    return ", ".join(
        f"{name} {moved.get(name, 0)} (traced: {traced.get(name, 0)})"
        for name in names
        if abs(moved.get(name, 0) - traced.get(name, 0)) > COUNT_SLACK.get(name, 0)
    )


def _describe(exc: BaseException, target: Target) -> str:
    return redact(f"{type(exc).__name__}: {' '.join(str(exc).split())}", target)[:400]


def settle_sqlite_file(
    target: Target,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    units: list[Unit],
) -> None:
    """On SQLite, before the first round of a scenario that writes: one untimed, unchecked run
    of its first implementation (the floor where there is one), whose rows the next round's
    fresh state frees again. SQLite counts the pages a connection reads (harness.counters),
    and writing into a file that never freed pages reads fewer (no free-list page to take
    them from): without this the first round alone would count otherwise than every later
    one and the traced run."""
    if target.family != "sqlite" or not scenario.destructive or not units:
        return
    unit = next((u for u in units if u.idiom == FLOOR), units[0])
    backend = backends[unit.backend]
    work = scenario.prepare(db)
    open_round(backend)
    try:
        scenario.run(backend, work.argument, unit.run_idiom)
    except Exception:  # the rounds report a backend that breaks
        pass
    finally:
        close_round(backend)


def run_scenario(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    emit: Emit,
) -> list[Cell]:
    """Warm-up and timed rounds over every unit, interleaved; after every run, untimed, the
    returned rows, the table and the database's count of writing transactions are checked.
    A unit that fails a check or raises stops being timed; the others go on."""
    capabilities = db.capabilities()
    units = plan_units(scenario, backends, plan.idioms)
    timings: dict[Unit, list[float]] = {u: [] for u in units}
    cpu_times: dict[Unit, list[float]] = {u: [] for u in units}
    counts: dict[Unit, list[int]] = {u: [] for u in units}
    instruction_counter = InstructionCounter() if plan.counting else None
    broken: dict[Unit, Outcome] = {}
    seen_writes: dict[Unit, set[int]] = {u: set() for u in units}
    seen_statements: dict[Unit, list[tuple[int, dict[str, int]]]] = {u: [] for u in units}
    checked: dict[Unit, int] = {u: 0 for u in units}
    error: str | None = None
    total = plan.warmup + plan.rounds
    counters = {name: work_counter(backend, db) for name, backend in backends.items()}
    try:
        for counter in counters.values():
            counter.settle()  # what earlier passes left pending must not reach a round's count
        settle_sqlite_file(target, scenario, db, backends, units)
        work = None if scenario.destructive else scenario.prepare(db)
        for index in range(total):
            for unit in interleaved_order(units, index):
                if unit in broken:
                    continue
                if scenario.destructive:
                    work = scenario.prepare(db)
                backend = backends[unit.backend]
                file_counter = db.write_counter()
                work_count = counters[unit.backend]
                try:
                    # The database's count of the round's reads and writes, read around it
                    # untimed (harness.counters).
                    before = work_count.before()
                    if instruction_counter is not None:
                        elapsed = cpu = 0.0  # a counting pass runs under valgrind: not timed
                        count, result = counted_call(
                            backend,
                            scenario,
                            work.argument,
                            unit.run_idiom,
                            instruction_counter,
                        )
                    else:
                        count = 0
                        elapsed, cpu, result = timed_call(
                            backend, scenario, work.argument, unit.run_idiom
                        )
                    moved = work_count.moved(before)
                except Exception as exc:  # this backend broke: its cells say why, others go on
                    broken[unit] = Outcome("error", _describe(exc, target))
                    work_count.settle()
                    continue
                check = check_run(scenario, work, backend, result, db, file_counter)
                if moved is not None:
                    seen_statements[unit].append((index + 1, moved))
                if check.outcome.status != "passed":
                    broken[unit] = Outcome(
                        check.outcome.status, f"round {index + 1}: {check.outcome.reason}"
                    )
                    continue
                checked[unit] += 1
                if check.write_transactions is not None:
                    seen_writes[unit].add(check.write_transactions)
                if index >= plan.warmup:
                    timings[unit].append(elapsed)
                    cpu_times[unit].append(cpu)
                    if instruction_counter is not None:
                        counts[unit].append(count)
            # A counting pass says so once per scenario: the event queue's thread sending a
            # progress line while the next round's first operation runs would take the
            # interpreter lock from it at moments the clock decides, and its count would move.
            if not plan.counting or index + 1 == total:
                emit("progress", (scenario.name, index + 1, total))
    except Exception as exc:
        error = _describe(exc, target)
    traced: dict[Unit, tuple[TraceCounts | None, Outcome]] = {}
    for unit in units:
        if error is not None:
            traced[unit] = (None, Outcome("error", error))
            continue
        trace, outcome, check = trace_unit(
            target,
            type(backends[unit.backend]),
            unit,
            scenario,
            db,
            capabilities,
            tuple(backends.values()),
        )
        if unit in broken:
            outcome = broken[unit]
        elif outcome.status == "passed" and check is not None:
            # Every timed round must have done the work the traced run did.
            traced_writes = check.write_transactions
            odd = {w for w in seen_writes[unit] if w != traced_writes}
            if traced_writes is not None and odd:
                outcome = Outcome(
                    "failed",
                    f"timed rounds did other work than the traced run: the database counted "
                    f"{sorted(odd)[0]} writing transactions in a timed round, "
                    f"{traced_writes} in the traced one",
                )
            traced_counts = check.statements
            for round_number, moved in seen_statements[unit]:
                if traced_counts is not None and not same_counts(moved, traced_counts):
                    outcome = Outcome(
                        "failed",
                        f"timed round {round_number} did other work than the traced run: the "
                        f"database counted {count_differences(moved, traced_counts)}",
                    )
                    break
        traced[unit] = (trace, outcome)
    # After every timed round and trace pass: the memory figures never share a round with a
    # clock read, and tracemalloc's own cost never reaches a timing.
    wanted = (plan.memory or scenario.measures_memory) and not plan.counting
    measured = [u for u in units if wanted and error is None and traced[u][1].status == "passed"]
    peaks: dict[Unit, int | None] = dict.fromkeys(units)
    if measured:
        try:
            # A read leaves the table as it found it (checked after each run): load it once.
            shared = None if scenario.destructive else scenario.prepare(db)
        except Exception:  # the database went away: the cells already say so, or will
            measured = []
        for unit in measured:
            peaks[unit] = measure_peak_memory(backends[unit.backend], unit, scenario, db, shared)
    contract_text = scenario.contract(capabilities).describe() if error is None else ""
    cells = []
    for name, backend in backends.items():
        cell_idioms = (FLOOR,) if backend.is_floor else plan.idioms
        reason = unsupported_reason(scenario, backend)
        for idiom in cell_idioms:
            if reason is not None:
                cells.append(
                    _not_run_cell(target, plan, scenario, name, reason, idiom, "unsupported")
                )
                continue
            unit = Unit(name, idiom)
            same = None
            if unit not in timings:
                unit, same = Unit(name, DOCUMENTED), DOCUMENTED
            rounds = timings[unit]
            trace, outcome = traced[unit]
            if same is not None and outcome.status == "passed" and trace is not None:
                # The documented code, held to the contract now that it stands for equal work.
                breaches = scenario.contract(capabilities).breaches(trace, capabilities.family)
                if breaches:
                    outcome = Outcome("failed", "breaks the work contract: " + "; ".join(breaches))
            held = idiom in (EQUAL, FLOOR)
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
                    verification=Verification(
                        outcome.status,
                        outcome.reason,
                        rounds_checked=checked[unit],
                        contract=contract_text if held else "",
                    ),
                    idiom=idiom,
                    same_code_as=same,
                    idiom_doc=type(backend).idiom_doc(type(scenario), unit.run_idiom),
                    peak_alloc_bytes=peaks[unit],
                    cpu_rounds_s=cpu_times[unit],
                    instructions_rounds=counts[unit],
                )
            )
    return mark_faster_than_floor(cells)


def mark_faster_than_floor(cells: list[Cell]) -> list[Cell]:
    """An equal-work cell measurably faster than the floor, which does the same contracted
    work with hand-written SQL on the same driver, is physically suspect: its cell says so
    (its third quartile below the floor's first). Every one of its rounds was held to the
    database's count of the traced run's reads and writes, so a cell that did less work
    when timed has failed already; one that passed is left to the reader, with the note."""
    floor = next((c for c in cells if c.idiom == FLOOR and c.verified and c.rounds_s), None)
    if floor is None:
        return cells
    floor_low = quartiles(floor.rounds_s)[0]
    marked = []
    for cell in cells:
        if cell.idiom == EQUAL and cell.verified and cell.rounds_s:
            high = quartiles(cell.rounds_s)[1]
            if high < floor_low and cell.median_s and floor.median_s:
                counted = cell.trace is not None and cell.trace.server_counters is not None
                note = (
                    f"suspect: faster than the floor doing the same contracted work "
                    f"({cell.median_s / floor.median_s:.2f}x its median; third quartile below "
                    "the floor's first); "
                    + (
                        "the database's count of every round matched the traced run"
                        if counted
                        else "the database here keeps no count to hold its rounds to"
                    )
                )
                cell = replace(cell, verification=replace(cell.verification, reason=note))
        marked.append(cell)
    return marked


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
                raise _backend_error(target, name, exc) from None
        yield opened
    finally:
        for backend in opened.values():
            with suppress(Exception):  # closing a dead connection must not hide the real error
                backend.close()


def _backend_error(target: Target, name: str, exc: BaseException) -> OrmbenchError:
    """A backend that could not open its connection(s): "cannot connect" only when a plain
    login fails now too; when it works, the backend's own set-up is what failed (Django's
    connection settings, a dialect's first look at the server, a plug-in's constructor)."""
    try:
        target.dbapi_connect().close()
    except OrmbenchError as probe:  # the login worked and the connection settings failed
        return probe
    except Exception:  # the driver's own error type varies by driver
        return connect_error(target, exc)
    return setup_failed(target, f"setting up the {name} backend's connection", exc)


def run_database(target: Target, plan: Plan, emit: Emit) -> None:
    """Run the plan on one database in this process, emitting "database" and "cell" events.

    When a scenario ends in an error, the harness asks the server whether it is still there;
    if not, the remaining scenarios are marked "not run" at once instead of each waiting for
    its own connect timeout, and ConnectionFailed ends this database. The harness tables are
    dropped in every case; when that is impossible (server gone) a "warning" event says what
    is left behind, without hiding the run's own error.
    """
    db = HarnessDatabase(target, tables_of(plan.scenario_classes()))
    watchdog: _Watchdog | None = None
    try:
        emit("database", db.database_info())
        # Before creating: should this process die even half-way through the creation, the
        # parent drops what carries this run id (the marker guards everyone else's tables).
        emit("tables", db.run_id)
        db.create_tables()
        # An embedded database cannot stop answering. A counting pass has no watchdog: a
        # thread that wakes every second would take the interpreter lock from the counted
        # operation at times the clock decides, and counts would no longer repeat.
        if target.family != "sqlite" and not plan.counting:
            watchdog = _Watchdog(target, emit)
            watchdog.start()
            inner = emit

            def emit(kind: str, payload: Any) -> None:
                if kind in ("progress", "cell"):
                    watchdog.saw_progress(payload[0] if kind == "progress" else payload.scenario)
                inner(kind, payload)

        with open_backends(target, plan.backends) as backends:
            emit("settings", read_connection_settings(target, backends))
            if target.family != "sqlite":  # an embedded database has no wire to measure
                emit("rtt", local_round_trip(target))
            # Each scenario at every size in turn, smallest first (one size: as given).
            runs = [(name, rows) for name in plan.scenarios for rows in plan.row_sizes()]
            for index, (name, rows) in enumerate(runs):
                scenario = REGISTRY[name](rows, plan.seed)
                cells = run_scenario(target, plan, scenario, db, backends, _sized(emit, plan, rows))
                del scenario  # its generated data: a sweep's largest size need not share memory
                for cell in cells:
                    emit("cell", cell)
                if all(c.verification.status != "error" for c in cells):
                    continue
                try:
                    db.ping()
                except ConnectionFailed as lost:
                    reason = f"not run: the database went away during {name}"
                    for later, later_rows in runs[index + 1 :]:
                        for backend_name, backend in backends.items():
                            for idiom in (FLOOR,) if backend.is_floor else plan.idioms:
                                emit(
                                    "cell",
                                    _not_run_cell(
                                        target,
                                        plan,
                                        REGISTRY[later](later_rows, plan.seed),
                                        backend_name,
                                        reason,
                                        idiom,
                                    ),
                                )
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


def local_round_trip(target: Target) -> float | None:
    """The local round-trip time for `--rtt` projections (harness.projection), on a raw
    connection of its own, untimed; None if it cannot be measured."""
    try:
        connection = target.dbapi_connect(autocommit=True)
    except Exception:  # the backends' own connections report a failing server
        return None
    try:
        return measure_local_rtt(connection)
    except Exception:
        return None
    finally:
        with suppress(Exception):
            connection.close()


def _sized(emit: Emit, plan: Plan, rows: int) -> Emit:
    """In a size sweep, progress names the size too ("get at 10,000 rows"); else `emit`."""
    if not plan.sizes:
        return emit

    def sized(kind: str, payload: Any) -> None:
        if kind == "progress":
            name, done, total = payload
            payload = (f"{name} at {rows:,} rows", done, total)
        emit(kind, payload)

    return sized


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


def read_connection_settings(target: Target, backends: dict[str, Backend]) -> dict[str, Any]:
    """Each backend's session settings, read back from its own connection (untimed)."""
    settings: dict[str, dict[str, str]] = {}
    for name, backend in backends.items():
        try:
            settings[name] = backend.connection_settings()
        except Exception as exc:  # a plug-in backend may not say; the report shows why
            settings[name] = {"unreadable": _describe(exc, target)}
    return settings


def _not_run_cell(
    target: Target,
    plan: Plan,
    scenario: Scenario,
    backend: str,
    why: str,
    idiom: str,
    status: str = "error",
) -> Cell:
    return Cell(
        database=target.label,
        scenario=scenario.name,
        backend=backend,
        rows=scenario.rows,
        operations=scenario.operations(),
        rounds_s=[],
        median_s=None,
        iqr_s=None,
        ops_per_s=None,
        rows_per_s=None,
        trace=None,
        verification=Verification(status, why),
        idiom=idiom,
    )


def _end_worker(
    process: Any, target: Target, tables: tuple[Table, ...], owned: list[str], emit: Emit
) -> None:
    """Wait for the worker to exit, killing it if it will not. A worker that exits normally
    has dropped its tables (or said why not); one that died or was killed has not, so its
    tables are dropped from here, after it is gone and holds no locks on them."""
    process.join(timeout=5)
    if process.is_alive():
        process.kill()
        process.join(timeout=5)
    if owned and process.exitcode != 0:
        _drop_for_dead_worker(target, tables, owned[0], emit)


def _drop_for_dead_worker(
    target: Target, tables: tuple[Table, ...], run_id: str, emit: Emit
) -> None:
    """Drop the tables of a worker that could not (marker-checked: only that run's)."""
    try:
        db = HarnessDatabase(target, tables)
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


def worker_main(
    run: Callable[[Target, Any, Emit], None], target: Target, plan: Any, events: Any
) -> None:
    """The body of a database's worker process: `run(target, plan, emit)` with its events put
    on `events`, ending in "done", "interrupted" or "error" (also for `harness.concurrency`)."""
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
        run(target, plan, lambda kind, payload: events.put((kind, payload)))
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


def _worker(target: Target, plan: Plan, events: Any) -> None:
    worker_main(run_database, target, plan, events)


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
    to stop, drops its tables, and KeyboardInterrupt is raised here. A counting pass
    (`plan.counting`) runs its worker under valgrind's callgrind (harness.instructions)."""
    tables = tables_of(plan.scenario_classes())
    if not plan.counting:
        run_worker(_worker, tables, target, plan, emit)
        return
    with valgrind_python() as executable:
        run_worker(_worker, tables, target, plan, emit, executable)


def run_worker(
    worker: Callable[[Target, Any, Any], None],
    tables: tuple[Table, ...],
    target: Target,
    plan: Any,
    emit: Emit,
    executable: str | None = None,
) -> None:
    """`worker(target, plan, events)` in a fresh process (see run_in_worker); `tables` are
    the ones it creates, dropped from here should it die before it can. `executable`: the
    program that starts the worker's Python (a launcher under valgrind), else this Python."""
    context = multiprocessing.get_context("spawn")
    events = context.Queue()
    process = context.Process(target=worker, args=(target, plan, events), daemon=True)
    if executable is None:
        process.start()
    else:
        # multiprocessing has one executable for the whole process: set it for this start.
        usual = multiprocessing.spawn.get_executable()
        context.set_executable(executable)
        try:
            process.start()
        finally:
            context.set_executable(usual)
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
        _end_worker(process, target, tables, owned, emit)
        raise
    _end_worker(process, target, tables, owned, emit)
    if kind == "error":
        raise payload
    if kind == "interrupted":
        raise KeyboardInterrupt
