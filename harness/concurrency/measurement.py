"""One measurement: k threads of one unit on fresh rows, started together, then verified.

Each thread draws its operations, keys and increments from its own seeded RNG, so thread i
sends the same sequence on every backend. A few untimed operations per thread come first;
then a barrier releases all threads at once and the clock runs until the last thread's last
operation. Inside the timed region a thread runs the idiom and reads the clock around it,
nothing else: the connection source's counts are read in the barriers' actions, before the
clock starts and after it stops, and a timed measurement refuses to start when anything of
the harness is attached to the connections (ConnectionSource.hooks).
"""

from __future__ import annotations

import gc
import math
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from harness.concurrency.plan import (
    BARRIER_TIMEOUT_S,
    INCREMENTS,
    STOPPED,
    ConcurrencyPlan,
    Unit,
    lock_conflict,
)
from harness.concurrency.sources import ConnectionSource, Counts, source_for
from harness.concurrency.verify import ThreadTally, verify
from harness.targets.database import HarnessDatabase
from harness.targets.errors import describe_error, driver_message
from harness.targets.urls import Target
from reports.concurrency import CellVerification, Connections, Repetition
from scenarios.concurrency import Workload, key_of, workload
from scenarios.data import make_rows


class Measurement:
    """k threads of one unit, started together, each with its own RNG and connection handle;
    the tallies and the connection source's counts at the start and the end."""

    def __init__(
        self,
        target: Target,
        unit: Unit,
        threads: int,
        plan: ConcurrencyPlan,
        ids: list[int],
        stop: threading.Event,
        observed: bool = False,
    ) -> None:
        self.target = target
        self.unit = unit
        self.threads = threads
        self.plan = plan
        self.ids = ids
        self.stop = stop
        self.workload: Workload = workload(unit.backend, unit.code_idiom)
        self.source: ConnectionSource = source_for(unit, target, threads, observed)
        self.observed = observed
        self.started = threading.Barrier(threads, self._start_clock, BARRIER_TIMEOUT_S)
        self.finished = threading.Barrier(threads, self._stop_clock, BARRIER_TIMEOUT_S)
        self.start = 0.0
        self.deadline = math.inf
        self.before = Counts()
        self.after = Counts()
        self.hooks_at_start: list[str] = []

    def _start_clock(self) -> None:
        # Runs once, on the last thread to arrive, while the others wait: untimed.
        self.hooks_at_start = self.source.hooks()
        if self.hooks_at_start and not self.observed:
            raise RuntimeError(f"harness hooks on a timed pool: {self.hooks_at_start}")
        gc.collect()
        self.before = self.source.counts(restart_peak=True)
        self.start = time.perf_counter()
        if self.plan.duration_s is not None:
            self.deadline = self.start + self.plan.duration_s

    def _stop_clock(self) -> None:
        self.after = self.source.counts()

    def run(self) -> list[ThreadTally]:
        try:
            with ThreadPoolExecutor(self.threads, f"ormbench-{self.unit.backend}") as executor:
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
            self._timed(handle, rng, tally)
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

    def _timed(self, handle: Any, rng: random.Random, tally: ThreadTally) -> None:
        if self.plan.operations is not None:
            for _ in range(self.plan.operations):
                if self.stop.is_set():
                    break
                self._operation(handle, rng, tally, timed=True)
        else:
            while time.perf_counter() < self.deadline and not self.stop.is_set():
                self._operation(handle, rng, tally, timed=True)

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


@dataclass
class Measured:
    """One repetition and what the cell pools across repetitions."""

    repetition: Repetition
    read_s: list[float] = field(default_factory=list)
    write_s: list[float] = field(default_factory=list)
    connections: Connections | None = None
    hooks_at_start: list[str] = field(default_factory=list)


def measure(
    target: Target,
    unit: Unit,
    threads: int,
    plan: ConcurrencyPlan,
    db: HarnessDatabase,
    stop: threading.Event,
    index: int = 0,
    observed: bool = False,
) -> Measured:
    """Fresh rows (untimed), k threads on `unit`, then the verification."""
    rows = make_rows(plan.rows, plan.seed)
    db.reset()
    ids = db.load(rows)
    initial = {pk: row["quantity"] for pk, row in zip(ids, rows, strict=True)}
    try:
        measurement = Measurement(target, unit, threads, plan, ids, stop, observed)
    except Exception as exc:  # e.g. the Engine cannot be built: the repetition says why
        return Measured(error_repetition(index, describe_error(exc, target)))
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
    repetition = Repetition(
        index=index,
        wall_s=wall,
        operations=operations,
        per_thread=[len(t.read_s) + len(t.write_s) for t in tallies],
        reads=len(read_s),
        writes=len(write_s),
        ops_per_s=operations / wall if wall else None,
        errors=dict(errors.most_common()),
        lock_errors=sum(t.lock_errors for t in tallies),
        increments=sum(sum(t.increments.values()) for t in tallies),
        verification=verification,
    )
    connections = None
    if wall is not None:
        connections = measurement.source.figures(measurement.before, measurement.after)
    return Measured(repetition, read_s, write_s, connections, measurement.hooks_at_start)


def error_repetition(index: int, why: str) -> Repetition:
    return Repetition(
        index=index,
        wall_s=None,
        operations=0,
        per_thread=[],
        reads=0,
        writes=0,
        ops_per_s=None,
        errors={},
        lock_errors=0,
        increments=0,
        verification=CellVerification("error", why),
    )
