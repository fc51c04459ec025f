"""`ormbench concurrency`: how each backend behaves when k threads work on one database at once.

What runs. For each database (in a worker process of its own: Django's settings are per
process), each thread count k and each backend: k threads, each with its own connection handle,
run a mixed workload on the item table (scenarios.concurrency: by default 80% primary-key reads,
20% writes that lock, load and update one row in their own transaction) for a fixed duration or
a fixed number of operations per thread. Each thread draws its operations, keys and increments
from its own seeded RNG, so thread i sends the same sequence on every backend. A few untimed
operations per thread come first; then a barrier releases all threads at once and the clock
runs until the last thread's last operation.

Connections come from the connection policy, as in `ormbench run`: SQLAlchemy's Engine is built
by backends.sqlalchemy_orm.policy_engine on `Target.dbapi_connect` (`creator=`), Django's
settings come from `Target.django_database()` and each thread opens its connection through
backends.django_orm.DjangoOrm, the floor's through backends.dbapi.DbApi. What differs is each
backend's own way of giving threads connections, which is what this command measures:

- SQLAlchemy: one Engine shared by every thread, with its default QueuePool (pool_size 5,
  max_overflow 10: at most 15 connections; a sixteenth thread waits for one to come back, and
  overflow connections are closed when returned to a pool that already holds 5 idle ones). The
  pool is QueuePool itself with its checkouts observed (ObservedQueuePool): checkouts, those
  that found the pool at its limit and had to wait (and how long), connections opened and
  closed while the clock ran, the most checked out at once.
- Django: a persistent connection per thread (CONN_MAX_AGE=None), opened before the clock
  starts, counted through Django's `connection_created` signal (a reconnect while the clock
  runs would show), closed with `connection.close()` at the end of each thread.
- raw DB-API (the floor): one connection per thread, in autocommit.

SQLite. Writers lock the whole database. Every backend gets the same busy timeout (the policy's
5 s, `PRAGMA busy_timeout` read back), and nothing else is serialised for it: a write
transaction that has read and then finds another writer ahead of it fails at once with
"database is locked" (SQLite refuses to wait where waiting could deadlock). Such failures are
counted as lock errors, rolled back, and left out of the increments; the cell still verifies.

Verification (untimed, after each measurement): the table's quantities must equal the loaded
ones plus, row by row, the increments the threads reported as committed, and every read must
have returned the row it asked for; else the cell fails. Before the cells, each backend's read
and write is traced once on one thread (harness.wire.trace), so the report shows what each sends.

Why plain threads. The work is in-process DB-API and ORM calls, so a load-testing tool built
around HTTP users (locust, and its gevent monkey-patching, which psycopg and mysqlclient do not
cooperate with) adds nothing but a second event loop. `concurrent.futures.ThreadPoolExecutor`
runs the k threads and hands back their tallies or exceptions, and `threading.Barrier` starts
and stops the clock with every thread connected. Python threads share one interpreter lock:
an ORM's Python work does not run in parallel, only its waits on the database do, and the
figures include that (as a team's threaded server would).
"""

from __future__ import annotations

import gc
import math
import random
import signal
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.pool import QueuePool

from backends import load_backend
from harness.measuring.plan import interleaved_order
from harness.measuring.run import environment, package_version
from harness.measuring.watchdog import Watchdog
from harness.measuring.worker import run_worker, worker_main
from harness.targets.database import HarnessDatabase
from harness.targets.errors import INTERRUPTED_REASON, OrmbenchError, describe_error, driver_message
from harness.targets.urls import Target
from harness.wire.trace import Tracer
from reports.concurrency import (
    CONCURRENCY_SCHEMA_VERSION,
    BackendTrace,
    CellVerification,
    ConcurrencyCell,
    ConcurrencyResult,
    Connections,
    Latency,
    OperationTrace,
)
from reports.format import plural
from reports.model import DatabaseInfo
from scenarios.concurrency import WORKLOADS, Workload, key_of, label
from scenarios.data import make_rows
from scenarios.schema import ITEM_TABLE, item_table

