"""Test-only backends that break in the middle of a run, standing in for real ones by name
(`--backends faulty_backends:FailingDjango`), to prove clean-up after a failure."""

from __future__ import annotations

import os
import sqlite3
from typing import Any

from backends.base import replaces
from backends.django_orm import DjangoOrm


class FailingDjango(DjangoOrm):
    """Django whose filter raises: the run fails half-way, after create has written rows."""

    @replaces("filter")
    def filter(self, prefix: str) -> list[Any]:
        raise RuntimeError("filter broke on purpose (test)")


class CrashingDjango(DjangoOrm):
    """Django whose filter ends the worker process at once, as a crash or `kill -9` would:
    nothing in the worker gets to clean up."""

    @replaces("filter")
    def filter(self, prefix: str) -> list[Any]:
        os._exit(70)


_held: list[sqlite3.Connection] = []  # kept open until the worker process ends


class LockHoldingDjango(DjangoOrm):
    """Django that, once closed, leaves a connection of its worker with a write transaction
    open on the SQLite file, as a connection an interrupt caught mid-transaction does: the
    worker's own drop of the harness tables waits on that lock and fails."""

    def close(self) -> None:
        super().close()
        held = sqlite3.connect(self.target.database, isolation_level=None)
        held.execute("BEGIN IMMEDIATE")  # the write lock, as after an uncommitted INSERT
        _held.append(held)
