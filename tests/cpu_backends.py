"""A test-only backend that costs a known amount more CPU than SQLAlchemy, to prove that
`ormbench compare` on instruction counts (`run --measure instructions`) flags it. It does exactly
SQLAlchemy's work, then a loop of pure Python work: ORMBENCH_TEST_EXTRA_INSTRUCTIONS gives, per
scenario, the instructions to add per operation ("get=16000,filter=9000"; a plain number applies
to every scenario). It stands in for SQLAlchemy by name (`--backends cpu_backends:...`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from itertools import repeat
from typing import Any

from backends.sqlalchemy_orm import SqlAlchemyOrm
from scenarios import Scenario

# Instructions of one iteration of `burn`'s loop on CPython 3.11 in a counting pass, counted
# under callgrind (20,000 iterations: 1.48M; 4,000: 0.30M). Another Python may differ; the
# tests only need "more". The loop takes nothing from `range`, whose iterations cost 104
# instructions each below 257 and 270 above (a new int each, from the C library's allocator
# in a counting pass), so the added cost followed the scenario's size, not the request.
INSTRUCTIONS_PER_ITERATION = 74


def extra_per_operation(scenario: str) -> float:
    text = os.environ.get("ORMBENCH_TEST_EXTRA_INSTRUCTIONS", "0")
    if "=" not in text:
        return float(text)
    pairs = dict(part.split("=", 1) for part in text.split(",") if part)
    return float(pairs.get(scenario, 0))


def burn(iterations: int) -> None:
    for _ in repeat(None, iterations):
        pass


class CostlierSqlAlchemy(SqlAlchemyOrm):
    """SQLAlchemy ORM, each operation followed by a fixed loop of extra CPU work."""

    def runner(self, scenario: Scenario, idiom: str) -> Callable[[Any], Any]:
        operation = super().runner(scenario, idiom)
        extra = extra_per_operation(scenario.name) * scenario.operations()
        iterations = round(extra / INSTRUCTIONS_PER_ITERATION)

        def costlier(argument: Any) -> Any:
            result = operation(argument)
            burn(iterations)
            return result

        return costlier
