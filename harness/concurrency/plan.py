"""What `ormbench concurrency` measures: the plan, the units it times (a backend's idiom), and
the small helpers every part shares (percentiles, lock conflicts)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from backends import FLOOR as FLOOR_BACKEND
from backends import ORM_PAIR
from reports.concurrency import Latency
from scenarios.concurrency import has_own
from scenarios.idioms import DOCUMENTED, EQUAL

DEFAULT_THREADS = (1, 4, 16)
DEFAULT_DURATION_S = 0.5
# With 3 thread counts and 2 idioms a database makes 6 verdicts at once; Holm's correction
# then needs 8 repetitions before any claim can hold (harness.judging.verdicts.rounds_for_claims).
DEFAULT_REPETITIONS = 8
DEFAULT_ROWS = 1000
DEFAULT_WRITE_PERCENT = 20
DEFAULT_MARGIN = 5.0  # percent, as `ormbench run`'s
WARMUP_OPERATIONS = 25  # per thread, untimed, before the clock starts
MAX_THREADS = 256
MAX_REPETITIONS = 1000
INCREMENTS = (1, 9)  # a write adds a random increment in this range
# How long a thread waits at a barrier for the others (connecting, warming up, finishing).
BARRIER_TIMEOUT_S = 300.0
STOPPED = "another thread could not run, or the run was interrupted"
FLOOR = "floor"  # the idiom of the raw DB-API floor's cells
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


@dataclass(frozen=True)
class ConcurrencyPlan:
    threads: tuple[int, ...] = DEFAULT_THREADS
    backends: tuple[str, ...] = ("sqlalchemy", "django", "dbapi")
    duration_s: float | None = DEFAULT_DURATION_S  # per repetition; None: `operations`
    operations: int | None = None  # per thread and repetition, instead of a duration
    rows: int = DEFAULT_ROWS
    write_percent: float = DEFAULT_WRITE_PERCENT
    seed: int = 42
    warmup: int = WARMUP_OPERATIONS
    repetitions: int = DEFAULT_REPETITIONS
    margin: float = DEFAULT_MARGIN


@dataclass(frozen=True)
class Unit:
    """One timed implementation: a backend's idiom with code (or connections) of its own."""

    backend: str
    idiom: str  # DOCUMENTED, EQUAL or FLOOR

    @property
    def code_idiom(self) -> str:
        return DOCUMENTED if self.idiom == FLOOR else self.idiom


def plan_units(backends: tuple[str, ...]) -> list[Unit]:
    """Every ORM idiom that runs code or connections of its own, and the floor once. An ORM
    whose equal work is its documented code (Django here) is timed once and stands for both."""
    units = []
    for backend in backends:
        if backend == FLOOR_BACKEND:
            units.append(Unit(backend, FLOOR))
            continue
        units.append(Unit(backend, DOCUMENTED))
        if backend in ORM_PAIR and has_own(backend, EQUAL):
            units.append(Unit(backend, EQUAL))
    return units


def unit_for(units: list[Unit], backend: str, idiom: str) -> Unit | None:
    """The unit that does `backend`'s work in `idiom` (its documented one when the same)."""
    for wanted in (idiom, DOCUMENTED):
        if Unit(backend, wanted) in units:
            return Unit(backend, wanted)
    return None


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
