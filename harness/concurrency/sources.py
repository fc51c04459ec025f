"""Where the threads' connections come from, per unit, and what that did.

A timed repetition gets each ORM's connections exactly as the ORM builds them, with nothing of
the harness attached: SQLAlchemy's QueuePool as `create_engine` makes it (creator: the
connection policy's `Target.dbapi_connect` itself), Django's own connection per thread. What
the pool did — checkouts, checkouts that waited at its limit, connections opened and closed,
the most in use at once — is counted in a separate, untimed pass of the same workload with the
pool observed (ObservedQueuePool): counting every checkout takes a lock and a copy, which
would be harness work inside every timed operation. `hooks()` says what of the harness is
attached to a source; a timed repetition checks it is nothing.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool, QueuePool

from harness.concurrency.plan import FLOOR, Unit
from harness.targets.urls import Target
from reports.concurrency import Connections
from scenarios.idioms import DOCUMENTED, EQUAL


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
    """Counts what a pool did; safe to call from every thread (untimed passes only)."""

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
    another thread to return one (its `_do_get`), and counts as a wait. Untimed passes only."""

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


def pool_listeners(pool: Pool) -> dict[str, int]:
    """Listeners on each of a pool's events (SQLAlchemy's own included)."""
    counts = {}
    for name in pool.dispatch._event_names:
        collection = getattr(pool.dispatch, name)
        counts[name] = len(getattr(collection, "listeners", ())) + len(collection.parent_listeners)
    return counts


class ConnectionSource(ABC):
    """How one unit gives its threads connections, and what it counted doing so."""

    policy: str
    limit: int

    def __init__(self, target: Target, threads: int, observed: bool = False) -> None:
        self.target = target
        self.threads = threads
        self.observed = observed

    @abstractmethod
    def open(self) -> Any:
        """The handle one thread passes to the idioms (untimed, on that thread)."""

    @abstractmethod
    def release(self, handle: Any) -> None:
        """End of a thread (untimed, after the clock stopped, on that thread)."""

    @abstractmethod
    def counts(self, restart_peak: bool = False) -> Counts:
        """The counts now; called only while the clock is not running."""

    def hooks(self) -> list[str]:
        """What of the harness is attached to the connections the threads use."""
        return []

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


