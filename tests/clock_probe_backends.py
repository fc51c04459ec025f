"""Test-only backends that stand in for the real ones by name and write down, in the order they
happen, the clock reads of harness.measuring.rounds.timed_call and every run of an operation:
to prove that the CPU clock is read outside the wall-clock pair and that tracemalloc never traces a
timed run. With ORMBENCH_CLOCK_LOG set, importing this module (in the worker, as a `--backends`
plug-in) wraps time.perf_counter, time.thread_time and time.process_time so that a read made
by timed_call itself appends "W" (wall) or "C" (CPU) to that file; each run of an operation
appends a JSON record: whether timed_call ran it, and whether tracemalloc was tracing."""

from __future__ import annotations

import json
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from memory_probe_backends import called_from_timed_call

from backends.dbapi import DbApi
from backends.django_orm import DjangoOrm
from backends.sqlalchemy_orm import SqlAlchemyOrm

CLOCK_LOG = "ORMBENCH_CLOCK_LOG"


def _note(entry: str) -> None:
    with open(os.environ[CLOCK_LOG], "a", encoding="utf-8") as log:
        log.write(entry + "\n")


def _recorded(kind: str, clock: Callable[[], float]) -> Callable[[], float]:
    def read() -> float:
        caller = sys._getframe(1)
        if (
            caller.f_code.co_name == "timed_call"
            and caller.f_globals.get("__name__") == "harness.measuring.rounds"
        ):
            _note(kind)
        return clock()

    return read


if CLOCK_LOG in os.environ:
    time.perf_counter = _recorded("W", time.perf_counter)
    time.thread_time = _recorded("C", time.thread_time)
    time.process_time = _recorded("C", time.process_time)


class _Probe:
    name: str

    def runner(self, scenario: Any, idiom: str) -> Callable[[Any], Any]:
        operation = super().runner(scenario, idiom)  # type: ignore[misc]

        def noted(argument: Any) -> Any:
            record = {
                "backend": self.name,
                "timed": called_from_timed_call(),
                "tracing": tracemalloc.is_tracing(),
            }
            _note(json.dumps(record))
            return operation(argument)

        return noted


class ClockSqlAlchemy(_Probe, SqlAlchemyOrm):
    pass


class ClockDjango(_Probe, DjangoOrm):
    pass


class ClockDbApi(_Probe, DbApi):
    pass
