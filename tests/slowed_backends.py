"""A test-only backend that is deliberately slower, to prove `ormbench compare` flags it.
It does exactly SQLAlchemy's work, then waits half as long again, so every operation takes
1.5x its real time; it stands in for SQLAlchemy by name (`--backends slowed_backends:...`)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from backends.dbapi import DbApi
from backends.sqlalchemy_orm import SqlAlchemyOrm
from scenarios import Scenario

# Extra time as a fraction of the operation's own (ORMBENCH_TEST_SLOWDOWN: the gate benchmark
# tries several).
SLOWDOWN = float(os.environ.get("ORMBENCH_TEST_SLOWDOWN", "0.5"))


def slowed(operation: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run(argument: Any) -> Any:
        start = time.perf_counter()
        result = operation(argument)
        time.sleep((time.perf_counter() - start) * SLOWDOWN)
        return result

    return run


class SlowedSqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy ORM, each operation followed by a sleep of half its duration."""

    def runner(self, scenario: Scenario, idiom: str) -> Callable[[Any], Any]:
        return slowed(super().runner(scenario, idiom))


class SlowedDbApi(DbApi):
    """The floor, each operation followed by a sleep (SLOWDOWN times its duration): the ORMs'
    equal-work cells then run faster than the floor doing the same work."""

    def runner(self, scenario: Scenario, idiom: str) -> Callable[[Any], Any]:
        return slowed(super().runner(scenario, idiom))