DEFAULT_THREADS = (1, 4, 16)
DEFAULT_DURATION_S = 2.0
DEFAULT_ROWS = 1000
DEFAULT_WRITE_PERCENT = 20
WARMUP_OPERATIONS = 25  # per thread, untimed, before the clock starts
MAX_THREADS = 256
INCREMENTS = (1, 9)  # a write adds a random increment in this range
# How long a thread waits at a barrier for the others (connecting, warming up, finishing).
BARRIER_TIMEOUT_S = 300.0
STOPPED = "another thread could not run, or the run was interrupted"
# What drivers say when a transaction lost a lock conflict (SQLite, PostgreSQL, MySQL/MariaDB,
# SQL Server): counted as lock errors, the database's answer to contention.
LOCK_CONFLICTS = (
    "database is locked",
    "database table is locked",
    "deadlock",
    "lock wait timeout",
    "could not serialize",
    "could not obtain lock",
    "lock request time out",
)

Emit = Callable[[str, Any], None]
Progress = Callable[[str], None]


@dataclass(frozen=True)
class ConcurrencyPlan:
    threads: tuple[int, ...] = DEFAULT_THREADS
    backends: tuple[str, ...] = ("sqlalchemy", "django", "dbapi")
    duration_s: float | None = DEFAULT_DURATION_S  # per backend and k; None: `operations`
    operations: int | None = None  # per thread, instead of a duration
    rows: int = DEFAULT_ROWS
    write_percent: float = DEFAULT_WRITE_PERCENT
    seed: int = 42
    warmup: int = WARMUP_OPERATIONS


def lock_conflict(message: str) -> bool:
    lowered = message.lower()
    return any(words in lowered for words in LOCK_CONFLICTS)


