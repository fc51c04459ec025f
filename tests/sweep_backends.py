"""Test-only backends whose cost is known, to check a size sweep's growth exponent: each does
a real backend's work, then waits until the operation has taken UNIT_S x (rows / 10) ** power
seconds — power 1 (linear) standing in for SQLAlchemy, 2 (quadratic) for Django — times a
fixed jitter that follows the same pattern of rounds at every size. The jitter gives the
rounds a spread (so the bootstrap interval has a width) without moving the slope: the time
at every size is the known power of the size. UNIT_S is large enough to dominate the real
work of the filter scenario at the sweep's smallest size."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import SqlAlchemyOrm
from scenarios import Scenario

UNIT_S = 0.02  # seconds at 10 rows
JITTER = (1.0, 1.06, 0.94, 1.03, 0.97)  # per round, the same pattern at every size


class _KnownCost:
    power = 1

    def _padded(self, operation: Callable[[Any], Any], scenario: Scenario) -> Callable:
        calls = self.__dict__.setdefault("_calls", {})
        key = (scenario.name, scenario.rows)
        call = calls[key] = calls.get(key, -1) + 1
        cost = UNIT_S * (scenario.rows / 10) ** self.power * JITTER[call % len(JITTER)]

        def padded(argument: Any) -> Any:
            end = time.perf_counter() + cost
            result = operation(argument)
            if (left := end - time.perf_counter()) > 0.002:
                time.sleep(left - 0.002)
            while time.perf_counter() < end:  # the last 2 ms spun: no oversleeping
                pass
            return result

        return padded


class LinearSqlAlchemy(_KnownCost, SqlAlchemyOrm):
    """SQLAlchemy ORM, each operation padded to a time proportional to the rows."""

    power = 1

    def runner(self, scenario: Scenario, idiom: str) -> Callable[[Any], Any]:
        return self._padded(super().runner(scenario, idiom), scenario)


class QuadraticDjango(_KnownCost, DjangoOrm):
    """Django ORM, each operation padded to a time proportional to the rows squared."""

    power = 2

    def runner(self, scenario: Scenario, idiom: str) -> Callable[[Any], Any]:
        return self._padded(super().runner(scenario, idiom), scenario)