class SharedPools(ConnectionSource):
    """SQLAlchemy: Engines on the connection policy, shared by every thread; the idioms take
    a Session per operation from them. As documented: one Engine with its default QueuePool
    (pool_size 5, max_overflow 10: a sixteenth thread waits). Equal work: a transactional
    Engine for the writes and an AUTOCOMMIT one for the reads (as `ormbench run`'s equal-work
    idioms have them), each QueuePool sized to the threads (pool_size k, max_overflow 0) and
    filled before the clock starts, so no thread waits for a connection and none is opened
    while the clock runs."""

    def __init__(self, target: Target, threads: int, idiom: str, observed: bool = False) -> None:
        super().__init__(target, threads, observed)
        self.idiom = idiom
        self.observer = PoolObserver() if observed else None
        sized = {} if idiom == DOCUMENTED else {"pool_size": threads, "max_overflow": 0}
        self.engine = self._engine(False, sized)
        engines = [self.engine]
        if idiom == EQUAL:
            self.autocommit_engine = self._engine(True, sized)
            engines.append(self.autocommit_engine)
        self.engines = engines
        if idiom == EQUAL:
            self._fill(engines, threads)
        pool = self.engine.pool
        assert isinstance(pool, QueuePool)
        size, overflow = pool.size(), pool._max_overflow  # QueuePool keeps it only here
        self.limit = (size + overflow) * len(engines)
        if idiom == DOCUMENTED:
            self.policy = (
                f"one Engine shared by the threads, its default QueuePool (pool_size {size}, "
                f"max_overflow {overflow}); a Session per operation"
            )
        else:
            self.policy = (
                f"two Engines shared by the threads (transactional for writes, AUTOCOMMIT for "
                f"reads), each QueuePool sized to the threads (pool_size {size}, max_overflow "
                f"{overflow}); a Session per operation"
            )

    def _engine(self, autocommit: bool, sized: dict[str, int]) -> Engine:
        from backends.sqlalchemy_orm import policy_engine

        observer = self.observer
        if observer is None:  # as a team builds it: nothing of the harness in the pool
            return policy_engine(self.target, self.target.dbapi_connect, autocommit, **sized)

        def connect() -> Any:
            connection = self.target.dbapi_connect()
            observer.opened()
            return connection

        engine = policy_engine(
            self.target, connect, autocommit, poolclass=ObservedQueuePool, **sized
        )
        pool = engine.pool
        assert isinstance(pool, ObservedQueuePool)
        pool.observer = observer
        event.listen(pool, "close", lambda *_: observer.closed())
        return engine

    @staticmethod
    def _fill(engines: list[Engine], threads: int) -> None:
        """Open every thread's connection before the clock starts, as Django's threads do:
        a QueuePool opens its connections only when that many are wanted at once, which a
        staggered warm-up need not reach."""
        for engine in engines:
            held = [engine.connect() for _ in range(threads)]
            for connection in held:
                connection.close()

    def open(self) -> Any:
        return self  # the idioms read `.engine` (and `.autocommit_engine`)

    def release(self, handle: Any) -> None:
        pass

    def in_use(self) -> int:
        return sum(e.pool.checkedout() for e in self.engines if isinstance(e.pool, QueuePool))

    def pooled(self) -> int:
        """Connections the pools hold now, checked in or out."""
        return sum(
            e.pool.checkedin() + e.pool.checkedout()
            for e in self.engines
            if isinstance(e.pool, QueuePool)
        )

    def counts(self, restart_peak: bool = False) -> Counts:
        if self.observer is None:
            return Counts(opened=self.pooled())  # the pools' own state, read untimed
        return self.observer.snapshot(restart_peak_at=self.in_use() if restart_peak else None)

    def hooks(self) -> list[str]:
        """Anything beyond what `create_engine` itself builds: another pool class, or more
        listeners on the pool's events than a reference Engine built the same way has."""
        from backends.sqlalchemy_orm import policy_engine

        found = []
        for engine in self.engines:
            pool = engine.pool
            if type(pool) is not QueuePool:
                found.append(f"pool class {type(pool).__name__}")
            autocommit = engine is not self.engine
            reference = policy_engine(self.target, self.target.dbapi_connect, autocommit).pool
            own = pool_listeners(reference)
            for name, count in pool_listeners(pool).items():
                if count > own[name]:
                    found.append(f"{count - own[name]} '{name}' listener(s)")
            reference.dispose()
        return found

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()

    def figures(self, before: Counts, after: Counts) -> Connections:
        figures = super().figures(before, after)
        if self.observer is None:  # the pools' own state: connections held at start and end
            return replace(figures, opened_during=0, closed_during=0)
        return replace(
            figures,
            observed_pass=True,
            checkouts=after.checkouts - before.checkouts,
            waits=after.waits - before.waits,
            wait_s=after.wait_s - before.wait_s,
            checkout_s=after.checkout_s - before.checkout_s,
            longest_wait_s=after.longest_wait_s,
            peak_in_use=after.peak_in_use,
        )


class PerThreadDjango(ConnectionSource):
    """Django: each thread's own persistent connection (CONN_MAX_AGE=None), opened before the
    clock starts and closed with `connection.close()` at the thread's end. A reconnect while
    the clock ran shows as a different DB-API connection at the end (nothing is hooked)."""

    def __init__(self, target: Target, threads: int, observed: bool = False) -> None:
        super().__init__(target, threads, observed)
        self.policy = "a persistent connection per thread (CONN_MAX_AGE=None)"
        self.limit = threads
        self._lock = threading.Lock()
        self._opened = 0
        self._reconnected = 0

    def open(self) -> Any:
        from backends.django_orm import DjangoOrm

        handle = DjangoOrm(self.target)  # connects this thread's connection
        with self._lock:
            self._opened += 1
        return handle

    def release(self, handle: Any) -> None:
        if handle.connection.connection is not handle._bare:  # on this thread, untimed
            with self._lock:
                self._reconnected += 1
        handle.close()  # connection.close(), on this thread

    def counts(self, restart_peak: bool = False) -> Counts:
        with self._lock:
            return Counts(opened=self._opened)

    def figures(self, before: Counts, after: Counts) -> Connections:
        return replace(super().figures(before, after), opened_during=self._reconnected)


class PerThreadDbApi(ConnectionSource):
    """The floor: one DB-API connection per thread, in autocommit."""

    def __init__(self, target: Target, threads: int, observed: bool = False) -> None:
        super().__init__(target, threads, observed)
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


def source_for(unit: Unit, target: Target, threads: int, observed: bool = False) -> Any:
    """The connection source of a unit (`observed`: the untimed pass that counts the pool)."""
    if unit.backend == "sqlalchemy":
        return SharedPools(target, threads, unit.idiom, observed)
    if unit.backend == "django":
        return PerThreadDjango(target, threads, observed)
    if unit.backend == "dbapi" or unit.idiom == FLOOR:
        return PerThreadDbApi(target, threads, observed)
    raise ValueError(f"no connection source for backend {unit.backend!r}")