def percentile(ordered: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not ordered:
        return None
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def latency(values: list[float]) -> Latency:
    ordered = sorted(values)
    return Latency(len(ordered), percentile(ordered, 0.50), percentile(ordered, 0.99))


# --- where the threads' connections come from ---------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """A connection source's counters at one moment."""

    opened: int = 0
    closed: int = 0
    checkouts: int = 0
    waits: int = 0
    wait_s: float = 0.0
    checkout_s: float = 0.0
    longest_wait_s: float = 0.0
    peak_in_use: int = 0


class PoolObserver:
    """Counts what a pool did; safe to call from every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = Counts()

    def _add(self, **changes: Any) -> None:
        with self._lock:
            now = self._counts
            self._counts = replace(now, **{k: getattr(now, k) + v for k, v in changes.items()})

    def opened(self) -> None:
        self._add(opened=1)

    def closed(self) -> None:
        self._add(closed=1)

    def checked_out(self, seconds: float, waited: bool, in_use: int) -> None:
        with self._lock:
            now = self._counts
            self._counts = replace(
                now,
                checkouts=now.checkouts + 1,
                waits=now.waits + waited,
                wait_s=now.wait_s + (seconds if waited else 0.0),
                checkout_s=now.checkout_s + seconds,
                longest_wait_s=max(now.longest_wait_s, seconds if waited else 0.0),
                peak_in_use=max(now.peak_in_use, in_use),
            )

    def snapshot(self, restart_peak_at: int | None = None) -> Counts:
        """The counts now; with `restart_peak_at`, the peak and the longest wait start over
        (from the connections in use now)."""
        with self._lock:
            counts = self._counts
            if restart_peak_at is not None:
                self._counts = replace(counts, peak_in_use=restart_peak_at, longest_wait_s=0.0)
            return counts


class ObservedQueuePool(QueuePool):
    """SQLAlchemy's default QueuePool, unchanged, with each checkout timed and classified:
    a checkout that finds no idle connection and the overflow used up waits in QueuePool for
    another thread to return one (its `_do_get`), and counts as a wait."""

    observer: PoolObserver | None = None

    def connect(self) -> Any:
        observer = self.observer
        if observer is None:
            return super().connect()
        limit = self._max_overflow  # QueuePool keeps it only here; -1 means no limit
        at_limit = limit >= 0 and self.checkedin() == 0 and self.overflow() >= limit
        start = time.perf_counter()
        connection = super().connect()
        observer.checked_out(time.perf_counter() - start, at_limit, self.checkedout())
        return connection


class ConnectionSource(ABC):
    """How one backend gives its threads connections, and what it counted doing so."""

    policy: str
    limit: int

    def __init__(self, target: Target, threads: int) -> None:
        self.target = target
        self.threads = threads

    @abstractmethod
    def open(self) -> Any:
        """The handle one thread passes to the backend's idioms (untimed, on that thread)."""

    @abstractmethod
    def release(self, handle: Any) -> None:
        """End of a thread (untimed, on that thread)."""

    @abstractmethod
    def counts(self, restart_peak: bool = False) -> Counts: ...

    def close(self) -> None:
        """After every thread has ended."""

    def figures(self, before: Counts, after: Counts) -> Connections:
        return Connections(
            policy=self.policy,
            limit=self.limit,
            opened_before=before.opened,
            opened_during=after.opened - before.opened,
            closed_during=after.closed - before.closed,
        )


class SharedPool(ConnectionSource):
    """SQLAlchemy: one Engine on the connection policy, shared by every thread, with its
    default QueuePool observed; the idioms take a Session per operation from it."""

    def __init__(self, target: Target, threads: int) -> None:
        from backends.sqlalchemy_orm import policy_engine

        super().__init__(target, threads)
        observer = self.observer = PoolObserver()

        def connect() -> Any:
            connection = target.dbapi_connect()
            observer.opened()
            return connection

        self.engine = policy_engine(target, connect, poolclass=ObservedQueuePool)
        pool = self.engine.pool
        assert isinstance(pool, ObservedQueuePool)
        pool.observer = observer
        event.listen(pool, "close", lambda *_: observer.closed())
        overflow = pool._max_overflow
        self.limit = pool.size() + overflow
        self.policy = (
            f"one Engine shared by the threads, its default QueuePool (pool_size {pool.size()}, "
            f"max_overflow {overflow}); a Session per operation"
        )

    def open(self) -> Any:
        return self  # the idioms read `.engine`

    def release(self, handle: Any) -> None:
        pass

    def counts(self, restart_peak: bool = False) -> Counts:
        pool = self.engine.pool
        in_use = pool.checkedout() if isinstance(pool, QueuePool) else 0
        return self.observer.snapshot(restart_peak_at=in_use if restart_peak else None)

    def close(self) -> None:
        self.engine.dispose()

    def figures(self, before: Counts, after: Counts) -> Connections:
        return replace(
            super().figures(before, after),
            checkouts=after.checkouts - before.checkouts,
            waits=after.waits - before.waits,
            wait_s=after.wait_s - before.wait_s,
            checkout_s=after.checkout_s - before.checkout_s,
            longest_wait_s=after.longest_wait_s,
            peak_in_use=after.peak_in_use,
        )


class PerThreadDjango(ConnectionSource):
    """Django: each thread's own persistent connection (CONN_MAX_AGE=None), opened before the
    clock starts and closed with `connection.close()` at the thread's end."""

    def __init__(self, target: Target, threads: int) -> None:
        from django.db.backends.signals import connection_created

        super().__init__(target, threads)
        self.policy = "a persistent connection per thread (CONN_MAX_AGE=None)"
        self.limit = threads
        self._lock = threading.Lock()
        self._opened = 0
        self._signal = connection_created
        self._uid = f"ormbench-concurrency-{id(self)}"
        connection_created.connect(self._created, weak=False, dispatch_uid=self._uid)

    def _created(self, sender: Any, **kwargs: Any) -> None:
        with self._lock:
            self._opened += 1

    def open(self) -> Any:
        from backends.django_orm import DjangoOrm

        return DjangoOrm(self.target)  # connects this thread's connection

    def release(self, handle: Any) -> None:
        handle.close()  # connection.close(), on this thread

    def counts(self, restart_peak: bool = False) -> Counts:
        with self._lock:
            return Counts(opened=self._opened)

    def close(self) -> None:
        self._signal.disconnect(dispatch_uid=self._uid)


class PerThreadDbApi(ConnectionSource):
    """The floor: one DB-API connection per thread, in autocommit."""

    def __init__(self, target: Target, threads: int) -> None:
        super().__init__(target, threads)
        self.policy = "one DB-API connection per thread (autocommit)"
        self.limit = threads
        self._lock = threading.Lock()
        self._opened = 0

    def open(self) -> Any:
        from backends.dbapi import DbApi

        db = DbApi(self.target)
        with self._lock:
            self._opened += 1
        return db

    def release(self, handle: Any) -> None:
        handle.close()

    def counts(self, restart_peak: bool = False) -> Counts:
        with self._lock:
            return Counts(opened=self._opened)


SOURCES: dict[str, type[ConnectionSource]] = {
    "sqlalchemy": SharedPool,
    "django": PerThreadDjango,
    "dbapi": PerThreadDbApi,
}


# --- one measurement: k threads on one backend --------------------------------------------------


@dataclass
class ThreadTally:
    """What one thread did."""

    read_s: list[float] = field(default_factory=list)  # timed reads that completed
    write_s: list[float] = field(default_factory=list)
    increments: Counter[int] = field(default_factory=Counter)  # id -> committed increments
    errors: Counter[str] = field(default_factory=Counter)  # while the clock ran
    lock_errors: int = 0
    warmup_errors: Counter[str] = field(default_factory=Counter)
    wrong_rows: int = 0  # reads that returned another row than the one asked for
    finished_at: float | None = None
    failure: str | None = None  # the thread could not run its share (connecting, ...)


class Measurement:
    """k threads of one backend, started together, each with its own RNG and connection
    handle; the tallies and the connection source's counts at the start and the end."""

    def __init__(
        self,
        target: Target,
        backend: str,
        threads: int,
        plan: ConcurrencyPlan,
        ids: list[int],
        stop: threading.Event,
    ) -> None:
        self.target = target
        self.backend = backend
        self.threads = threads
        self.plan = plan
        self.ids = ids
        self.stop = stop
        self.workload: Workload = WORKLOADS[backend]
        self.source = SOURCES[backend](target, threads)
        self.started = threading.Barrier(threads, self._start_clock, BARRIER_TIMEOUT_S)
        self.finished = threading.Barrier(threads, self._stop_clock, BARRIER_TIMEOUT_S)
        self.start = 0.0
        self.deadline = math.inf
        self.before = Counts()
        self.after = Counts()

    def _start_clock(self) -> None:
        # Runs once, on the last thread to arrive, while the others wait.
        gc.collect()
        self.before = self.source.counts(restart_peak=True)
        self.start = time.perf_counter()
        if self.plan.duration_s is not None:
            self.deadline = self.start + self.plan.duration_s

    def _stop_clock(self) -> None:
        self.after = self.source.counts()

    def run(self) -> list[ThreadTally]:
        try:
            with ThreadPoolExecutor(self.threads, f"ormbench-{self.backend}") as executor:
                futures = [executor.submit(self._thread, i) for i in range(self.threads)]
                try:
                    return [future.result() for future in futures]
                except BaseException:  # interrupted: let the threads end their operation
                    self.stop.set()
                    self.started.abort()
                    self.finished.abort()
                    raise
        finally:
            self.source.close()

    def _thread(self, index: int) -> ThreadTally:
        tally = ThreadTally()
        rng = random.Random(f"{self.plan.seed}:{index}")
        try:
            handle = self.source.open()
        except Exception as exc:  # the driver's own error type varies by driver
            tally.failure = f"a thread could not connect: {describe_error(exc, self.target)}"
            self.started.abort()
            return tally
        try:
            for _ in range(self.plan.warmup):
                self._operation(handle, rng, tally, timed=False)
            self.started.wait()
            if self.plan.operations is not None:
                for _ in range(self.plan.operations):
                    if self.stop.is_set():
                        break
                    self._operation(handle, rng, tally, timed=True)
            else:
                while time.perf_counter() < self.deadline and not self.stop.is_set():
                    self._operation(handle, rng, tally, timed=True)
            tally.finished_at = time.perf_counter()
            self.finished.wait()
        except threading.BrokenBarrierError:
            tally.failure = tally.failure or f"stopped: {STOPPED}"
        except Exception as exc:  # a bug in ormbench, not a failed operation
            tally.failure = f"a thread broke: {describe_error(exc, self.target)}"
            self.started.abort()
            self.finished.abort()
        finally:
            with suppress(Exception):  # a dead connection must not hide the real outcome
                self.source.release(handle)
        return tally

    def _operation(self, handle: Any, rng: random.Random, tally: ThreadTally, timed: bool) -> None:
        write = rng.random() * 100 < self.plan.write_percent
        pk = self.ids[rng.randrange(len(self.ids))]
        increment = rng.randint(*INCREMENTS) if write else 0
        start = time.perf_counter()
        try:
            if write:
                self.workload.write(handle, pk, increment)  # type: ignore[misc]
            else:
                result = self.workload.read(handle, pk)  # type: ignore[misc]
        except Exception as exc:  # the driver's own error type varies by driver
            message = driver_message(exc, self.target, limit=200)
            if not timed:
                tally.warmup_errors[message] += 1
                return
            tally.errors[message] += 1
            tally.lock_errors += lock_conflict(message)
            return
        elapsed = time.perf_counter() - start
        if write:
            tally.increments[pk] += increment
            if timed:
                tally.write_s.append(elapsed)
        else:
            if key_of(result) != pk:  # after the clock read: untimed
                tally.wrong_rows += 1
            if timed:
                tally.read_s.append(elapsed)


def verify(
    db: HarnessDatabase, initial: dict[int, int], tallies: list[ThreadTally]
) -> CellVerification:
    """The table against what the threads reported: each row's quantity is its loaded one
    plus the increments committed to it; every read returned its own row; no thread failed;
    no operation failed other than by losing a lock conflict."""
    failures = [t.failure for t in tallies if t.failure]
    if failures:  # the cause first, not the threads it stopped
        failures.sort(key=lambda why: why.startswith("stopped"))
        return CellVerification("error", failures[0])
    increments: Counter[int] = Counter()
    for tally in tallies:
        increments.update(tally.increments)
    with db.engine.connect() as conn:
        found = dict(conn.execute(text(f"SELECT id, quantity FROM {ITEM_TABLE}")).all())
    if len(found) != len(initial):
        return CellVerification(
            "failed", f"the table holds {len(found)} rows, {len(initial)} were loaded"
        )
    differ = [pk for pk, quantity in initial.items() if found.get(pk) != quantity + increments[pk]]
    if differ:
        pk = differ[0]
        return CellVerification(
            "failed",
            f"{len(differ)} rows hold other quantities than the increments reported: id {pk} "
            f"holds {found.get(pk)}, expected {initial[pk]} + {increments[pk]}",
        )
    wrong = sum(t.wrong_rows for t in tallies)
    if wrong:
        return CellVerification("failed", f"{wrong} reads returned another row than asked for")
    other: Counter[str] = Counter()
    for tally in tallies:
        other.update({m: n for m, n in tally.errors.items() if not lock_conflict(m)})
        other.update({m: n for m, n in tally.warmup_errors.items() if not lock_conflict(m)})
    if other:
        message, count = other.most_common(1)[0]
        total = sum(other.values())
        return CellVerification("error", f"{total} operations failed, e.g. {count}x: {message}")
    return CellVerification("passed")


def measure(
    target: Target,
    backend: str,
    threads: int,
    plan: ConcurrencyPlan,
    db: HarnessDatabase,
    stop: threading.Event,
) -> ConcurrencyCell:
    """Fresh rows (untimed), k threads on `backend`, then the verification."""
    rows = make_rows(plan.rows, plan.seed)
    db.reset()
    ids = db.load(rows)
    initial = {pk: row["quantity"] for pk, row in zip(ids, rows, strict=True)}
    try:
        measurement = Measurement(target, backend, threads, plan, ids, stop)
    except Exception as exc:  # e.g. the Engine cannot be built: the cell says why
        return _error_cell(target, backend, threads, describe_error(exc, target))
    tallies = measurement.run()
    verification = verify(db, initial, tallies)
    ends = [t.finished_at for t in tallies]
    wall = max(ends) - measurement.start if all(e is not None for e in ends) else None
    read_s = [s for t in tallies for s in t.read_s]
    write_s = [s for t in tallies for s in t.write_s]
    errors: Counter[str] = Counter()
    for tally in tallies:
        errors.update(tally.errors)
    operations = len(read_s) + len(write_s)
    return ConcurrencyCell(
        database=target.label,
        backend=backend,
        threads=threads,
        wall_s=wall,
        operations=operations,
        per_thread=[len(t.read_s) + len(t.write_s) for t in tallies],
        reads=len(read_s),
        writes=len(write_s),
        ops_per_s=operations / wall if wall else None,
        latency=latency(read_s + write_s),
        read_latency=latency(read_s),
        write_latency=latency(write_s),
        errors=dict(errors.most_common()),
        lock_errors=sum(t.lock_errors for t in tallies),
        increments=sum(sum(t.increments.values()) for t in tallies),
        connections=measurement.source.figures(measurement.before, measurement.after)
        if wall is not None
        else None,
        verification=verification,
    )


def _error_cell(target: Target, backend: str, threads: int, why: str) -> ConcurrencyCell:
    nothing = Latency(0, None, None)
    return ConcurrencyCell(
        database=target.label,
        backend=backend,
        threads=threads,
        wall_s=None,
        operations=0,
        per_thread=[],
        reads=0,
        writes=0,
        ops_per_s=None,
        latency=nothing,
        read_latency=nothing,
        write_latency=nothing,
        errors={},
        lock_errors=0,
        increments=0,
        connections=None,
        verification=CellVerification("error", why),
    )


# --- what each backend sends per operation (untimed, one thread) --------------------------------


@dataclass
class OperationTracer(Tracer):
    """harness.wire.trace's Tracer that also names the commit() and rollback() calls the driver
    sent (the Tracer counts them as transaction control without a name)."""

    ended_sent: Counter[str] = field(default_factory=Counter)

    def ended(self, call: str, sent: bool) -> None:
        super().ended(call, sent)
        if sent:
            self.ended_sent[call.upper()] += 1

    def operation(self) -> OperationTrace:
        return OperationTrace(
            dict(self.by_kind + self.ended_sent), self.statements + self.transaction_control
        )


def trace_backend(target: Target, backend: str, pk: int) -> tuple[BackendTrace, dict[str, str]]:
    """One read and one write through the backend's own instance on a traced connection,
    and its session settings read back."""
    workload = WORKLOADS[backend]
    tracer = OperationTracer()
    try:
        instance = load_backend(backend)(target, tracer)
    except Exception as exc:
        why = describe_error(exc, target)
        return BackendTrace(backend, None, None, why), {"unreadable": why}
    try:
        tracer.reset()
        workload.read(instance, pk)  # type: ignore[misc]
        read = tracer.operation()
        tracer.reset()
        workload.write(instance, pk, 1)  # type: ignore[misc]
        write = tracer.operation()
        settings = instance.connection_settings()
        return BackendTrace(backend, read, write), settings
    except Exception as exc:
        why = describe_error(exc, target)
        return BackendTrace(backend, None, None, why), {"unreadable": why}
    finally:
        with suppress(Exception):
            instance.close()
            if backend == "django":  # the traced instance leaves Django's connection open
                instance.connection.close()


# --- one database, in its own process -----------------------------------------------------------


def run_database(
    target: Target, plan: ConcurrencyPlan, emit: Emit, stop: threading.Event | None = None
) -> None:
    """Every thread count and backend on one database, in this process: "database", "traces",
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
        for backend in plan.backends:
            trace, settings[backend] = trace_backend(target, backend, first)
            traces.append(trace)
        emit("database", replace(info, connection_settings=settings))
        emit("traces", (target.label, traces))
        for index, threads in enumerate(plan.threads):
            for backend in interleaved_order(list(plan.backends), index):
                cell = measure(target, backend, threads, plan, db, stop)
                emit("cell", cell)
                if watchdog is not None:
                    watchdog.saw_progress(f"{backend} at {plural(threads, 'thread')}")
                rate = f"{cell.ops_per_s:,.0f} ops/s, " if cell.ops_per_s else ""
                emit(
                    "progress",
                    f"{target.label}: {plural(threads, 'thread')}, {backend}: {rate}"
                    f"{cell.verification.status}",
                )
                if cell.verification.status == "error":
                    db.ping()  # ConnectionFailed ends this database if the server is gone
    finally:
        if watchdog is not None:
            watchdog.stopped.set()
        with suppress(ValueError):  # not the main thread: no signal to hold off
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if left_behind := db.drop_tables_or_explain():
                emit("warning", left_behind)
        finally:
            db.close()


def _worker(target: Target, plan: ConcurrencyPlan, events: Any) -> None:
    worker_main(run_database, target, plan, events)


def run_in_worker(target: Target, plan: ConcurrencyPlan, emit: Emit) -> None:
    """One database in a fresh process; its error re-raised here, Ctrl-C as KeyboardInterrupt
    after the worker has dropped its table."""
    run_worker(_worker, (item_table,), target, plan, emit)


# --- the whole command --------------------------------------------------------------------------


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
            if not any(d.label == target.label for d in collected.databases):
                collected.databases.append(
                    DatabaseInfo(label=target.label, family=target.family, error=str(exc))
                )
            else:
                collected.note_error(str(exc))
            incomplete = incomplete or f"{target.label}: {exc.message}"
    if incomplete is None and any(c.verification.status == "error" for c in collected.cells):
        incomplete = "some cells ended in an error"
    return ConcurrencyResult(
        schema_version=CONCURRENCY_SCHEMA_VERSION,
        tool_version=package_version("ormbench") or "unknown",
        started_at=started.isoformat(timespec="seconds"),
        wall_s=time.perf_counter() - clock,
        complete=incomplete is None,
        incomplete_reason=incomplete,
        environment=environment(),
        plan=asdict(plan),
        workload={
            name: {"read": label(WORKLOADS[name].read), "write": label(WORKLOADS[name].write)}
            for name in plan.backends
        },
        databases=collected.databases,
        traces=collected.traces,
        cells=collected.cells,
    )


__all__ = [
    "ConcurrencyPlan",
    "ObservedQueuePool",
    "execute",
    "lock_conflict",
    "percentile",
    "run_database",
]
