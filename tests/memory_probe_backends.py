"""Test-only backends that stand in for the real ones by name and note, for every run of an
operation, whether tracemalloc was tracing and whether the run was a timed one (called from
harness.measuring.rounds.timed_call): to prove that the memory pass never shares a round with
a clock read. Each run appends one JSON line to the file named by ORMBENCH_PROBE_LOG."""

from __future__ import annotations

import json
import os
import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

from backends.dbapi import DbApi
from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import SqlAlchemyOrm

PROBE_LOG = "ORMBENCH_PROBE_LOG"


def called_from_timed_call() -> bool:
    """Is harness.measuring.rounds.timed_call on the call stack?"""
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if (
            code.co_name == "timed_call"
            and frame.f_globals.get("__name__") == "harness.measuring.rounds"
        ):
            return True
        frame = frame.f_back
    return False


class _Probe:
    name: str
    tracer: Any

    def runner(self, scenario: Any, idiom: str) -> Callable[[Any], Any]:
        operation = super().runner(scenario, idiom)  # type: ignore[misc]

        def noted(argument: Any) -> Any:
            record = {
                "backend": self.name,
                "idiom": idiom,
                "tracing": tracemalloc.is_tracing(),
                "timed": called_from_timed_call(),
                "traced": self.tracer is not None,
            }
            with open(os.environ[PROBE_LOG], "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
            return operation(argument)

        return noted


class ProbeSqlAlchemy(_Probe, SqlAlchemyOrm):
    pass


class ProbeDjango(_Probe, DjangoOrm):
    pass


class ProbeDbApi(_Probe, DbApi):
    pass
