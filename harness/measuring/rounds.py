"""One timed round: the same handling for every backend around the operation (a fresh round, a full
collection, no collector inside the timed region, nothing between the two clock reads but the
operation), and SQLite's file settled before the first round of a scenario that writes."""

from __future__ import annotations

import gc
import sys
import time
from typing import Any

from backends import Backend
from harness.measuring.instructions import InstructionCounter
from harness.measuring.plan import FLOOR, Unit
from harness.targets.database import HarnessDatabase
from harness.targets.urls import Target
from scenarios import Scenario
from scenarios.idioms import DOCUMENTED


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
    are. The operation is called through `sys.call_tracing` (which, with no tracer set, only
    calls it): callgrind collects inside that call alone (harness.measuring.instructions)."""
    call = backend.runner(scenario, idiom)
    open_round(backend)
    try:
        counter.start()
        result = sys.call_tracing(call, (argument,))
        count = counter.stop()
    finally:
        close_round(backend)
    return count, result


def timed_run(
    backend: Backend, scenario: Scenario, argument: Any, idiom: str = DOCUMENTED
) -> float:
    return timed_call(backend, scenario, argument, idiom)[0]


def settle_sqlite_file(
    target: Target,
    scenario: Scenario,
    db: HarnessDatabase,
    backends: dict[str, Backend],
    units: list[Unit],
) -> None:
    """On SQLite, before the first round of a scenario that writes: one untimed, unchecked run
    of its first implementation (the floor where there is one), whose rows the next round's
    fresh state frees again. SQLite counts the pages a connection reads (harness.wire.counters),
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
