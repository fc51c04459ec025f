"""What a run measures and in which order: the plan, the units it times (a backend's idiom with
code of its own, the floor once) and the interleaved order of the rounds (a Williams design)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from backends import Backend
from harness.judging.verdicts import DEFAULT_MARGIN
from scenarios import REGISTRY, Scenario, load_user_scenario
from scenarios.idioms import DOCUMENTED, EQUAL, IDIOMS

FLOOR = "floor"  # the idiom of the raw DB-API floor's cells

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
    # What is measured (harness.measuring.instructions.MEASURES): time always; "instructions"
    # adds a counting pass per database under callgrind, its counts put beside the times.
    measure: tuple[str, ...] = ("time",)
    # This worker is that counting pass: each operation is counted, not timed.
    counting: bool = False

    def row_sizes(self) -> tuple[int, ...]:
        return self.sizes or (self.rows,)

    def scenario_classes(self) -> list[type[Scenario]]:
        for spec in self.user_scenarios:
            load_user_scenario(spec)
        return [REGISTRY[name] for name in self.scenarios]


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
